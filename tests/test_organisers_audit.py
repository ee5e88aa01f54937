"""The audit log: what is written, that it holds no addresses, and reading it filtered."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from campaign import audit, moderation
from campaign.models import AuditEntry, Campaign
from tests.factories import log_in, make_organiser, make_signature, page_token

AUDIT = "/organisers/audit"


def rows(html: str) -> list[str]:
    table = re.search(r'<table class="data audit">.*?</table>', html, re.S).group(0)
    return re.findall(r'<th scope="row">([^<]+)</th>', table)


def test_record_writes_who_what_how_many(app, session):
    organiser = make_organiser(session)
    entry = audit.record(session, "export", organiser, 1, 42, format="csv", embassy="gb-london")
    session.commit()
    stored = session.scalar(select(AuditEntry).where(AuditEntry.id == entry.id))
    assert (stored.action, stored.organiser_id, stored.campaign_id, stored.count) == (
        "export",
        organiser.id,
        1,
        42,
    )
    assert stored.detail == {"format": "csv", "embassy": "gb-london"}
    assert stored.at.tzinfo is not None


def test_record_refuses_an_email_address_in_the_detail(app, session):
    with pytest.raises(ValueError, match="email address"):
        audit.record(session, "export", None, note="sent to someone@example.org")


def test_the_log_page_lists_and_filters(app, session, client):
    ana = make_organiser(session, "ana@example.org")
    ben = make_organiser(session, "ben@example.org")
    signature = make_signature(session, session.get(Campaign, 1))
    moderation.invalidate(session, ben, signature, moderation.InvalidReason.FAKE)
    audit.record(session, "export", ben, 1, 7, format="pdf")
    old = audit.record(session, "export", ana, 1, 3, format="csv")
    old.at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    session.commit()
    log_in(client, ana)

    html = client.get(AUDIT).get_data(as_text=True)
    # Known actions read as words; one without a label shows as stored.
    assert rows(html) == ["Signed in", "export", "Signatures invalidated", "export"]
    assert "4 entries." in html
    assert "format: pdf" in html and "reason: fake or automated" in html

    by_action = client.get(f"{AUDIT}?action=export").get_data(as_text=True)
    assert rows(by_action) == ["export", "export"]
    by_person = client.get(f"{AUDIT}?organiser={ben.id}").get_data(as_text=True)
    assert rows(by_person) == ["export", "Signatures invalidated"]
    assert "ana@example.org</td>" not in by_person.split('<table class="data audit">')[1]
    by_date = client.get(f"{AUDIT}?since=2024-04-30&until=2024-05-01").get_data(as_text=True)
    assert rows(by_date) == ["export"] and "format: csv" in by_date
    after = client.get(f"{AUDIT}?since=2024-05-02").get_data(as_text=True)
    assert "export" in rows(after) and len(rows(after)) == 3
    # The filter form offers the actions the log holds, and every organiser.
    assert '<option value="signatures_invalidated">Signatures invalidated</option>' in html
    assert f'<option value="{ben.id}">ben@example.org</option>' in html


def test_actions_read_in_the_organisers_language(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below must choose its own locale.
    with app.app_context():
        ana = make_organiser(db.session, "ana@example.org")
        db.session.commit()
    log_in(client, ana)
    # The organisers' pages follow the language chosen on the site, as the public's do.
    client.set_cookie("lang", "ru")
    html = client.get(AUDIT).get_data(as_text=True)
    assert rows(html) == ["Вход выполнен"]
    # And so do the details: what each is, and values that are words, not codes.
    with app.app_context():
        audit.record(
            db.session,
            audit.SIGNATURES_EXPORTED,
            ana,
            1,
            3,
            reason="abusive",
            country="DE",
            body="",
            recipient="web",  # a body's name as typed, never taken for a word of the app's
            with_emails=False,
            language="kk",
            via="web",
        )
        db.session.commit()
    html = client.get(AUDIT).get_data(as_text=True)
    details = re.findall(r'<span class="detail">([^<]+)</span>', html)
    assert details == [
        "страна: Германия",
        "язык: казахский",
        "причина: оскорбительное содержание",
        "получатель: web",
        "через: сайт",
        "с адресами электронной почты: нет",  # noqa: RUF001
    ], details


def test_filter_keeps_its_state_across_pages(app, session, client):
    organiser = make_organiser(session)
    for i in range(55):
        audit.record(session, "export", organiser, 1, i)
    session.commit()
    log_in(client, organiser)
    first = client.get(f"{AUDIT}?action=export").get_data(as_text=True)
    assert len(rows(first)) == 50
    assert 'href="/organisers/audit?action=export&amp;page=2"' in first
    second = client.get(f"{AUDIT}?action=export&page=2").get_data(as_text=True)
    assert len(rows(second)) == 5


def test_sign_ins_are_logged_without_the_typed_address_of_unknown_accounts(app, session, client):
    organiser = make_organiser(session, "ana@example.org")
    session.commit()
    token = page_token(client, "/organisers/login")
    client.post(
        "/organisers/login",
        data={"email": "stranger@example.org", "password": "whatever it is", "csrf_token": token},
    )
    log_in(client, organiser)
    session.expire_all()
    entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(e.action, e.organiser_id) for e in entries] == [
        ("login_failed", None),
        ("login", organiser.id),
    ]
    assert "stranger" not in repr([e.detail for e in entries])


def test_audit_filter_by_campaign_and_dates(app, session):
    organiser = make_organiser(session)
    audit.record(session, "export", organiser, 1, 1)
    audit.record(session, "login", organiser)
    session.commit()
    page = audit.entries(session, audit.AuditFilter(campaign_id=1))
    assert [e.action for e in page.entries] == ["export"]
    today = datetime.now(UTC).date()
    assert audit.entries(session, audit.AuditFilter(since=today, until=today)).total == 2
    assert audit.entries(session, audit.AuditFilter(until=date(2000, 1, 1))).total == 0
    assert audit.actions(session) == ["export", "login"]
