"""Moderation: invalidating and restoring signatures, comments, and the public transparency line."""

from __future__ import annotations

import html as html_lib
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from campaign import counting, moderation
from campaign.models import (
    AuditEntry,
    Campaign,
    CommentStatus,
    Role,
    Signature,
    SignatureStatus,
)
from tests.factories import csrf_token, log_in, make_campaign, make_organiser, make_signature

SIGNATURES = "/organisers/campaigns/zhanaozen/signatures"
CAMPAIGN_PAGE = "/en/zhanaozen/"


@pytest.fixture
def signed_in(client, session):
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


def token(client, url: str = SIGNATURES) -> str:
    return csrf_token(client.get(url).get_data(as_text=True))


def count(session) -> int:
    session.expire_all()
    return counting.confirmed_count(session, 1)


def status_of(session, signature_id: int) -> Signature:
    session.expire_all()
    return session.get(Signature, signature_id)


def audit_rows(session, action: str) -> list[AuditEntry]:
    session.expire_all()
    return list(
        session.scalars(
            select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
        )
    )


def test_invalidate_one_needs_a_reason_and_takes_it_out_of_the_count(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    keep = make_signature(session, campaign, name="Kept Signer")
    target = make_signature(session, campaign, name="Fake Signer")
    session.commit()
    assert count(session) == 2
    assert "Fake Signer" in signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)

    url = f"{SIGNATURES}/{target.id}/invalidate"
    no_reason = signed_in.post(url, data={"csrf_token": token(signed_in), "reason": ""})
    assert no_reason.status_code == 400
    html = no_reason.get_data(as_text=True)
    assert f'aria-describedby="reason-{target.id}-error"' in html
    assert "Please choose a reason." in html
    assert status_of(session, target.id).status == SignatureStatus.CONFIRMED
    assert count(session) == 2

    done = signed_in.post(url, data={"csrf_token": token(signed_in), "reason": "fake"})
    assert done.status_code == 303
    target = status_of(session, target.id)
    assert target.status == SignatureStatus.INVALIDATED
    assert target.invalid_reason == "fake"
    assert target.invalidated_at is not None
    assert count(session) == 1
    assert status_of(session, keep.id).status == SignatureStatus.CONFIRMED

    public = signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)
    assert "Fake Signer" not in public and "Kept Signer" in public

    # Doing it again changes nothing, and the count does not drop twice.
    signed_in.post(url, data={"csrf_token": token(signed_in), "reason": "duplicate"})
    assert count(session) == 1
    assert status_of(session, target.id).invalid_reason == "fake"

    (entry,) = audit_rows(session, "signatures_invalidated")
    assert (entry.count, entry.campaign_id, entry.detail["reason"]) == (1, 1, "fake")
    assert entry.organiser_id is not None


def test_restore_puts_a_signature_back_where_it_stood(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    confirmed = make_signature(session, campaign)
    pending = make_signature(session, campaign, confirmed=False)
    organiser = make_organiser(session)
    moderation.invalidate(session, organiser, confirmed, moderation.InvalidReason.DUPLICATE)
    moderation.invalidate(session, organiser, pending, moderation.InvalidReason.FAKE)
    session.commit()
    assert count(session) == 0

    refused = signed_in.post(
        f"{SIGNATURES}/{confirmed.id}/restore", data={"csrf_token": token(signed_in)}
    )
    assert refused.status_code == 400
    assert count(session) == 0

    for signature in (confirmed, pending):
        response = signed_in.post(
            f"{SIGNATURES}/{signature.id}/restore",
            data={"csrf_token": token(signed_in), "reason": "mistake"},
        )
        assert response.status_code == 303
    assert status_of(session, confirmed.id).status == SignatureStatus.CONFIRMED
    assert status_of(session, pending.id).status == SignatureStatus.PENDING
    assert status_of(session, pending.id).invalid_reason == ""
    assert count(session) == 1
    assert [e.detail["reason"] for e in audit_rows(session, "signatures_restored")] == [
        "mistake",
        "mistake",
    ]


def test_invalidating_a_pending_signature_leaves_the_count(app, session):
    pending = make_signature(session, session.get(Campaign, 1), confirmed=False)
    make_signature(session, session.get(Campaign, 1))
    organiser = make_organiser(session)
    assert moderation.invalidate(session, organiser, pending, moderation.InvalidReason.FAKE)
    assert count(session) == 1


def test_bulk_by_domain_changes_the_count_exactly(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    spam = [make_signature(session, campaign, email=f"s{i}@spam.example") for i in range(3)]
    spam.append(make_signature(session, campaign, confirmed=False, email="p@Spam.Example"))
    others = [
        make_signature(session, campaign, email="a@example.org"),
        make_signature(session, campaign, email="b@notspam.example"),
    ]
    other_campaign = make_campaign(session)
    elsewhere = make_signature(session, other_campaign, email="e@spam.example")
    session.commit()
    assert count(session) == 5

    listing = signed_in.get(f"{SIGNATURES}?domain=spam.example").get_data(as_text=True)
    assert "4 signatures match." in listing
    response = signed_in.post(
        f"{SIGNATURES}/invalidate?domain=spam.example",
        data={"csrf_token": csrf_token(listing), "reason": "fake"},
    )
    assert response.status_code == 303
    assert "domain=spam.example" in response.location
    assert "4 signatures were invalidated." in signed_in.get(response.location).get_data(
        as_text=True
    )
    assert count(session) == 2
    assert all(status_of(session, s.id).status == SignatureStatus.INVALIDATED for s in spam)
    assert all(status_of(session, s.id).status == SignatureStatus.CONFIRMED for s in others)
    assert status_of(session, elsewhere.id).status == SignatureStatus.CONFIRMED
    assert counting.confirmed_count(session, other_campaign.id) == 1

    (entry,) = audit_rows(session, "signatures_invalidated")
    assert entry.count == 4
    assert entry.detail == {"reason": "fake", "scope": "bulk", "domain": "spam.example"}

    restored = signed_in.post(
        f"{SIGNATURES}/restore?domain=spam.example",
        data={"csrf_token": token(signed_in), "reason": "verified"},
    )
    assert restored.status_code == 303
    assert count(session) == 5
    assert status_of(session, spam[-1].id).status == SignatureStatus.PENDING


def test_bulk_by_address_hash_and_by_time_window(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    same_address = [make_signature(session, campaign, client_key="f" * 32) for _ in range(2)]
    other = make_signature(session, campaign, client_key="e" * 32)
    late = make_signature(session, campaign, client_key="e" * 32)
    late.created_at = datetime(2030, 1, 2, 10, 0, tzinfo=UTC)
    session.commit()

    response = signed_in.post(
        f"{SIGNATURES}/invalidate?address={'f' * 12}",
        data={"csrf_token": token(signed_in), "reason": "duplicate"},
    )
    assert response.status_code == 303
    assert [status_of(session, s.id).status for s in same_address] == ["invalidated"] * 2
    assert status_of(session, other.id).status == SignatureStatus.CONFIRMED
    assert count(session) == 2

    window = "since=2030-01-02T09:00&until=2030-01-02T11:00"
    assert "1 signature matches." in signed_in.get(f"{SIGNATURES}?{window}").get_data(as_text=True)
    response = signed_in.post(
        f"{SIGNATURES}/invalidate?{window}",
        data={"csrf_token": token(signed_in), "reason": "abusive"},
    )
    assert response.status_code == 303
    assert status_of(session, late.id).status == SignatureStatus.INVALIDATED
    assert status_of(session, other.id).status == SignatureStatus.CONFIRMED
    assert count(session) == 1
    entry = audit_rows(session, "signatures_invalidated")[-1]
    assert entry.detail["since"].startswith("2030-01-02T09:00")
    assert entry.count == 1


@pytest.mark.parametrize("query", ["", "?status=confirmed", "?search=signer", "?domain=bad domain"])
def test_bulk_without_a_condition_is_refused(app, session, signed_in, query):
    campaign = session.get(Campaign, 1)
    signatures = [make_signature(session, campaign) for _ in range(3)]
    session.commit()
    for action in ("invalidate", "restore"):
        response = signed_in.post(
            f"{SIGNATURES}/{action}{query}",
            data={
                "csrf_token": token(signed_in),
                "reason": "fake" if action == "invalidate" else "mistake",
            },
        )
        assert response.status_code == 400
        assert "Refused: a bulk action needs at least one condition" in response.get_data(
            as_text=True
        )
    assert count(session) == 3
    assert all(status_of(session, s.id).status == SignatureStatus.CONFIRMED for s in signatures)
    assert audit_rows(session, "signatures_invalidated") == []
    with pytest.raises(moderation.BulkRefused):
        moderation.invalidate_matching(
            session,
            make_organiser(session),
            1,
            moderation.Selection(status="confirmed", search="x"),
            moderation.InvalidReason.FAKE,
        )


def test_bulk_needs_a_reason(app, session, signed_in):
    signature = make_signature(session, session.get(Campaign, 1), email="x@spam.example")
    session.commit()
    response = signed_in.post(
        f"{SIGNATURES}/invalidate?domain=spam.example",
        data={"csrf_token": token(signed_in), "reason": "made-up"},
    )
    assert response.status_code == 400
    assert 'aria-describedby="bulk-invalidate-reason-error"' in response.get_data(as_text=True)
    assert status_of(session, signature.id).status == SignatureStatus.CONFIRMED


def test_a_signature_of_another_campaign_is_not_found_here(app, session, signed_in):
    elsewhere = make_signature(session, make_campaign(session))
    session.commit()
    response = signed_in.post(
        f"{SIGNATURES}/{elsewhere.id}/invalidate",
        data={"csrf_token": token(signed_in), "reason": "fake"},
    )
    assert response.status_code == 404
    assert status_of(session, elsewhere.id).status == SignatureStatus.CONFIRMED


def test_listing_filters_and_search(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, name="Findable Person", email="f@example.org")
    make_signature(session, campaign, name="Other Person", confirmed=False)
    session.commit()
    html = signed_in.get(f"{SIGNATURES}?search=findable").get_data(as_text=True)
    assert "1 signature matches." in html and "Findable Person" in html
    assert "Other Person" not in html
    html = signed_in.get(f"{SIGNATURES}?status=pending").get_data(as_text=True)
    assert "Other Person" in html and "Findable Person" not in html
    bad = signed_in.get(f"{SIGNATURES}?domain=not a domain").get_data(as_text=True)
    assert 'aria-describedby="domain-error"' in bad


MATCH_COUNT = re.compile(r'<p role="status" id="match-count">([^<]*)</p>')
SEARCH_LABEL = re.compile(r'<label for="search">([^<]*)</label>')


def signed_in_as(client, session, role: Role):
    """``client``, signed in as a new organiser with ``role``."""
    organiser = make_organiser(session, role=role)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


def search_for(client, term: str) -> tuple[str, str]:
    """The match count the listing gives for ``term``, and the page itself."""
    html = client.get(SIGNATURES, query_string={"search": term}).get_data(as_text=True)
    (matched,) = MATCH_COUNT.findall(html)
    return matched, html


def test_a_moderator_cannot_learn_from_search_whether_an_address_signed(app, session, client):
    campaign = session.get(Campaign, 1)
    signer = make_signature(session, campaign, name="Dana Quiet", email="secret.person@example.org")
    session.commit()
    moderator = signed_in_as(client, session, Role.MODERATOR)

    # The address, or any piece of it, gets the same answer as an address that never signed.
    unknown, _ = search_for(moderator, "nobody.at.all@example.org")
    assert unknown == "0 signatures match."
    for term in ("secret.person@example.org", "SECRET.PERSON@EXAMPLE.ORG", "secret", "son@ex"):
        matched, html = search_for(moderator, term)
        assert matched == unknown, term
        assert "Dana Quiet" not in html

    # Names and receipt codes are still found, and the field says that is all it searches.
    matched, html = search_for(moderator, "quiet")
    assert matched == "1 signature matches." and "Dana Quiet" in html
    assert search_for(moderator, signer.receipt[-6:].lower())[0] == "1 signature matches."
    assert SEARCH_LABEL.findall(html) == ["Name or receipt contains"]

    # Nor can a bulk action over the same filter tell: it reaches no one.
    listing = moderator.get(SIGNATURES, query_string={"domain": "example.org"})
    bulk = moderator.post(
        f"{SIGNATURES}/invalidate?domain=example.org&search=secret.person",
        data={"csrf_token": csrf_token(listing.get_data(as_text=True)), "reason": "fake"},
    )
    assert bulk.status_code == 303
    assert "0 signatures were invalidated." in moderator.get(bulk.location).get_data(as_text=True)
    assert status_of(session, signer.id).status == SignatureStatus.CONFIRMED


def test_an_organiser_who_may_see_addresses_still_finds_them_by_email(app, session, client):
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, name="Dana Quiet", email="secret.person@example.org")
    session.commit()
    coordinator = signed_in_as(client, session, Role.COORDINATOR)

    for term in ("secret.person@example.org", "son@ex"):
        matched, html = search_for(coordinator, term)
        assert matched == "1 signature matches.", term
        assert "Dana Quiet" in html and "secret.person@example.org" in html
    assert search_for(coordinator, "nobody.at.all@example.org")[0] == "0 signatures match."
    assert SEARCH_LABEL.findall(html) == ["Name, email or receipt contains"]


def test_comment_shows_on_the_campaign_page_only_once_approved(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    shown = make_signature(session, campaign, name="Dana Writer", comment="Justice for Zhanaozen!")
    hidden_name = make_signature(
        session, campaign, name="Quiet One", display="hidden", comment="Solidarity from afar"
    )
    session.commit()
    assert "Justice for Zhanaozen!" not in signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)

    queue = signed_in.get("/organisers/campaigns/zhanaozen/comments").get_data(as_text=True)
    assert "2 comments are waiting." in queue
    assert "Justice for Zhanaozen!" in queue
    for signature in (shown, hidden_name):
        response = signed_in.post(
            f"/organisers/campaigns/zhanaozen/comments/{signature.id}/approve",
            data={"csrf_token": csrf_token(queue)},
        )
        assert response.status_code == 303
    assert status_of(session, shown.id).comment_status == CommentStatus.APPROVED

    public = signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)
    comments = re.search(r'<section class="comments".*?</section>', public, re.S).group(0)
    assert "Justice for Zhanaozen!" in comments and "Dana Writer" in comments
    assert "Solidarity from afar" in comments and "A supporter" in comments
    assert "Quiet One" not in public

    signed_in.post(
        f"/organisers/campaigns/zhanaozen/comments/{shown.id}/reject",
        data={"csrf_token": token(signed_in, "/organisers/campaigns/zhanaozen/comments")},
    )
    assert "Justice for Zhanaozen!" not in signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)
    assert [e.action for e in audit_rows(session, "comment_approved")] == ["comment_approved"] * 2
    assert len(audit_rows(session, "comment_rejected")) == 1

    campaign = session.get(Campaign, 1)
    campaign.comments_enabled = False
    session.commit()
    assert "Solidarity from afar" not in signed_in.get(CAMPAIGN_PAGE).get_data(as_text=True)


def test_comments_of_pending_or_invalidated_signatures_stay_off_the_page(app, session):
    campaign = session.get(Campaign, 1)
    organiser = make_organiser(session)
    pending = make_signature(session, campaign, confirmed=False, comment="Pending words")
    removed = make_signature(session, campaign, comment="Removed words")
    for signature in (pending, removed):
        moderation.decide_comment(session, organiser, signature, approve=True)
    moderation.invalidate(session, organiser, removed, moderation.InvalidReason.ABUSIVE)
    session.commit()
    assert moderation.approved_comments(session, campaign) == []
    assert moderation.comments_awaiting(session, 1) == []


def test_transparency_line_counts_removals_by_reason_without_personal_data(app, session, client):
    campaign = session.get(Campaign, 1)
    organiser = make_organiser(session)
    assert 'id="removals"' not in client.get(CAMPAIGN_PAGE).get_data(as_text=True)
    reasons = ["duplicate", "duplicate", "signer_request"]
    for i, reason in enumerate(reasons):
        signature = make_signature(
            session, campaign, name=f"Removed Person{i}", email=f"removed{i}@example.org"
        )
        moderation.invalidate(session, organiser, signature, moderation.InvalidReason(reason))
    session.commit()
    html = client.get(CAMPAIGN_PAGE).get_data(as_text=True)
    line = re.search(r'<p class="removals" id="removals">(.*?)</p>', html, re.S).group(1)
    assert " ".join(html_lib.unescape(line).split()) == (
        "3 signatures were removed from the count: duplicate (2), at the signer's request (1)."
    )
    assert "Removed Person" not in html and "removed0@" not in html


def test_removals_kept_by_reason_follow_every_change_to_invalidated_signatures(app, session):
    # The page reads the removals from their own table; whatever happens to invalidated
    # signatures (restored, erased, purged unconfirmed, bulk-invalidated), it matches those
    # that were in the count: a pending signature taken out was never counted.
    from datetime import timedelta

    from sqlalchemy import func

    from campaign import erasure

    campaign = session.get(Campaign, 1)
    organiser = make_organiser(session)

    def counted_from_rows() -> list[tuple[str, int]]:
        return sorted(
            session.execute(
                select(Signature.invalid_reason, func.count())
                .where(
                    Signature.campaign_id == 1,
                    Signature.status == SignatureStatus.INVALIDATED,
                    Signature.confirmed_at.is_not(None),
                )
                .group_by(Signature.invalid_reason)
            ).all()
        )

    def check(expected: list[tuple[str, int]]) -> None:
        session.flush()
        assert sorted(counting.removed_by_reason(session, 1)) == expected == counted_from_rows()

    confirmed = [make_signature(session, campaign, email=f"c{i}@spam.example") for i in range(4)]
    pending = [make_signature(session, campaign, confirmed=False) for _ in range(3)]
    fake, duplicate = moderation.InvalidReason.FAKE, moderation.InvalidReason.DUPLICATE
    for signature in confirmed[:2] + pending[:2]:
        moderation.invalidate(session, organiser, signature, fake)
    moderation.invalidate(session, organiser, confirmed[2], duplicate)
    moderation.invalidate(session, organiser, confirmed[2], fake)  # already out: no change
    check([("duplicate", 1), ("fake", 2)])
    moderation.restore(session, organiser, pending[0], moderation.RestoreReason("mistake"))
    check([("duplicate", 1), ("fake", 2)])
    moderation.restore(session, organiser, confirmed[0], moderation.RestoreReason("mistake"))
    check([("duplicate", 1), ("fake", 1)])
    erasure.erase(session, confirmed[1])
    check([("duplicate", 1)])
    for signature in pending:
        signature.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    assert erasure.purge_pending(session, timedelta(days=30)) == 3
    check([("duplicate", 1)])
    selection = moderation.Selection(domain="spam.example")
    assert moderation.invalidate_matching(session, organiser, 1, selection, fake) == 2
    check([("duplicate", 1), ("fake", 2)])
    moderation.restore_matching(
        session, organiser, 1, selection, moderation.RestoreReason("mistake")
    )
    check([])
    assert counting.confirmed_count(session, 1) == 3


def test_a_moderator_sees_and_finds_only_domains_that_many_signatures_share(client, session):
    # A moderator sees domains, to spot surges; a domain of one person's own would tell
    # that this person signed.
    campaign = session.get(Campaign, 1)
    common = [make_signature(session, campaign, email=f"u{i}@common.example") for i in range(5)]
    own = make_signature(session, campaign, name="Private Person", email="me@my-own.example")
    moderator = signed_in_as(client, session, Role.MODERATOR)
    listing = moderator.get(SIGNATURES).get_data(as_text=True)
    assert "…@common.example" in listing
    assert "my-own.example" not in listing
    assert "…@…" in listing and 'id="rare-domains"' in listing
    # Filtering by the rare domain answers as for a domain nobody signed from.
    for domain in ("my-own.example", "nobody.example"):
        page = moderator.get(f"{SIGNATURES}?domain={domain}").get_data(as_text=True)
        assert "0 signatures match." in page
        assert "Private Person" not in page
    page = moderator.get(f"{SIGNATURES}?domain=common.example").get_data(as_text=True)
    assert "5 signatures match." in page
    # Nor can a bulk action reach it.
    response = moderator.post(
        f"{SIGNATURES}/invalidate?domain=my-own.example",
        data={"csrf_token": csrf_token(page), "reason": "fake"},
    )
    assert response.status_code == 303
    assert status_of(session, own.id).status == SignatureStatus.CONFIRMED
    assert all(status_of(session, s.id).status == SignatureStatus.CONFIRMED for s in common)


def test_a_moderator_can_undo_a_bulk_invalidation_by_domain(client, session):
    # Once taken out, the domain's signatures are no longer confirmed: they must still make
    # it shared, or the same filter could not find them to restore them.
    campaign = session.get(Campaign, 1)
    common = [make_signature(session, campaign, email=f"u{i}@common.example") for i in range(5)]
    moderator = signed_in_as(client, session, Role.MODERATOR)
    page = moderator.get(f"{SIGNATURES}?domain=common.example").get_data(as_text=True)
    response = moderator.post(
        f"{SIGNATURES}/invalidate?domain=common.example",
        data={"csrf_token": csrf_token(page), "reason": "fake"},
    )
    assert response.status_code == 303
    assert counting.confirmed_count(session, 1) == 0
    page = moderator.get(f"{SIGNATURES}?domain=common.example").get_data(as_text=True)
    assert "5 signatures match." in page
    response = moderator.post(
        f"{SIGNATURES}/restore?domain=common.example",
        data={"csrf_token": csrf_token(page), "reason": "mistake"},
    )
    assert response.status_code == 303
    session.expire_all()
    assert all(status_of(session, s.id).status == SignatureStatus.CONFIRMED for s in common)
    assert counting.confirmed_count(session, 1) == 5


def test_unconfirmed_signatures_cannot_bring_a_persons_own_domain_into_view(client, session):
    # Anyone can sign with addresses at any domain without a mailbox there: four such
    # signatures beside one person's must not make that person's domain shared.
    campaign = session.get(Campaign, 1)
    own = make_signature(session, campaign, name="Dana Quiet", email="dana@family.example")
    for i in range(4):
        make_signature(session, campaign, email=f"x{i}@family.example", confirmed=False)
    invalidated = make_signature(session, campaign, email="y@family.example")
    moderator = signed_in_as(client, session, Role.MODERATOR)
    moderation.invalidate(
        session, make_organiser(session), invalidated, moderation.InvalidReason.FAKE
    )
    session.commit()
    listing = moderator.get(SIGNATURES).get_data(as_text=True)
    assert "family.example" not in listing and "Dana Quiet" in listing
    page = moderator.get(f"{SIGNATURES}?domain=family.example").get_data(as_text=True)
    assert "0 signatures match." in page and "Dana Quiet" not in page
    # With five confirmed signatures there, the domain is shared.
    for i in range(4):
        make_signature(session, campaign, email=f"z{i}@family.example")
    session.commit()
    page = moderator.get(f"{SIGNATURES}?domain=family.example").get_data(as_text=True)
    assert "10 signatures match." in page and "…@family.example" in page
    assert status_of(session, own.id).status == SignatureStatus.CONFIRMED


def test_a_coordinator_sees_and_finds_every_domain(client, session):
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, name="Private Person", email="me@my-own.example")
    coordinator = signed_in_as(client, session, Role.COORDINATOR)
    assert "me@my-own.example" in coordinator.get(SIGNATURES).get_data(as_text=True)
    page = coordinator.get(f"{SIGNATURES}?domain=my-own.example").get_data(as_text=True)
    assert "1 signature matches." in page and "Private Person" in page
    assert 'id="rare-domains"' not in page


@pytest.mark.parametrize(
    ("term", "found"),
    [
        ("Мария", ["Мария Иванова", "МАРИЯ СМИРНОВА"]),
        ("мария", ["Мария Иванова", "МАРИЯ СМИРНОВА"]),
        ("МАРИЯ", ["Мария Иванова", "МАРИЯ СМИРНОВА"]),
        ("иВАНОВА", ["Мария Иванова"]),
        ("Қайрат", ["Қайрат Әбілов", "қайрат сейітов"]),
        ("ҚАЙРАТ", ["Қайрат Әбілов", "қайрат сейітов"]),
        ("әбілов", ["Қайрат Әбілов"]),
        ("СЕЙІТОВ", ["қайрат сейітов"]),
        ("Әлия", []),
    ],
)
def test_search_ignores_case_in_russian_and_kazakh_names(app, session, signed_in, term, found):
    # SQLite's own lower() folds ASCII only: "Мария" found no "мария" before.
    campaign = session.get(Campaign, 1)
    names = ["Мария Иванова", "МАРИЯ СМИРНОВА", "Қайрат Әбілов", "қайрат сейітов", "Dana Quiet"]
    for name in names:
        make_signature(session, campaign, name=name)
    session.commit()
    matched, html = search_for(signed_in, term)
    expected = f"{len(found)} signature{'s match' if len(found) != 1 else ' matches'}."
    assert matched == expected
    assert [name for name in names if name in html] == found
    # The service answers the same as the page.
    selection = moderation.Selection(search=term)
    assert moderation.listing(session, 1, selection).total == len(found)


def test_a_page_past_the_end_shows_the_last_page(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    for i in range(52):
        make_signature(session, campaign, name=f"Paged Signer {i:02d}")
    session.commit()
    last = signed_in.get(f"{SIGNATURES}?page=2").get_data(as_text=True)
    assert "Page 2 of 2, newest first" in last
    assert "Paged Signer 00" in last and "Paged Signer 01" in last
    assert "Paged Signer 02" not in last
    for page in ("3", "40"):
        html = signed_in.get(f"{SIGNATURES}?page={page}").get_data(as_text=True)
        assert "Page 2 of 2, newest first" in html, page
        assert "Paged Signer 00" in html and "Paged Signer 01" in html
        assert 'rel="prev"' in html and "page=1" in html and 'rel="next"' not in html
    # A filter that leaves fewer matches than the page asked for: its only page.
    html = signed_in.get(f"{SIGNATURES}?search=signer 51&page=2").get_data(as_text=True)
    assert "Page 1 of 1, newest first" in html and "Paged Signer 51" in html
    assert moderation.listing(session, 1, moderation.Selection(), page=9, per_page=25).page == 3


def test_an_audit_log_page_past_the_end_shows_the_last_page(app, session, signed_in):
    from campaign import audit

    organiser = make_organiser(session)
    for i in range(55):
        audit.record(session, "export", organiser, 1, i)
    session.commit()
    html = signed_in.get("/organisers/audit?action=export&page=3").get_data(as_text=True)
    assert "Page 2 of 2, newest first" in html
    table = re.search(r'<table class="data audit">.*?</table>', html, re.S).group(0)
    assert len(re.findall(r'<th scope="row">', table)) == 5
    assert 'rel="prev"' in html and 'rel="next"' not in html
