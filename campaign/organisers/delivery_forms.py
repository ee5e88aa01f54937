"""Forms of the exports, delivery and paper-import pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from campaign import countries, deliveries, embassies, languages
from campaign.deliveries import parse_cutoff
from campaign.forms import TranslatedForm, strip
from campaign.models import Embassy, utcnow
from campaign.organisers.forms import SENSIBLE_DATES

EVERY_EMBASSY = "*"

# What a recipient can be handed (deliveries.FORMATS), named as the record form offers it
# and the delivery history shows it.
EXPORT_FORMATS = {
    "pdf": _l("PDF pack"),
    "csv": "CSV",
    "xlsx": "XLSX",
    "paper": _l("Printed pack"),
}


def export_format_label(code: str) -> str:
    """How a delivery's format is named on the pages, in the page's language."""
    return str(EXPORT_FORMATS.get(code, code))


def embassy_label(embassy: Embassy) -> str:
    """The embassy's name in the page's language, as plain text (an option, a message)."""
    return embassies.name_in(embassy, languages.current())


def embassy_order(locale: str) -> Callable[[Embassy], tuple]:
    """A sort key that puts embassies in the order of their host countries' names in ``locale``."""
    key = countries.sort_key(locale)
    return lambda embassy: (key(countries.name(embassy.country, locale)), key(embassy.name))


def _no_address(form: FlaskForm, field: StringField) -> None:
    if field.data and "@" in field.data:
        raise ValidationError(_l("Please give the body's name, not an email address."))


def language_choices() -> list[SelectChoice]:
    """The languages a pack can be written in, each named in itself."""
    names = {"en": "English", "ru": "Русский", "kk": "Қазақша"}
    return [SelectChoice(code, names.get(code, code)) for code in current_app.config["LANGUAGES"]]


class _Recipient:
    """Fields that name an embassy or a body; filled with the directory by the view."""

    embassy = SelectField(_l("Embassy"), validators=[Optional()], validate_choice=True)
    body = StringField(
        _l("Or a named body (e.g. ITUC)"),
        filters=[strip],
        validators=[Optional(), Length(max=200), _no_address],
    )

    def set_embassies(self, embassies: list[Embassy], *, every: bool = False) -> None:
        """Offer the directory's embassies (and, for packs, all of them at once), named and
        sorted by host country in the page's language."""
        choices = [SelectChoice("", _l("No embassy"))]
        if every:
            choices.append(
                SelectChoice(EVERY_EMBASSY, _l("Every embassy (a zip with one pack each)"))
            )
        locale = languages.current()
        for embassy in sorted(embassies, key=embassy_order(locale)):
            label = embassy_label(embassy)
            # A name left in English on another language's page is marked so (screen readers).
            english = locale != "en" and label == embassy.name
            choices.append(SelectChoice(embassy.key, label, {"lang": "en"} if english else {}))
        self.embassy.choices = choices

    def check_recipient(self, required: bool) -> bool:
        """Refuse an embassy and a body together, and neither when one is needed."""
        if self.embassy.data and self.body.data:
            self.body.errors.append(_l("Choose an embassy or a body, not both."))
            return False
        if required and not (self.embassy.data or self.body.data):
            self.embassy.errors.append(_l("Choose an embassy or name a body."))
            return False
        return True


class ExportForm(_Recipient, TranslatedForm):
    """A list of signatures as CSV or XLSX, with its filters."""

    format = RadioField(
        _l("Format"),
        choices=[SelectChoice("csv", "CSV"), SelectChoice("xlsx", "XLSX (Excel)")],
        default="csv",
        validators=[DataRequired()],
    )
    purpose = RadioField(
        _l("Kind of list"),
        choices=[
            SelectChoice("organisers", _l("Our own list: full names, every column")),
            SelectChoice(
                "delivery", _l("To hand over: names as the signers allowed, no email addresses")
            ),
        ],
        default="organisers",
        validators=[DataRequired()],
    )
    country = SelectField(_l("Country"), validators=[Optional()], validate_choice=True)
    since = DateField(_l("Confirmed from (UTC)"), validators=[Optional(), SENSIBLE_DATES])
    until = DateField(
        _l("Confirmed until (UTC, inclusive)"), validators=[Optional(), SENSIBLE_DATES]
    )
    new_only = BooleanField(_l("Only signatures confirmed since the last delivery to it"))
    with_emails = BooleanField(
        _l("Include email addresses (our own list only; recorded in the audit log)")
    )
    excel = BooleanField(_l("CSV for Excel (byte-order mark, semicolons, Windows line ends)"))

    def set_countries(self, locale: str) -> None:
        """Offer every country, named in ``locale``."""
        self.country.choices = [
            SelectChoice("", _l("Every country")),
            *(SelectChoice(code, name) for code, name in countries.choices(locale)),
        ]

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the combinations that make no sense."""
        valid = super().validate(extra_validators)
        valid = self.check_recipient(required=bool(self.new_only.data)) and valid
        if self.with_emails.data and self.purpose.data == "delivery":
            self.with_emails.errors.append(_l("A list to hand over never holds email addresses."))
            valid = False
        elif self.with_emails.data and (self.embassy.data or self.body.data):
            self.with_emails.errors.append(
                _l("A list for an embassy or a body is handed over: it never holds addresses.")
            )
            valid = False
        if self.since.data and self.until.data and self.since.data > self.until.data:
            self.until.errors.append(_l("The end comes before the start."))
            valid = False
        return valid


_CUTOFF_LABEL = _l("Signatures confirmed up to (UTC, as printed in the manifest)")


class _Cutoff:
    """A cutoff field: signatures confirmed up to this moment (UTC), not in the future."""

    cutoff = StringField(
        _CUTOFF_LABEL,
        filters=[strip],
        validators=[Optional(), Length(max=40)],
    )

    def validate_cutoff(self, field: StringField) -> None:
        """Refuse what is not a moment, or one still to come."""
        if not field.data:
            return
        moment = parse_cutoff(field.data)
        if moment is None:
            raise ValidationError(_l("Write it as YYYY-MM-DD HH:MM:SS."))
        if moment > deliveries.cutoff_now():
            raise ValidationError(_l("The cutoff cannot be in the future."))


class PackForm(_Recipient, _Cutoff, TranslatedForm):
    """A PDF pack for one embassy or body, or a zip with one pack per embassy."""

    language = SelectField(_l("Language of the letter"), choices=language_choices)
    new_only = BooleanField(_l("Only signatures confirmed since the last delivery to it"))

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the recipient."""
        valid = super().validate(extra_validators)
        return self.check_recipient(required=True) and valid


class DeliveryForm(_Recipient, _Cutoff, TranslatedForm):
    """What was handed to whom, when and how; the rows are read again when recorded."""

    # Copied from the manifest, never filled in: a cutoff later than the pack's would record
    # signatures the pack never held as delivered, and "new since the last delivery" would
    # then skip them for good.
    cutoff = StringField(
        _CUTOFF_LABEL,
        filters=[strip],
        validators=[
            DataRequired(_l("Copy the cutoff from the manifest of the pack handed over.")),
            Length(max=40),
        ],
    )
    delivered_on = DateField(
        _l("Delivered on"),
        validators=[DataRequired(_l("Please give the date.")), SENSIBLE_DATES],
    )
    method = StringField(
        _l("How (by hand, by post, by email…)"),
        filters=[strip],
        validators=[Optional(), Length(max=64)],
    )
    export_format = SelectField(
        _l("What was handed over"),
        choices=[SelectChoice(code, label) for code, label in EXPORT_FORMATS.items()],
        default="pdf",
    )
    new_only = BooleanField(
        _l("The pack held only signatures confirmed since the last delivery to it")
    )
    rows_hash = StringField(
        _l("SHA-256 of the rows, as printed in the manifest (optional, checked)"),
        filters=[lambda v: "".join(v.split()).lower() if isinstance(v, str) else v],
        validators=[
            Optional(),
            Regexp(r"^[0-9a-f]{64}$", message=_l("A SHA-256 hash is 64 hexadecimal digits.")),
        ],
    )
    notes = TextAreaField(_l("Notes"), filters=[strip], validators=[Optional(), Length(max=2000)])

    def validate_delivered_on(self, field: DateField) -> None:
        """A delivery is recorded once it happened."""
        if field.data and field.data > (utcnow() + timedelta(days=1)).date():
            raise ValidationError(_l("The date is in the future."))

    def validate(self, extra_validators=None) -> bool:
        """Field checks, then the recipient."""
        valid = super().validate(extra_validators)
        return self.check_recipient(required=True) and valid


class PaperUploadForm(TranslatedForm):
    """A CSV of paper signatures to check before anything is stored."""

    file = FileField(
        _l("CSV file"), validators=[FileRequired(_l("Please choose the file to check."))]
    )


class PaperImportForm(TranslatedForm):
    """Confirms the import of the file that was checked; carries it, sealed."""

    sealed = HiddenField(validators=[DataRequired()])
