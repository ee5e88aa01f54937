"""Counts kept up to date as signatures change, exact and cheap to read.

The confirmed count is kept in slices, so signers confirming at once rarely wait on one
row; the removals are kept by reason, changed only by moderation and erasure.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from campaign.extensions import insert_for
from campaign.models import RemovalCount, Signature, SignatureCount

SHARDS = 16


def page_count(total: int, per_page: int) -> int:
    """How many pages ``total`` rows fill, ``per_page`` to a page; one even when empty."""
    return max(1, -(-total // per_page))


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


# The statements every page reads, built once (see campaigns.by_slug).
_CONFIRMED = select(func.coalesce(func.sum(SignatureCount.confirmed), 0)).where(
    SignatureCount.campaign_id == bindparam("campaign_id")
)
_REMOVED = select(RemovalCount.reason, RemovalCount.removed).where(
    RemovalCount.campaign_id == bindparam("campaign_id"), RemovalCount.removed > 0
)


def confirmed_count(session: Session, campaign_id: int) -> int:
    """The number of confirmed signatures of a campaign."""
    total = session.scalar(_CONFIRMED, {"campaign_id": campaign_id})
    return int(total or 0)


def add_removed(session: Session, campaign_id: int, changes: Counter[str]) -> None:
    """Change the campaign's removals by ``changes`` (invalid reason: how many more)."""
    insert = insert_for(session)
    for reason, delta in sorted(changes.items()):  # one order everywhere: no deadlocks
        if not delta:
            continue
        statement = insert(RemovalCount).values(
            campaign_id=campaign_id, reason=reason, removed=delta
        )
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["campaign_id", "reason"],
                set_={"removed": RemovalCount.removed + statement.excluded.removed},
            )
        )


def removed_by_reason(session: Session, campaign_id: int) -> list[tuple[str, int]]:
    """The campaign's invalidated signatures counted by reason (as stored), none left out."""
    return [
        (reason, removed)
        for reason, removed in session.execute(_REMOVED, {"campaign_id": campaign_id})
    ]


def lock_for_change(session: Session, signatures: Iterable[Signature]) -> list[Signature]:
    """The signatures that still exist, re-read as they stand now, locked until commit.

    What a moderator's page showed may be old: the signer may have confirmed since, or
    withdrawn. Reading the status afresh under a row lock (FOR UPDATE on PostgreSQL) means
    a confirmation or erasure racing this change waits for it, so the counts are changed
    once, by the right amount; a signature erased meanwhile is left out.
    SQLite has no row locks and its driver runs reads outside a transaction until the
    first write; a write that changes nothing takes the database's write lock first, so
    the re-read below is the last word until commit.
    """
    signatures = list(signatures)
    if session.get_bind().dialect.name == "sqlite":
        session.execute(
            update(SignatureCount)
            .where(SignatureCount.shard < 0)
            .values(confirmed=SignatureCount.confirmed)
            .execution_options(synchronize_session=False)
        )
    ids = [signature.id for signature in signatures]
    found: set[int] = set()
    for start in range(0, len(ids), 500):
        fresh = session.scalars(
            select(Signature)
            .where(Signature.id.in_(ids[start : start + 500]))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found.update(signature.id for signature in fresh)
    return [signature for signature in signatures if signature.id in found]
