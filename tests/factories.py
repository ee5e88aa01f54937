"""Small factories for campaigns and signatures, and helpers for forms."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from campaign import confirming, counting, signing
from campaign.models import Campaign, CampaignText, Display, Organiser, Role, Signature

_numbers = itertools.count(1)


def make_campaign(session: Session, slug: str | None = None, goal: int = 100, **kw) -> Campaign:
    """A campaign with English text and count slices."""
    campaign = Campaign(slug=slug or f"campaign-{next(_numbers)}", goal=goal, **kw)
    campaign.texts.append(
        CampaignText(
            locale="en",
            title=f"Title of {campaign.slug}",
            summary="Summary",
            demands=[{"title": "Demand", "text": "Text"}],
        )
    )
    session.add(campaign)
    session.flush()
    counting.ensure_slices(session, campaign.id)
    return campaign


def make_signature(
    session: Session,
    campaign: Campaign,
    *,
    confirmed: bool = True,
    email: str | None = None,
    **kw,
) -> Signature:
    """A signature through the signing service, confirmed unless told otherwise."""
    values = {
        "name": f"Signer {next(_numbers)}",
        "email": email or f"signer{next(_numbers)}@example.org",
        "country": "GB",
        "display": Display.FULL,
    }
    values.update(kw)
    outcome = signing.sign(session, campaign, signing.SignatureInput(**values))
    signature = session.get(Signature, outcome.signature_id)
    if confirmed:
        confirming.confirm(session, signature)
    session.flush()
    return signature


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


def sign_form(**overrides: str) -> dict[str, str]:
    """A valid submission of the signature form."""
    data = {
        "name": "Aigerim Test",
        "email": "aigerim@example.org",
        "country": "KZ",
        "city": "Aktau",
        "organisation": "",
        "comment": "",
        "display": "full",
    }
    data.update(overrides)
    return data


ORGANISER_PASSWORD = "correct horse battery staple"


def make_organiser(
    session: Session,
    email: str | None = None,
    password: str = ORGANISER_PASSWORD,
    *,
    enrolled: bool = True,
    role: Role = Role.COORDINATOR,
    **kw,
) -> Organiser:
    """An active organiser, a coordinator unless ``role`` says otherwise; with
    ``enrolled``, a TOTP secret already set up."""
    import pyotp
    from werkzeug.security import generate_password_hash

    organiser = Organiser(
        email=email or f"organiser{next(_numbers)}@example.org",
        # A cheap hash keeps tests quick; the service hashes with full-cost scrypt.
        password_hash=generate_password_hash(password, method="scrypt:1024:8:1"),
        totp_secret=pyotp.random_base32() if enrolled else None,
        totp_enrolled=enrolled,
        role=role,
        **kw,
    )
    session.add(organiser)
    session.flush()
    return organiser


def totp_code(organiser: Organiser, offset_steps: int = 0) -> str:
    """The organiser's current TOTP code (or the one ``offset_steps`` steps away)."""
    import pyotp

    totp = pyotp.TOTP(organiser.totp_secret)
    return totp.generate_otp(totp.timecode(datetime.now(UTC)) + offset_steps)


# Last TOTP step each secret signed in with, so repeated sign-ins within one 30-second
# step use the next code the server accepts (one step of drift) instead of a replay.
_steps_used: dict[str, int] = {}


def _fresh_code(organiser: Organiser) -> str:
    import pyotp

    totp = pyotp.TOTP(organiser.totp_secret)
    current = totp.timecode(datetime.now(UTC))
    step = max(current - 1, _steps_used.get(organiser.totp_secret, 0) + 1)
    assert step <= current + 1, "more than three sign-ins of one organiser in 30 seconds"
    _steps_used[organiser.totp_secret] = step
    return totp.generate_otp(step)


def _forget_cached_csrf_token() -> None:
    # Requests made while a test holds an app context (the ``session`` fixture) share its
    # ``g``, where Flask-WTF caches the CSRF token of the first session it saw; another
    # client's page would then carry a token its own session cannot check.
    from flask import g, has_app_context

    if has_app_context():
        g.pop("csrf_token", None)


def page_token(client, url: str) -> str:
    """The CSRF token of the first form on the page at ``url``, for this client's session."""
    _forget_cached_csrf_token()
    return csrf_token(client.get(url).get_data(as_text=True))


def log_in(client, organiser: Organiser, password: str = ORGANISER_PASSWORD, code: str = ""):
    """Sign ``client`` in through the real pages: password, then a TOTP code from pyotp.

    The organiser must be enrolled and committed. Returns the response to the code step
    (a 303 to the organisers' home on success).
    """
    _forget_cached_csrf_token()
    page = client.get("/organisers/login")
    response = client.post(
        "/organisers/login",
        data={
            "email": organiser.email,
            "password": password,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.location)
    return client.post(
        response.location,
        data={
            "code": code or _fresh_code(organiser),
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
