"""What every form shares: WTForms' own messages in the reader's language, and filters."""

from __future__ import annotations

from functools import cache
from typing import Any

from babel import support
from flask import request
from flask_babel import get_locale
from flask_wtf import FlaskForm
from flask_wtf.form import _Auto  # the marker of a form that reads the request itself
from werkzeug.datastructures import CombinedMultiDict
from wtforms.fields import FileField
from wtforms.i18n import messages_path


def strip(value: str | None) -> str | None:
    """A field filter: the text without surrounding spaces (other values as they are)."""
    return value.strip() if isinstance(value, str) else value


@cache
def _wtforms_catalog(locale: str) -> support.Translations:
    # Flask-WTF reads WTForms' catalog from disk again for every request; once per language
    # and process is enough (it is part of the installed package and never changes).
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _Catalog:
    """WTForms' translations for the language of the current request."""

    def gettext(self, string: str) -> str:
        """``string`` in the current language."""
        return _wtforms_catalog(str(get_locale())).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The form of ``singular`` or ``plural`` for ``n``, in the current language."""
        return _wtforms_catalog(str(get_locale())).ungettext(singular, plural, n)


_CATALOG = _Catalog()


class TranslatedForm(FlaskForm):
    """A Flask-WTF form whose built-in messages follow the page's language."""

    class Meta:
        """Where WTForms finds its translations."""

        def get_translations(self, form: FlaskForm) -> _Catalog:
            """WTForms' catalog for the current language, loaded once per language."""
            return _CATALOG

        def wrap_formdata(self, form: FlaskForm, formdata: Any) -> Any:
            """The submitted fields; files only for a form that has a file field.

            Flask-WTF mixes the request's files in with its text fields, so a file sent
            under a text field's name would reach that field's filters and validators,
            which expect text, and fail there. A form without a file field sees the text
            fields alone, and such a file is simply not there.

            A JSON body is no form's: Flask-WTF would read it as one, with values that need
            not be text (numbers, lists, objects). Such a request sends no fields at all.
            """
            if formdata is _Auto and request.is_json:
                return None
            data = super().wrap_formdata(form, formdata)  # type: ignore[misc]
            if isinstance(data, CombinedMultiDict) and not any(
                isinstance(field, FileField) for field in form
            ):
                return request.form
            return data
