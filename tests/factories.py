"""Small factories for campaigns and signatures, and helpers for forms."""

from __future__ import annotations

import itertools
import re

from sqlalchemy.orm import Session

from campaign import confirming, counting, signing
from campaign.models import Campaign, CampaignText, Display, Signature

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
    signature = signing.sign(session, campaign, signing.SignatureInput(**values)).signature
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
