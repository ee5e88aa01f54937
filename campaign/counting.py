"""Confirmed-signature counts kept in slices, exact and cheap to read."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from campaign.models import SignatureCount

SHARDS = 16


def ensure_slices(session: Session, campaign_id: int) -> None:
    """Create the count slices of a campaign that do not exist yet."""
    have = set(
        session.scalars(
            select(SignatureCount.shard).where(SignatureCount.campaign_id == campaign_id)
        )
    )
    for shard in range(SHARDS):
        if shard not in have:
            session.add(SignatureCount(campaign_id=campaign_id, shard=shard, confirmed=0))
    session.flush()


def add(session: Session, campaign_id: int, delta: int) -> None:
    """Change a campaign's confirmed count by ``delta``, in the caller's transaction."""
    session.execute(
        update(SignatureCount)
        .where(
            SignatureCount.campaign_id == campaign_id,
            SignatureCount.shard == secrets.randbelow(SHARDS),
        )
        .values(confirmed=SignatureCount.confirmed + delta)
    )


def confirmed_count(session: Session, campaign_id: int) -> int:
    """The number of confirmed signatures of a campaign."""
    total = session.scalar(
        select(func.coalesce(func.sum(SignatureCount.confirmed), 0)).where(
            SignatureCount.campaign_id == campaign_id
        )
    )
    return int(total or 0)
