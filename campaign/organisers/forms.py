"""Forms of the organisers' pages."""

from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from campaign.forms import TranslatedForm, strip
from campaign.moderation import InvalidReason, RestoreReason


class SensibleDate:
    """Refuses dates no organiser means; beyond them date arithmetic would overflow."""

    first, last = date(2000, 1, 1), date(2999, 12, 31)

    def __call__(self, form: FlaskForm, field: DateField) -> None:
        value = field.data
        if value is not None and not self.first <= _as_date(value) <= self.last:
            raise ValidationError(
                _l(
                    "Please give a date between %(first)s and %(last)s.",
                    first=self.first.isoformat(),
                    last=self.last.isoformat(),
                )
            )


def _as_date(value: date) -> date:
    return value.date() if isinstance(value, datetime) else value


SENSIBLE_DATES = SensibleDate()
LAST_PAGE = 1_000_000


def page_number(field: IntegerField) -> int:
    """The listing page asked for; the first when missing or out of range."""
    value = field.data
    return value if isinstance(value, int) and 1 <= value <= LAST_PAGE else 1


class LoginForm(TranslatedForm):
    """Address and password, the first step of signing in."""

    email = StringField(
        _l("Email address"),
        filters=[strip],
        validators=[DataRequired(_l("Please enter your email address.")), Length(max=320)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Please enter your password.")), Length(max=1024)],
    )
    next = HiddenField()


class CodeForm(TranslatedForm):
    """The six-digit code from the authenticator app."""

    code = StringField(
        _l("Six-digit code"),
        filters=[lambda v: "".join(v.split()) if isinstance(v, str) else v],
        validators=[
            DataRequired(_l("Please enter the code from your app.")),
            Regexp(r"^\d{6}$", message=_l("The code is six digits.")),
        ],
    )
    next = HiddenField()


class ActionForm(TranslatedForm):
    """A button that changes something; carries only the CSRF token."""


def reason_choices() -> list[tuple[str, str]]:
    """The fixed reasons for invalidating, with their labels."""
    return [("", _l("Choose a reason"))] + [(r.value, r.label) for r in InvalidReason]


def restore_choices() -> list[tuple[str, str]]:
    """The fixed reasons for restoring, with their labels."""
    return [("", _l("Choose a reason"))] + [(r.value, r.label) for r in RestoreReason]


class InvalidateForm(TranslatedForm):
    """Invalidate one signature, or every signature the filter matches."""

    reason = SelectField(
        _l("Reason"),
        choices=reason_choices,
        validators=[DataRequired(_l("Please choose a reason."))],
    )


class RestoreForm(TranslatedForm):
    """Restore one invalidated signature, or every one the filter matches."""

    reason = SelectField(
        _l("Reason"),
        choices=restore_choices,
        validators=[DataRequired(_l("Please choose a reason."))],
    )


class SignatureFilterForm(TranslatedForm):
    """Which signatures to list or act on in bulk (read from the query string)."""

    class Meta:
        csrf = False

    domain = StringField(
        _l("Email domain"),
        filters=[lambda v: v.strip().lower().lstrip("@") if isinstance(v, str) else v],
        validators=[
            Optional(),
            Length(max=253),
            Regexp(
                r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$",
                message=_l("Please enter a domain such as example.org."),
            ),
        ],
    )
    address = StringField(
        _l("Address hash"),
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^[0-9a-f]{8,32}$", message=_l("Please enter an address hash.")),
        ],
    )
    since = DateTimeLocalField(
        _l("Signed from (UTC)"), validators=[Optional(), SENSIBLE_DATES], format="%Y-%m-%dT%H:%M"
    )
    until = DateTimeLocalField(
        _l("Signed before (UTC)"), validators=[Optional(), SENSIBLE_DATES], format="%Y-%m-%dT%H:%M"
    )
    status = SelectField(_l("Status"), validators=[Optional()])
    search = StringField(
        _l("Name, email or receipt contains"),
        filters=[strip],
        validators=[Optional(), Length(max=200)],
    )
    page = IntegerField(validators=[Optional()], default=1)


class AuditFilterForm(TranslatedForm):
    """Which audit entries to show (read from the query string)."""

    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[Optional()])
    organiser = SelectField(_l("Organiser"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional(), SENSIBLE_DATES])
    until = DateField(_l("Until"), validators=[Optional(), SENSIBLE_DATES])
    page = IntegerField(validators=[Optional()], default=1)
