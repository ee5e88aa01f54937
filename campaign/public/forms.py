"""Forms of the supporters' pages."""

from __future__ import annotations

from functools import cache

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError
from wtforms.widgets import Select

from campaign import countries
from campaign.deliveries import normalise_receipt
from campaign.forms import TranslatedForm, strip
from campaign.models import Display
from campaign.signing import clean_multiline, clean_text


class Email:
    """Validates an address with email-validator and keeps its normalized form."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        address = field.data or ""
        smtputf8 = current_app.config["MAIL_SMTPUTF8"]
        try:
            result = validate_email(
                address,
                check_deliverability=current_app.config["EMAIL_CHECK_DELIVERABILITY"],
                allow_smtputf8=smtputf8,
            )
        except EmailNotValidError as error:
            if not smtputf8 and _valid_with_smtputf8(address):
                # A valid address our mail server could never write to: the signature
                # would wait for a confirmation that cannot come.
                message = _l(
                    "We cannot send email to an address with letters other than Latin "
                    "ones before the @. Please use another address."
                )
                raise ValidationError(message) from error
            raise ValidationError(_l("Please enter a valid email address.")) from error
        field.data = result.normalized


def _valid_with_smtputf8(address: str) -> bool:
    """Whether ``address`` is valid once letters other than ASCII are allowed before the @."""
    try:
        validate_email(address, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError:
        return False
    return True


class CountrySelect(Select):
    """The country list, rendered once per language for the blank form and then reused.

    Its 250 options were the most expensive part of the campaign page; a blank form's list
    is the same for every visitor of a language.
    """

    def __init__(self) -> None:
        super().__init__()
        self._blank: dict[tuple, Markup] = {}

    def __call__(self, field: SelectField, **kwargs: object) -> Markup:
        if field.data or field.errors:
            return super().__call__(field, **kwargs)
        key = (str(get_locale()), field.name, field.id, tuple(sorted(kwargs.items())))
        html = self._blank.get(key)
        if html is None:
            html = self._blank[key] = super().__call__(field, **kwargs)
        return html


class CountryField(SelectField):
    """The country select: a choice is checked against the set of codes, not the list."""

    def pre_validate(self, form: FlaskForm) -> None:
        # The list's options are the blank placeholder and every code (_country_choices);
        # walking 250 options for each submission cost more than the rest of the form.
        # No choice at all is for InputRequired and validate_country to say, once.
        if self.data and self.data not in countries.codes():
            raise ValidationError(_l("Please choose your country."))


@cache
def _country_choices(locale: str) -> tuple[SelectChoice, ...]:
    # Built once per language: the placeholder's label is lazy, so it follows the request.
    return (
        SelectChoice("", _l("Choose your country")),
        *(SelectChoice(code, name) for code, name in countries.choices(locale)),
    )


class SignForm(TranslatedForm):
    """The signature form."""

    # Text fields are cleaned as they are read (invisible characters out, Unicode
    # normalised), so the lengths checked are those of what is stored: normalising can
    # make a text up to three times longer.
    name = StringField(
        _l("Full name"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please enter your name.")),
            Length(max=120, message=_l("Please use at most %(max)d characters.")),
        ],
    )
    email = StringField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("Please use at most %(max)d characters.")),
            Email(),
        ],
    )
    country = CountryField(
        _l("Country"),
        widget=CountrySelect(),
        validators=[InputRequired(_l("Please choose your country."))],
    )
    city = StringField(
        _l("City (optional)"),
        filters=[clean_text],
        validators=[Length(max=100, message=_l("Please use at most %(max)d characters."))],
    )
    organisation = StringField(
        _l("Organisation or trade union (optional)"),
        filters=[clean_text],
        validators=[Length(max=150, message=_l("Please use at most %(max)d characters."))],
    )
    comment = TextAreaField(
        _l("Comment (optional, shown publicly after moderation)"),
        filters=[clean_multiline],
        validators=[Length(max=500, message=_l("Please use at most %(max)d characters."))],
    )
    display = RadioField(
        _l("How may your name appear on this page and in the lists handed over?"),
        choices=[
            SelectChoice(Display.HIDDEN.value, _l("Do not show my name")),
            SelectChoice(Display.INITIAL.value, _l("First name and initial")),
            SelectChoice(Display.FULL.value, _l("My full name")),
        ],
        default=Display.HIDDEN.value,
        validators=[InputRequired(_l("Please choose how your name may appear."))],
    )
    exclude_from_delivery = BooleanField(
        _l(
            "Count my signature, but leave my name out of the lists "
            "handed to Kazakhstan's embassies and to other bodies"
        )
    )
    wants_updates = BooleanField(_l("Send me campaign updates"))
    via = HiddenField()
    # Left empty by people; software that fills every field gives itself away.
    website = StringField(_l("Leave this field empty"))

    def set_countries(self, locale: str) -> None:
        """Offer every country, named in ``locale``."""
        self.country.choices = list(_country_choices(locale))

    def validate_country(self, field: SelectField) -> None:
        """Refuse the placeholder option."""
        if not field.data:
            raise ValidationError(_l("Please choose your country."))

    def validate_website(self, field: StringField) -> None:
        """The trap: left empty by people, filled by software that fills every field.

        A filled trap is refused rather than quietly thanked, with the form sent back as it
        was typed: a person's browser may have filled it (some fill whatever they can), and
        that person must not leave believing they signed. The trap comes back empty.
        """
        if field.data:
            field.data = ""
            raise ValidationError(
                _l(
                    "Your browser filled in a field that should stay empty. "
                    "Please check your details and send the form again."
                )
            )


class ResendForm(TranslatedForm):
    """Asks for the address a confirmation link should be sent to again."""

    email = StringField(
        _l("Email"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your email address.")),
            Length(max=254, message=_l("Please use at most %(max)d characters.")),
            Email(),
        ],
    )


class ConfirmForm(TranslatedForm):
    """The button that confirms a signature; carries the token in the body."""

    token = HiddenField(validators=[DataRequired()])


class LinkForm(TranslatedForm):
    """Names a share link for a group or union branch."""

    label = StringField(
        _l("Name of your group, branch or network"),
        filters=[clean_text],
        validators=[
            DataRequired(_l("Please give the link a name.")),
            Length(max=120, message=_l("Please use at most %(max)d characters.")),
        ],
    )


class ReceiptForm(TranslatedForm):
    """A receipt code to look up among the delivered packs."""

    receipt = StringField(
        _l("Receipt code"),
        filters=[strip],
        validators=[
            DataRequired(_l("Please enter your receipt code.")),
            Length(max=40, message=_l("Please use at most %(max)d characters.")),
        ],
    )

    def validate_receipt(self, field: StringField) -> None:
        """Refuse what cannot be a receipt code, before any look-up."""
        if normalise_receipt(field.data or "") is None:
            raise ValidationError(_l("A receipt code has twelve letters and digits."))
