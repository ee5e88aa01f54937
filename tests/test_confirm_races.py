"""Confirming while something else changes the signature between the read and the write."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import ORMExecuteState, Session

from campaign import confirming, counting, erasure, moderation
from campaign.models import Campaign, Signature, SignatureStatus, utcnow
from tests.factories import csrf_token, make_signature


@contextlib.contextmanager
def just_before_confirming(
    app, signature_id: int, change: Callable[[Session, Signature], None]
) -> Iterator[None]:
    """Run ``change`` once, in a session of its own that commits, right before the UPDATE
    that confirms the signature: after the request has read it, before it writes.
    """
    done = []

    def in_between(state: ORMExecuteState) -> None:
        if done or not state.is_update or state.bind_mapper is None:
            return
        if state.bind_mapper.class_ is not Signature:
            return
        done.append(True)  # first, as ``change`` may update signatures too
        with Session(app.extensions["database"]) as other:
            change(other, other.get(Signature, signature_id))
            other.commit()

    event.listen(Session, "do_orm_execute", in_between)
    try:
        yield
    finally:
        event.remove(Session, "do_orm_execute", in_between)
    assert done, "the confirming UPDATE never ran"


def withdrawn(session: Session, signature: Signature) -> None:
    """The signer withdraws from another tab."""
    erasure.erase(session, signature)


def purged(session: Session, signature: Signature) -> None:
    """The link expires as the signer hesitates, and the daily purge runs."""
    signature.created_at = signature.last_emailed_at = utcnow() - timedelta(days=30)
    session.flush()
    assert erasure.purge_pending(session, timedelta(days=14)) == 1


def invalidated(session: Session, signature: Signature) -> None:
    """A moderator takes the signature out."""
    moderation.invalidate(session, None, signature, moderation.InvalidReason.FAKE)


def confirmed(session: Session, signature: Signature) -> None:
    """The signer's other click (another tab, a double click) confirms first."""
    assert confirming.confirm(session, signature)


def _confirm(app, client, session, change) -> tuple[int, str, int | None]:
    """Confirm a new pending signature with ``change`` in between; the answer, and the row."""
    signature = make_signature(session, session.get(Campaign, 1), confirmed=False)
    session.commit()
    signature_id, token = signature.id, confirming.make_token(signature)
    page = client.get(f"/en/confirm?token={token}")
    assert page.status_code == 200
    with just_before_confirming(app, signature_id, change):
        done = client.post(
            "/en/confirm",
            data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))},
        )
    session.expire_all()
    status = session.scalar(select(Signature.status).where(Signature.id == signature_id))
    return done.status_code, done.get_data(as_text=True), status


@pytest.mark.parametrize("change", [withdrawn, purged], ids=["withdrawn", "purged"])
def test_a_signature_erased_while_being_confirmed_gets_the_link_does_not_work_answer(
    app, client, session, change
):
    code, html, status = _confirm(app, client, session, change)
    assert code == 400  # not 500
    assert "This link does not work" in html
    assert "can no longer be confirmed" in html
    assert status is None
    assert counting.confirmed_count(session, 1) == 0


def test_a_signature_invalidated_while_being_confirmed_is_refused(app, client, session):
    code, html, status = _confirm(app, client, session, invalidated)
    assert code == 400
    assert "can no longer be confirmed" in html
    assert status == SignatureStatus.INVALIDATED
    assert counting.confirmed_count(session, 1) == 0


def test_a_click_that_loses_to_another_still_thanks_the_signer(app, client, session):
    code, html, status = _confirm(app, client, session, confirmed)
    assert code == 200
    assert "This link does not work" not in html
    assert status == SignatureStatus.CONFIRMED
    assert counting.confirmed_count(session, 1) == 1  # counted once, by the winner


def test_a_request_that_commits_late_never_dates_a_link_back(app, session):
    # Two requests for the email again: the later one stamps its moment first.
    signature = make_signature(session, session.get(Campaign, 1), confirmed=False)
    later = utcnow() + timedelta(seconds=30)
    signature.last_emailed_at = later
    session.commit()
    assert confirming.claim_email(session, signature.id)
    session.commit()
    session.expire_all()
    assert session.get(Signature, signature.id).last_emailed_at == later
