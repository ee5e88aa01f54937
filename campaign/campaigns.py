"""Finding campaigns and their text in the reader's language."""

from __future__ import annotations

from flask import abort, current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from campaign.models import (
    Campaign,
    CampaignText,
    Display,
    Organiser,
    Signature,
    SignatureStatus,
)

# Built once: every page and every signature looks its campaign up, and a statement
# object that is reused keeps its cache key, which SQLAlchemy would otherwise work out anew.
_BY_SLUG = select(Campaign).where(Campaign.slug == bindparam("slug"))


def by_slug(session: Session, slug: str) -> Campaign | None:
    """The campaign at ``slug``."""
    return session.scalar(_BY_SLUG, {"slug": slug})


def by_slug_or_404(session: Session, slug: str) -> Campaign:
    """The campaign at ``slug``; a 404 for the request when there is none."""
    campaign = by_slug(session, slug)
    if campaign is None:
        abort(404)
    return campaign


def default(session: Session) -> Campaign | None:
    """The campaign shown at the site's root."""
    return session.scalar(
        select(Campaign).order_by(Campaign.is_default.desc(), Campaign.id).limit(1)
    )


def text_for(campaign: Campaign, locale: str) -> CampaignText:
    """The campaign's text in ``locale``, else in the default language."""
    texts = {text.locale: text for text in campaign.texts}
    fallback = current_app.config["BABEL_DEFAULT_LOCALE"]
    return texts.get(locale) or texts[fallback]


def missing_languages(campaign: Campaign) -> list[str]:
    """Languages of the site that the campaign's content lacks (shown in English)."""
    have = {text.locale for text in campaign.texts}
    return [lang for lang in current_app.config["LANGUAGES"] if lang not in have]


def set_signing_paused(
    session: Session, campaign: Campaign, paused: bool, organiser: Organiser | None = None
) -> None:
    """Stop or restart taking signatures on a campaign, and note it in the audit log."""
    from campaign import audit

    actions = (audit.SIGNING_PAUSED, audit.SIGNING_RESUMED)
    _switch(session, campaign, "signing_paused", paused, actions, organiser)


def set_surge_mode(
    session: Session, campaign: Campaign, on: bool, organiser: Organiser | None = None
) -> None:
    """Serve a campaign's pages for caching by the proxy, or stop; note it in the audit log."""
    from campaign import audit

    actions = (audit.SURGE_MODE_ON, audit.SURGE_MODE_OFF)
    _switch(session, campaign, "surge_mode", on, actions, organiser)


def _switch(
    session: Session,
    campaign: Campaign,
    attribute: str,
    on: bool,
    actions: tuple[str, str],
    organiser: Organiser | None,
) -> None:
    """Set a switch of ``campaign``; audit it as ``actions`` (on, off) when it changed."""
    from campaign import audit

    if getattr(campaign, attribute) == on:
        return
    setattr(campaign, attribute, on)
    audit.record(session, actions[0] if on else actions[1], organiser, campaign_id=campaign.id)


_LATEST_PUBLIC = (
    select(Signature)
    .where(
        Signature.campaign_id == bindparam("campaign_id"),
        Signature.status == SignatureStatus.CONFIRMED,
        Signature.display != Display.HIDDEN,
    )
    .order_by(Signature.confirmed_at.desc())
    .limit(bindparam("limit"))
)


def latest_public_signers(session: Session, campaign_id: int, limit: int = 10) -> list[Signature]:
    """The most recent confirmed signers who chose to be shown."""
    return list(session.scalars(_LATEST_PUBLIC, {"campaign_id": campaign_id, "limit": limit}))
