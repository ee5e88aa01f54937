"""Withdrawal, erasure and retention really forget; logs never hold personal data."""

from __future__ import annotations

import logging
import re
import urllib.parse
import urllib.request
from datetime import date, timedelta
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from sqlalchemy import func, select

from campaign import counting, deliveries
from campaign.deliveries import Recipient
from campaign.models import (
    Campaign,
    DeliveredSignature,
    Delivery,
    Embassy,
    EmbassyCountry,
    Signature,
    utcnow,
)
from tests.conftest import serving
from tests.factories import csrf_token, make_signature, sign_form

ADDRESS = "erase.me.please@example.org"


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _link(message, kind: str) -> str:
    match = re.search(rf"http://petition\.test(/\S+/{kind}\?token=\S+)", message.get_content())
    assert match, message.get_content()
    return match.group(1)


def _database_bytes(app) -> bytes:
    path = Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    return b"".join(
        p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()
    )


def _count(app) -> int:
    from campaign.extensions import db

    with app.app_context():
        return counting.confirmed_count(db.session, 1)


def test_every_email_carries_a_withdrawal_link_that_erases(app, client, smtp, backend):
    page = client.get("/en/zhanaozen/")
    token = csrf_token(page.get_data(as_text=True))
    client.post("/en/zhanaozen/", data=sign_form(email=ADDRESS, csrf_token=token))
    confirm = client.get(_link(smtp.messages[0], "confirm"))
    client.post(
        "/en/confirm",
        data={
            "token": re.search(r"token=(\S+)", _link(smtp.messages[0], "confirm")).group(1),
            "csrf_token": csrf_token(confirm.get_data(as_text=True)),
        },
    )
    client.post("/en/zhanaozen/", data=sign_form(email=ADDRESS, csrf_token=token))
    assert len(smtp.messages) == 2
    links = [_link(m, "withdraw") for m in smtp.messages]
    assert links[0] == links[1]
    assert _count(app) == 1

    ask = client.get(links[0])
    assert ask.status_code == 200
    assert "Withdraw my signature" in ask.get_data(as_text=True)
    assert _count(app) == 1  # opening the link changes nothing

    done = client.post(
        "/en/withdraw",
        data={
            "token": re.search(r"token=(\S+)", links[0]).group(1),
            "csrf_token": csrf_token(ask.get_data(as_text=True)),
        },
    )
    assert done.status_code == 200
    assert "withdrawn" in done.get_data(as_text=True)
    assert _count(app) == 0
    from campaign.extensions import db

    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 0
    assert client.get(links[0]).status_code == 404
    if backend == "sqlite":
        data = _database_bytes(app)
        assert ADDRESS.encode() not in data
        assert b"Aigerim Test" not in data


def test_cli_erases_by_email_in_any_spelling(app, runner, session, backend):
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, email=ADDRESS, name="Erased Person")
    make_signature(session, campaign, email="keep@example.org")
    session.commit()
    result = runner.invoke(args=["privacy", "erase", ADDRESS.upper()])
    assert result.exit_code == 0, result.output
    assert "Erased 1 signature" in result.output
    session.expire_all()
    assert [s.email for s in session.scalars(select(Signature))] == ["keep@example.org"]
    assert counting.confirmed_count(session, campaign.id) == 1
    if backend == "sqlite":
        data = _database_bytes(app)
        assert ADDRESS.encode() not in data
        assert b"Erased Person" not in data


def test_cli_asks_for_the_address_without_showing_it(app, runner, session):
    # Given on the command line, a signer's address would stay in the shell's history and
    # show in the list of processes.
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, email=ADDRESS)
    session.commit()
    # Typed unseen, it is asked twice, and an address no signature has is said to be so.
    result = runner.invoke(args=["privacy", "erase"], input=f"{ADDRESS}\n{ADDRESS}x\n")
    assert result.exit_code != 0 and "Erased" not in result.output
    typo = runner.invoke(args=["privacy", "erase"], input=f"{ADDRESS}x\n{ADDRESS}x\n")
    assert "Erased 0 signature" in typo.output and "check it" in typo.output
    result = runner.invoke(args=["privacy", "erase"], input=f"{ADDRESS}\n{ADDRESS}\n")
    assert result.exit_code == 0, result.output
    assert "Erased 1 signature" in result.output
    assert ADDRESS not in result.output  # not echoed as it was typed
    session.expire_all()
    assert session.scalars(select(Signature)).all() == []


def test_unconfirmed_signatures_are_purged_after_the_configured_time(app, runner, session):
    campaign = session.get(Campaign, 1)
    old = make_signature(session, campaign, confirmed=False)
    old.created_at = utcnow() - timedelta(days=15)
    # Invalidated before it was ever confirmed: still never confirmed, still purged.
    stopped = make_signature(session, campaign, confirmed=False)
    stopped.created_at = utcnow() - timedelta(days=15)
    stopped.status = "invalidated"
    make_signature(session, campaign, confirmed=False)
    make_signature(session, campaign, confirmed=True).created_at = utcnow() - timedelta(days=30)
    session.commit()
    result = runner.invoke(args=["privacy", "purge-pending"])
    assert "Purged 2 " in result.output
    session.expire_all()
    assert session.scalar(select(func.count(Signature.id))) == 2


def _days_pass(session, signature_id: int, days: int) -> None:
    """Move a signature's dates ``days`` back, as if that many days had gone by since."""
    signature = session.get(Signature, signature_id, populate_existing=True)
    signature.created_at -= timedelta(days=days)
    if signature.last_emailed_at is not None:
        signature.last_emailed_at -= timedelta(days=days)
    session.commit()


def test_a_link_sent_again_keeps_its_signature_past_the_purge(app, client, runner, session, smtp):
    page = client.get("/en/zhanaozen/")
    token = csrf_token(page.get_data(as_text=True))
    client.post("/en/zhanaozen/", data=sign_form(email=ADDRESS, csrf_token=token))
    signature_id = session.scalar(select(Signature.id))
    _days_pass(session, signature_id, 13)
    # Day 13: the signer asks for the email again; its link is good for 7 more days.
    client.post("/en/zhanaozen/resend", data={"email": ADDRESS, "csrf_token": token})
    link = _link(smtp.wait_for(2)[1], "confirm")

    _days_pass(session, signature_id, 1)  # day 14: the daily purge
    assert "Purged 0 " in runner.invoke(args=["privacy", "purge-pending"]).output

    _days_pass(session, signature_id, 1)  # day 15: the signer clicks
    ask = client.get(link)
    assert ask.status_code == 200
    done = client.post(
        "/en/confirm",
        data={
            "token": re.search(r"token=(\S+)", link).group(1),
            "csrf_token": csrf_token(ask.get_data(as_text=True)),
        },
    )
    assert done.status_code == 200
    assert _count(app) == 1


def test_a_signature_whose_newest_link_has_expired_is_purged(app, runner, session):
    campaign = session.get(Campaign, 1)
    expired = make_signature(session, campaign, confirmed=False)
    expired.created_at = utcnow() - timedelta(days=20)
    expired.last_emailed_at = utcnow() - timedelta(days=8)  # its link died yesterday
    usable = make_signature(session, campaign, confirmed=False)
    usable.created_at = utcnow() - timedelta(days=20)
    usable.last_emailed_at = utcnow() - timedelta(days=6)  # its link works one more day
    session.commit()
    assert "Purged 1 " in runner.invoke(args=["privacy", "purge-pending"]).output
    session.expire_all()
    assert list(session.scalars(select(Signature.id))) == [usable.id]


def test_the_purge_takes_a_signature_once_its_newest_link_is_refused(app, runner, session):
    from campaign import confirming

    max_age = app.config["CONFIRM_MAX_AGE"]
    campaign = session.get(Campaign, 1)
    signatures = {}
    for name, seconds in (("refused", max_age + 2), ("accepted", max_age - 5)):
        signature = make_signature(session, campaign, confirmed=False)
        signature.created_at = utcnow() - timedelta(days=30)
        signature.last_emailed_at = utcnow() - timedelta(seconds=seconds)
        signatures[name] = signature
    session.commit()
    # The link each was last sent, as the email carried it: dated from its request.
    with pytest.raises(confirming.TokenError) as refused:
        confirming.signature_for_token(session, confirming.make_token(signatures["refused"]))
    assert refused.value.expired
    accepted = signatures["accepted"]
    assert confirming.signature_for_token(session, confirming.make_token(accepted)) is accepted
    assert "Purged 1 " in runner.invoke(args=["privacy", "purge-pending"]).output
    session.expire_all()
    assert list(session.scalars(select(Signature.id))) == [accepted.id]


def test_address_hashes_are_forgotten_after_two_days(app, runner, session):
    campaign = session.get(Campaign, 1)
    old = make_signature(session, campaign, client_key="a" * 32)
    old.created_at = utcnow() - timedelta(days=3)
    recent = make_signature(session, campaign, client_key="b" * 32)
    session.commit()
    result = runner.invoke(args=["privacy", "purge-pending"])
    assert "Forgot the address hash of 1 " in result.output
    session.expire_all()
    assert session.get(Signature, old.id).client_key is None
    assert session.get(Signature, recent.id).client_key == "b" * 32


def test_only_delivered_signatures_are_anonymised_after_the_retention_period(app, runner, session):
    campaign = session.get(Campaign, 1)
    delivered = make_signature(session, campaign, email="old@example.org", name="Old Signer")
    delivered.confirmed_at = utcnow() - timedelta(days=200)
    # Confirmed as long ago, but its embassy's pack has not gone yet: it keeps its data.
    waiting = make_signature(session, campaign, email="waiting@example.org", country="FR")
    waiting.confirmed_at = utcnow() - timedelta(days=200)
    recent_delivery = make_signature(session, campaign, email="new@example.org")
    old = Delivery(
        campaign_id=campaign.id,
        recipient="Embassy in London",
        delivered_on=utcnow() - timedelta(days=100),
        cutoff=utcnow() - timedelta(days=100),
    )
    new = Delivery(campaign_id=campaign.id, recipient="ITUC", delivered_on=utcnow())
    session.add_all([old, new])
    session.flush()
    session.add_all(
        [
            DeliveredSignature(delivery_id=old.id, signature_id=delivered.id),
            DeliveredSignature(delivery_id=new.id, signature_id=recent_delivery.id),
        ]
    )
    session.commit()
    result = runner.invoke(args=["privacy", "anonymise"])
    assert "Anonymised 1 " in result.output, result.output
    session.expire_all()
    gone = session.get(Signature, delivered.id)
    assert (gone.email, gone.name, gone.client_key) == ("", "", None)
    assert gone.country == "GB"
    assert session.get(Signature, waiting.id).email == "waiting@example.org"
    assert session.get(Signature, recent_delivery.id).email == "new@example.org"
    assert counting.confirmed_count(session, campaign.id) == 3
    # Running again changes nothing more.
    assert "Anonymised 0 " in runner.invoke(args=["privacy", "anonymise"]).output


def test_signers_left_out_of_the_lists_are_anonymised_once_a_delivery_counted_them(
    app, runner, session
):
    # Never in a list, they would otherwise keep their data for ever: the most careful
    # signers would be the least protected.
    campaign = session.get(Campaign, 1)

    def left_out(email: str, country: str, days_ago: int) -> Signature:
        signature = make_signature(
            session, campaign, email=email, country=country, exclude_from_delivery=True
        )
        signature.confirmed_at = utcnow() - timedelta(days=days_ago)
        return signature

    counted = left_out("counted@example.org", "GB", 200)  # before London's cutoff
    later = left_out("later@example.org", "GB", 50)  # confirmed after it
    elsewhere = left_out("elsewhere@example.org", "FR", 200)  # Paris has had no pack

    def deliver(days_ago: int, recipient: Recipient) -> str:
        # Recorded as an organiser records it, then dated back.
        delivery = deliveries.record(
            session,
            campaign,
            deliveries.DeliveryInput(recipient, date.today(), cutoff=utcnow()),
            organiser=None,
        )
        delivery.delivered_on = delivery.cutoff = utcnow() - timedelta(days=days_ago)
        session.commit()
        output = runner.invoke(args=["privacy", "anonymise"]).output
        session.expire_all()
        return output

    london = session.scalar(select(Embassy).where(Embassy.key == "gb-london"))
    assert "Anonymised 1 " in deliver(100, Recipient(embassy=london))
    assert session.get(Signature, counted.id).email == ""
    assert session.get(Signature, later.id).email == "later@example.org"
    assert session.get(Signature, elsewhere.id).email == "elsewhere@example.org"

    # A body's list counts every signer of the campaign up to its cutoff.
    assert "Anonymised 1 " in deliver(95, Recipient(body="ITUC"))
    assert session.get(Signature, elsewhere.id).email == ""
    assert session.get(Signature, later.id).email == "later@example.org"


def test_an_embassy_delivery_counts_the_countries_it_was_for_not_those_of_today(
    app, runner, session
):
    campaign = session.get(Campaign, 1)
    signers = {}
    for country in ("AT", "SK"):
        signers[country] = make_signature(
            session,
            campaign,
            email=f"{country.lower()}@example.org",
            country=country,
            exclude_from_delivery=True,
        )
        signers[country].confirmed_at = utcnow() - timedelta(days=200)
    vienna = session.scalar(select(Embassy).where(Embassy.key == "at-vienna"))
    assert "SK" not in {c.country for c in vienna.countries}
    delivery = deliveries.record(
        session,
        campaign,
        deliveries.DeliveryInput(Recipient(embassy=vienna), date.today(), cutoff=utcnow()),
        organiser=None,
    )
    delivery.delivered_on = delivery.cutoff = utcnow() - timedelta(days=100)
    # Afterwards Vienna becomes accredited to Slovakia too, then leaves the directory.
    slovakia = session.get(EmbassyCountry, "SK")
    if slovakia is not None:
        session.delete(slovakia)
        session.flush()
    session.add(EmbassyCountry(country="SK", embassy_id=vienna.id))
    session.commit()
    session.delete(vienna)
    session.commit()

    output = runner.invoke(args=["privacy", "anonymise"]).output
    session.expire_all()
    assert "Anonymised 1 " in output
    assert session.get(Signature, signers["AT"].id).email == ""
    # The Slovak signer was not counted by a delivery for Austria: their data stays.
    assert session.get(Signature, signers["SK"].id).email == "sk@example.org"


def test_logs_of_a_whole_journey_hold_no_address_email_or_token(app, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def fetch(path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with opener.open(base + path, data=body, timeout=10) as response:
                return response.read().decode()
        except urllib.error.HTTPError as error:
            return error.read().decode()

    with serving(app) as base:
        page = fetch("/en/zhanaozen/")
        fetch("/en/zhanaozen/", sign_form(email=ADDRESS, csrf_token=csrf_token(page)))
        confirm_path = _link(smtp.wait_for(1)[0], "confirm")  # sent once the server answered
        token = re.search(r"token=(\S+)", confirm_path).group(1)
        ask = fetch(confirm_path)
        fetch("/en/confirm", {"token": token, "csrf_token": csrf_token(ask)})
        fetch("/en/zhanaozen/resend", {"email": ADDRESS, "csrf_token": csrf_token(page)})
        withdraw_path = _link(smtp.messages[0], "withdraw")
        withdraw_token = re.search(r"token=(\S+)", withdraw_path).group(1)
        fetch(withdraw_path)
        fetch("/en/confirm?token=broken")

    # Everything logged but the test's own SMTP server (aiosmtpd logs as "mail.log").
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "/en/confirm" in text  # the requests were logged...
    for secret in (ADDRESS, token, withdraw_token, "127.0.0.1"):
        assert secret not in text  # ...without anything personal or secret


def test_errors_and_library_logs_are_redacted_too(app, caplog):
    import logging as std_logging

    caplog.set_level(std_logging.DEBUG)
    try:
        raise ValueError(f"could not store {ADDRESS} from 203.0.113.9")
    except ValueError:
        std_logging.getLogger("campaign.mail").exception("failed for %s", ADDRESS)
    std_logging.getLogger("some.library").warning("GET /en/confirm?token=secret-token 200")
    text = "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)
    assert "ValueError" in text
    for secret in (ADDRESS, "203.0.113.9", "secret-token"):
        assert secret not in text


def test_addresses_with_any_allowed_character_are_redacted_whole(app, caplog):
    import logging as std_logging

    caplog.set_level(std_logging.INFO)
    odd = [
        "o'brien@example.org",
        "a!b#c$d%e&f*g@example.org",
        "x/y=z^w`v{u|t}s~r@example.org",
        # As a request line in a log shows an address typed into a path.
        "/en/ivan%40example.com",
    ]
    std_logging.getLogger("campaign").info("mail for %s", " and ".join(odd))
    (record,) = caplog.records
    assert record.getMessage() == "mail for " + " and ".join(["<email>"] * 4)


def test_database_errors_do_not_print_the_values(app):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from campaign.extensions import db

    with app.app_context():
        try:
            db.session.execute(text("SELECT no_such_column WHERE :email"), {"email": ADDRESS})
        except DBAPIError as error:
            assert ADDRESS not in str(error)
        else:
            raise AssertionError("the statement should fail")


def test_a_signature_withdrawn_twice_at_once_leaves_the_counts_once(app, session):
    # Two withdrawal requests (two clicks, two devices) both read the signature before
    # either erases it; the second finds it gone and changes no count.
    from sqlalchemy.orm import Session

    from campaign import erasure, moderation
    from campaign.extensions import db

    campaign = session.get(Campaign, 1)
    counted = make_signature(session, campaign, email="counted@example.org")
    removed = make_signature(session, campaign, email="removed@example.org")
    kept = make_signature(session, campaign, email="kept@example.org")
    moderation.invalidate(session, None, removed, moderation.InvalidReason.FAKE)
    moderation.invalidate(session, None, kept, moderation.InvalidReason.FAKE)
    session.commit()
    with Session(db.engine, expire_on_commit=False) as first, Session(db.engine) as second:
        stale = [second.get(Signature, s.id) for s in (counted, removed)]
        for signature_id in (counted.id, removed.id):
            erasure.erase(first, first.get(Signature, signature_id))
        first.commit()
        for signature in stale:
            erasure.erase(second, signature)
        second.commit()
    session.expire_all()
    assert counting.confirmed_count(session, 1) == 0
    assert counting.removed_by_reason(session, 1) == [("fake", 1)]


def _paper_signatures(app, session, campaign, sheet: str) -> list[Signature]:
    """The rows of ``sheet`` imported as paper signatures, as an organiser imports them."""
    from campaign import paper

    with app.test_request_context():
        paper.import_rows(session, campaign, sheet, None, max_rows=100)
    session.commit()
    return list(session.scalars(select(Signature).where(Signature.source == "paper")))


def test_paper_signatures_without_an_address_are_anonymised_after_delivery(app, runner, session):
    # Anonymised rows were found by their empty address, which a paper signature has
    # from the start: theirs were never stripped.
    campaign = session.get(Campaign, 1)
    sheet = "name,email,country,city,organisation,date\n"
    sheet += (
        "Asel Paper,,GB,Leeds,Union X,2026-03-08\nWith Mail,paper@example.org,GB,,,2026-03-08\n"
    )
    signed = _paper_signatures(app, session, campaign, sheet)
    delivery = Delivery(
        campaign_id=campaign.id,
        recipient="ITUC",
        delivered_on=utcnow() - timedelta(days=200),
        cutoff=utcnow() - timedelta(days=200),
    )
    session.add(delivery)
    session.flush()
    session.add_all(DeliveredSignature(delivery_id=delivery.id, signature_id=s.id) for s in signed)
    session.commit()
    assert "Anonymised 2 " in runner.invoke(args=["privacy", "anonymise"]).output
    session.expire_all()
    rows = [session.get(Signature, s.id) for s in signed]
    assert [(s.email, s.name, s.city, s.organisation) for s in rows] == [("", "", "", "")] * 2
    assert all(s.email_key.startswith("anonymised:") for s in rows)
    assert "Anonymised 0 " in runner.invoke(args=["privacy", "anonymise"]).output


def test_signatures_taken_out_of_the_count_long_ago_are_anonymised(app, runner, session):
    # Never to be delivered, they were kept only so that a moderator could put them back.
    from campaign import moderation
    from tests.factories import make_organiser

    campaign = session.get(Campaign, 1)
    organiser = make_organiser(session)
    fake = moderation.InvalidReason.FAKE
    old = make_signature(session, campaign, email="old.out@example.org", name="Old Out")
    new = make_signature(session, campaign, email="new.out@example.org", name="New Out")
    for signature in (old, new):
        moderation.invalidate(session, organiser, signature, fake)
    old.invalidated_at = utcnow() - timedelta(days=100)
    session.commit()
    assert "Anonymised 1 " in runner.invoke(args=["privacy", "anonymise"]).output
    session.expire_all()
    assert (session.get(Signature, old.id).email, session.get(Signature, old.id).name) == ("", "")
    assert session.get(Signature, new.id).name == "New Out"
    # Still counted among the removals, by reason.
    assert counting.removed_by_reason(session, campaign.id) == [("fake", 2)]


def test_cli_erases_a_paper_signature_by_its_id(app, runner, session, backend):
    # Without an address, the ID of the organisers' own list finds it.
    campaign = session.get(Campaign, 1)
    sheet = "name,email,country,city,organisation,date\nPaper Only,,GB,Leeds,,2026-03-08\n"
    (signed,) = _paper_signatures(app, session, campaign, sheet)
    kept = make_signature(session, campaign)
    session.commit()
    before = counting.confirmed_count(session, campaign.id)
    result = runner.invoke(args=["privacy", "erase", "--id", str(signed.id)])
    assert result.exit_code == 0, result.output
    assert "Erased 1 signature" in result.output
    session.expire_all()
    assert [s.id for s in session.scalars(select(Signature))] == [kept.id]
    assert counting.confirmed_count(session, campaign.id) == before - 1
    if backend == "sqlite":
        assert b"Paper Only" not in _database_bytes(app)
    again = runner.invoke(args=["privacy", "erase", "--id", str(signed.id)])
    assert "Erased 0 signature" in again.output
    # Both an address and an ID, or an ID that is no number, is refused.
    for args in ([ADDRESS, "--id", "1"], ["--id", "0"], ["--id", "x"]):
        assert runner.invoke(args=["privacy", "erase", *args]).exit_code == 2, args
