"""Deliveries: recording them, what waits per embassy, packs made again, receipt look-ups."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from campaign import audit, deliveries
from campaign.models import AuditEntry, Campaign, DeliveredSignature, Delivery, SignatureStatus
from tests.factories import csrf_token, log_in, make_organiser, make_signature, page_token

DELIVERIES = "/organisers/campaigns/zhanaozen/deliveries"
RECORD = "/organisers/campaigns/zhanaozen/deliveries/record"
PACKS = "/organisers/campaigns/zhanaozen/packs"
EXPORT = "/organisers/campaigns/zhanaozen/export"
RECEIPT = "/en/zhanaozen/receipt"


@pytest.fixture
def config_overrides():
    return {"RATELIMIT_RECEIPT": "1000 per minute"}


@pytest.fixture
def signed_in(client, session):
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


@pytest.fixture
def campaign(session):
    return session.get(Campaign, 1)


def confirmed_at(signature, moment):
    signature.confirmed_at = moment
    return signature


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(data)).pages)


def manifest_of(data: bytes) -> tuple[int, str, str]:
    """Rows listed, rows hash and cutoff as printed in a pack's manifest."""
    text = pdf_text(data)
    rows = re.search(r"Rows listed ([\d,]+)", text)
    digest = re.search(r"SHA-256 of the rows ([0-9a-f]{32}) ([0-9a-f]{32})", text)
    cutoff = re.search(r"Signatures confirmed up to (\S+ \S+) UTC", text)
    assert rows and digest and cutoff, text
    return int(rows.group(1).replace(",", "")), digest.group(1) + digest.group(2), cutoff.group(1)


def make_pack(client, **fields) -> bytes:
    data = {"language": "en", "csrf_token": page_token(client, DELIVERIES)}
    data.update(fields)
    response = client.post(PACKS, data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data()


def record(client, **fields):
    data = {
        "delivered_on": "2026-06-01",
        "method": "by hand",
        "export_format": "pdf",
        # As copied from the manifest of a pack made just now.
        "cutoff": deliveries.cutoff_now().strftime(deliveries.CUTOFF_FORMAT),
        "csrf_token": page_token(client, RECORD),
    }
    data.update(fields)
    return client.post(RECORD, data=data)


def test_the_cutoff_is_copied_from_the_manifest_never_filled_in(session, signed_in, campaign):
    early = datetime(2026, 5, 1, tzinfo=UTC)
    confirmed_at(make_signature(session, campaign, country="AT"), early)
    session.commit()
    _, _, cutoff = manifest_of(make_pack(signed_in, embassy="at-vienna"))
    # Someone signs after the pack was made, before the delivery is recorded.
    late = make_signature(session, campaign, country="AT")
    session.commit()

    page = signed_in.get(RECORD + "?embassy=at-vienna").get_data(as_text=True)
    field = re.search(r'<input[^>]*name="cutoff"[^>]*>', page)[0]
    assert 'value=""' in field and "required" in field
    missing = record(signed_in, embassy="at-vienna", cutoff="")
    assert missing.status_code == 400
    assert "Copy the cutoff from the manifest" in missing.get_data(as_text=True)
    assert session.scalar(select(func.count(Delivery.id))) == 0

    assert record(signed_in, embassy="at-vienna", cutoff=cutoff).status_code == 303
    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    assert delivery.row_count == 1
    delivered = session.scalars(select(DeliveredSignature.signature_id)).all()
    assert late.id not in delivered


def test_recording_a_delivery_stores_count_hash_cutoff_and_signatures(session, signed_in, campaign):
    early = datetime(2026, 5, 1, tzinfo=UTC)
    listed = [
        confirmed_at(make_signature(session, campaign, country="AT"), early),
        confirmed_at(make_signature(session, campaign, country="SI"), early),
    ]
    confirmed_at(make_signature(session, campaign, country="AT", exclude_from_delivery=True), early)
    confirmed_at(make_signature(session, campaign, country="GB"), early)
    session.commit()

    count, digest, cutoff = manifest_of(make_pack(signed_in, embassy="at-vienna"))
    assert count == 2
    response = record(
        signed_in,
        embassy="at-vienna",
        cutoff=cutoff,
        rows_hash=digest,
        notes="Handed to the consul",
    )
    assert response.status_code == 303, response.get_data(as_text=True)

    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    vienna = deliveries.embassy_by_key(session, "at-vienna")
    assert delivery.embassy_id == vienna.id
    assert (delivery.row_count, delivery.rows_hash) == (2, digest)
    assert delivery.cutoff == datetime.fromisoformat(cutoff).replace(tzinfo=UTC)
    assert delivery.delivered_on.date().isoformat() == "2026-06-01"
    assert (delivery.method, delivery.export_format, delivery.notes) == (
        "by hand",
        "pdf",
        "Handed to the consul",
    )
    delivered = set(
        session.scalars(
            select(DeliveredSignature.signature_id).where(
                DeliveredSignature.delivery_id == delivery.id
            )
        )
    )
    assert delivered == {s.id for s in listed}

    (entry,) = session.scalars(
        select(AuditEntry).where(AuditEntry.action == audit.DELIVERY_RECORDED)
    )
    assert entry.count == 2
    assert entry.detail["rows_hash"] == digest
    assert entry.detail["embassy"] == "at-vienna"
    assert entry.organiser_id is not None

    page = signed_in.get(DELIVERIES).get_data(as_text=True)
    assert "Delivery to Embassy of the Republic of Kazakhstan in Austria recorded" in page
    row = re.search(r'<tr id="embassy-at-vienna">(.*?)</tr>', page, re.S).group(1)
    assert "2026-06-01" in row and "2 signatures" in row and digest[:12] in row


def test_a_hash_that_no_longer_matches_records_nothing(session, signed_in, campaign):
    make_signature(session, campaign, country="AT")
    session.commit()
    _count, digest, cutoff = manifest_of(make_pack(signed_in, embassy="at-vienna"))
    # A signature confirmed before the cutoff shows up after the pack was made (say, a
    # restored one): the rows no longer hash to what the manifest says.
    restored = make_signature(session, campaign, country="AT")
    restored.confirmed_at = datetime(2026, 1, 1, tzinfo=UTC)
    session.commit()
    response = record(signed_in, embassy="at-vienna", cutoff=cutoff, rows_hash=digest)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="rows_hash-error"' in html and "no longer match" in html
    session.expire_all()
    assert session.scalar(select(func.count(Delivery.id))) == 0
    assert session.scalar(select(func.count(DeliveredSignature.delivery_id))) == 0
    assert (
        session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == audit.DELIVERY_RECORDED)
        )
        == 0
    )


def test_a_signature_confirmed_in_the_cutoffs_last_second_is_in_the_pack_it_is_recorded_with(
    session, signed_in, campaign, monkeypatch
):
    # The printed cutoff is the end of the second the pack is made in. A signer who confirms
    # in the rest of that second is "up to the cutoff": the pack must list them, or a
    # delivery recorded with its cutoff would count as handed over one it never held.
    make_signature(session, campaign, country="AT", name="Early Signer")
    late = make_signature(session, campaign, country="AT", name="Late Signer", confirmed=False)
    session.commit()
    waits = []

    def confirmed_meanwhile(seconds: float) -> None:
        cutoff = deliveries.utcnow() + timedelta(seconds=seconds) - deliveries.SETTLE
        waits.append(seconds)
        late.status, late.confirmed_at = (
            SignatureStatus.CONFIRMED,
            cutoff - timedelta(milliseconds=10),
        )
        session.commit()

    monkeypatch.setattr(deliveries, "sleep", confirmed_meanwhile)
    data = make_pack(signed_in, embassy="at-vienna")
    assert len(waits) == 1 and 0 < waits[0] <= 1 + deliveries.SETTLE.total_seconds()
    count, digest, cutoff = manifest_of(data)
    assert count == 2 and "Late Signer" in pdf_text(data)
    response = record(signed_in, embassy="at-vienna", cutoff=cutoff, rows_hash=digest)
    assert response.status_code == 303
    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    assert (delivery.row_count, delivery.rows_hash) == (2, digest)


def test_a_pack_for_a_past_cutoff_does_not_wait(session, signed_in, campaign, monkeypatch):
    signature = make_signature(session, campaign, country="AT")
    signature.confirmed_at = datetime(2026, 1, 1, tzinfo=UTC)
    session.commit()
    monkeypatch.setattr(deliveries, "sleep", lambda seconds: pytest.fail("waited"))
    data = make_pack(signed_in, embassy="at-vienna", cutoff="2026-06-01 00:00:00")
    assert manifest_of(data)[0] == 1


def test_a_list_handed_over_is_recorded_with_the_cutoff_its_file_name_carries(
    session, signed_in, campaign, monkeypatch
):
    # A CSV prints no manifest: its file name carries the cutoff, and a delivery recorded
    # with it, later, holds the list's signatures and not those confirmed since.
    for name in ("First Signer", "Second Signer"):
        make_signature(session, campaign, country="AT", name=name)
    session.commit()
    monkeypatch.setattr(deliveries, "sleep", lambda seconds: None)
    data = {"format": "csv", "purpose": "delivery", "embassy": "at-vienna"}
    listed = signed_in.post(EXPORT, data={**data, "csrf_token": page_token(signed_in, EXPORT)})
    assert listed.status_code == 200
    stamp = re.search(r"-(cutoff-[\d-]+)\.csv", listed.headers["Content-Disposition"])
    assert stamp, listed.headers["Content-Disposition"]
    rows = listed.get_data(as_text=True).strip().splitlines()[1:]
    assert len(rows) == 2
    later = make_signature(session, campaign, country="AT", name="Came Later")
    later.confirmed_at = deliveries.parse_cutoff(stamp.group(1)) + timedelta(seconds=1)
    session.commit()
    response = record(signed_in, embassy="at-vienna", export_format="csv", cutoff=stamp.group(1))
    assert response.status_code == 303
    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    assert delivery.row_count == 2
    assert delivery.cutoff == deliveries.parse_cutoff(stamp.group(1))
    delivered = set(session.scalars(select(DeliveredSignature.signature_id)))
    assert later.id not in delivered and len(delivered) == 2


def test_new_since_last_delivery(session, signed_in, campaign):
    first = datetime.now(UTC) - timedelta(days=10)
    old = [
        confirmed_at(make_signature(session, campaign, country="AT", name=f"Old {i}"), first)
        for i in range(2)
    ]
    session.commit()
    cutoff = (first + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert record(signed_in, embassy="at-vienna", cutoff=cutoff).status_code == 303

    new = make_signature(session, campaign, country="SI", name="New Signer")
    make_signature(
        session, campaign, country="AT", name="New But Left Out", exclude_from_delivery=True
    )
    session.commit()

    page = signed_in.get(DELIVERIES).get_data(as_text=True)
    row = re.search(r'<tr id="embassy-at-vienna">(.*?)</tr>', page, re.S).group(1)
    waiting = re.search(r'class="number">\s*(\d+)\s*<span class="hint">\(2 in total\)', row)
    assert waiting and waiting.group(1) == "1", row

    text = pdf_text(make_pack(signed_in, embassy="at-vienna", new_only="y"))
    assert "New Signer" in text
    assert "Old 0" not in text and "Old 1" not in text
    assert "2 signatures in total, of which 1 is listed in this pack." in text
    assert "not in the previous deliveries to this recipient" in text

    listed = signed_in.post(
        EXPORT,
        data={
            "format": "csv",
            "purpose": "delivery",
            "embassy": "at-vienna",
            "new_only": "y",
            "csrf_token": page_token(signed_in, EXPORT),
        },
    ).get_data(as_text=True)
    assert "New Signer" in listed and "Old 0" not in listed

    # Recording the new pack delivers only the new signature.
    assert record(signed_in, embassy="at-vienna", new_only="y").status_code == 303
    session.expire_all()
    latest = session.scalar(select(Delivery).order_by(Delivery.id.desc()).limit(1))
    assert latest.row_count == 1
    assert set(
        session.scalars(
            select(DeliveredSignature.signature_id).where(
                DeliveredSignature.delivery_id == latest.id
            )
        )
    ) == {new.id}
    assert {s.id for s in old}.isdisjoint(
        session.scalars(
            select(DeliveredSignature.signature_id).where(
                DeliveredSignature.delivery_id == latest.id
            )
        )
    )
    vienna = deliveries.Recipient(embassy=deliveries.embassy_by_key(session, "at-vienna"))
    assert deliveries.last_delivery(session, campaign.id, vienna).id == latest.id


def test_a_signature_saved_late_is_new_for_the_next_delivery(session, signed_in, campaign):
    cutoff = datetime(2026, 5, 10, 12, tzinfo=UTC)
    first = make_signature(session, campaign, country="AT", name="On Time")
    first.confirmed_at = cutoff - timedelta(hours=1)
    session.commit()
    assert record(signed_in, embassy="at-vienna", cutoff="2026-05-10 12:00:00").status_code == 303
    # Confirmed before that cutoff, but its transaction was saved after the delivery was
    # read: it was not handed over, so it must not be taken for delivered.
    late = make_signature(session, campaign, country="AT", name="Saved Late")
    late.confirmed_at = cutoff - timedelta(seconds=1)
    left_out = make_signature(session, campaign, country="AT", exclude_from_delivery=True)
    left_out.confirmed_at = cutoff - timedelta(seconds=1)
    session.commit()

    page = signed_in.get(DELIVERIES).get_data(as_text=True)
    row = re.search(r'<tr id="embassy-at-vienna">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'class="number">\s*1\s*</td>', row), row
    text = pdf_text(make_pack(signed_in, embassy="at-vienna", new_only="y"))
    assert "Saved Late" in text and "On Time" not in text
    # The signer who left embassy lists was counted with the earlier window, not again.
    assert "1 signature in total, of which 1 is listed in this pack." in text
    assert record(signed_in, embassy="at-vienna", new_only="y").status_code == 303
    session.expire_all()
    latest = session.scalar(select(Delivery).order_by(Delivery.id.desc()).limit(1))
    assert set(
        session.scalars(
            select(DeliveredSignature.signature_id).where(
                DeliveredSignature.delivery_id == latest.id
            )
        )
    ) == {late.id}


def test_delivery_to_a_named_body_honours_opt_outs(session, signed_in, campaign):
    # A body is named in free text and may be anyone: who asked to be left out of the lists
    # handed over is counted, never listed, there as in an embassy's list.
    make_signature(
        session, campaign, country="KZ", name="Kazakh Worker", exclude_from_delivery=True
    )
    make_signature(session, campaign, country="GB", name="British Worker")
    session.commit()
    response = record(signed_in, body="ITUC", export_format="csv")
    assert response.status_code == 303
    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    assert (delivery.recipient, delivery.embassy_id, delivery.row_count) == ("ITUC", None, 1)
    page = signed_in.get(DELIVERIES).get_data(as_text=True)
    assert "ITUC" in page
    refused = record(signed_in, body="someone@ituc.example")
    assert refused.status_code == 400
    assert "not an email address" in refused.get_data(as_text=True)


def test_recording_needs_a_recipient_a_past_date_and_a_sane_cutoff(session, signed_in):
    future = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    cases = [
        ({}, "embassy-error"),
        ({"embassy": "at-vienna", "body": "ITUC"}, "body-error"),
        ({"embassy": "at-vienna", "delivered_on": future}, "delivered_on-error"),
        ({"embassy": "at-vienna", "cutoff": "yesterday"}, "cutoff-error"),
        ({"embassy": "at-vienna", "cutoff": "2999-01-01 00:00:00"}, "cutoff-error"),
        ({"embassy": "at-vienna", "rows_hash": "abc"}, "rows_hash-error"),
    ]
    for fields, error in cases:
        response = record(signed_in, **fields)
        assert response.status_code == 400, fields
        assert f'id="{error}"' in response.get_data(as_text=True), fields
    session.expire_all()
    assert session.scalar(select(func.count(Delivery.id))) == 0


def test_pack_of_a_recorded_delivery_matches_its_hash(session, signed_in, campaign):
    from campaign import moderation

    listed = [
        make_signature(session, campaign, country="AT", name=name)
        for name in ("Әсел Қайратқызы", "Наталья Соколова", "John Smith")
    ]
    make_signature(session, campaign, country="AT", name="Left Out", exclude_from_delivery=True)
    session.commit()
    assert record(signed_in, embassy="at-vienna").status_code == 303
    later = make_signature(session, campaign, country="AT", name="Came Later")
    # Taken out of the count after it was handed over: it was in the pack all the same.
    moderation.invalidate(
        session, make_organiser(session), listed[2], moderation.InvalidReason.DUPLICATE
    )
    session.commit()
    session.expire_all()
    (delivery,) = session.scalars(select(Delivery))
    assert (delivery.row_count, delivery.total) == (3, 4)
    page = signed_in.get(DELIVERIES).get_data(as_text=True)
    response = signed_in.post(
        f"/organisers/campaigns/zhanaozen/deliveries/{delivery.id}/pack",
        data={"csrf_token": csrf_token(page), "language": "en"},
    )
    assert response.status_code == 200
    count, digest, _cutoff = manifest_of(response.get_data())
    assert (count, digest) == (delivery.row_count, delivery.rows_hash)
    text = pdf_text(response.get_data())
    assert "Әсел Қайратқызы" in text and "John Smith" in text and later.name not in text
    assert "4 signatures in total, of which 3 are listed in this pack." in text
    entries = session.scalars(
        select(AuditEntry).where(AuditEntry.action == audit.PACK_EXPORTED)
    ).all()
    assert [e.detail.get("delivery_id") for e in entries] == [delivery.id]


def test_delivery_pages_need_a_signed_in_organiser(client, session, campaign):
    make_signature(session, campaign, country="AT", name="Private Person")
    session.commit()
    for url in (DELIVERIES, RECORD):
        response = client.get(url)
        assert response.status_code == 302 and "/organisers/login" in response.location
    refused = client.post(RECORD, data={"embassy": "at-vienna", "delivered_on": "2026-06-01"})
    assert refused.status_code in (400, 403)
    session.expire_all()
    assert session.scalar(select(func.count(Delivery.id))) == 0


# --- Receipts ------------------------------------------------------------------------------


def look_up(client, code: str):
    token = page_token(client, RECEIPT)
    response = client.post(RECEIPT, data={"receipt": code, "csrf_token": token})
    return response, token


def answer(html: str) -> str:
    match = re.search(
        r'<div class="notice" role="status" id="receipt-answer">(.*?)</div>', html, re.S
    )
    assert match, html
    return " ".join(match.group(1).split())


def test_receipt_shows_where_and_when_it_was_delivered(app, session, signed_in, campaign):
    delivered = make_signature(session, campaign, country="AT", name="Delivered Person")
    session.commit()
    assert record(signed_in, embassy="at-vienna", delivered_on="2026-06-01").status_code == 303
    assert record(signed_in, body="ITUC", delivered_on="2026-06-03").status_code == 303

    visitor = app.test_client()
    # Any spelling of the code: lower case, spaces instead of dashes.
    response, _token = look_up(visitor, delivered.receipt.lower().replace("-", " "))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    told = answer(html)
    assert "Embassy of the Republic of Kazakhstan in Austria on June 1, 2026" in told
    assert "ITUC on June 3, 2026" in told
    # Nothing else about the signature or its signer.
    assert "Delivered Person" not in html and "@" not in told and "AT" not in told
    # In Russian the embassy is named in Russian, as the packs name it; a body as recorded.
    token = page_token(visitor, "/ru/zhanaozen/receipt")
    russian = visitor.post(
        "/ru/zhanaozen/receipt", data={"receipt": delivered.receipt, "csrf_token": token}
    )
    told = answer(russian.get_data(as_text=True))
    assert "Посольство Республики Казахстан (Австрия)" in told
    assert "Embassy" not in told and "ITUC" in told


def test_receipt_not_delivered_and_unknown_get_the_same_answer(app, session, campaign):
    waiting = make_signature(session, campaign, country="AT")
    left_out = make_signature(session, campaign, country="AT", exclude_from_delivery=True)
    session.commit()
    vienna = deliveries.embassy_by_key(session, "at-vienna")
    deliveries.record(
        session,
        campaign,
        deliveries.DeliveryInput(
            recipient=deliveries.Recipient(embassy=vienna),
            delivered_on=datetime(2026, 6, 1).date(),
            cutoff=datetime(2020, 1, 1, tzinfo=UTC),  # before both signatures
        ),
        None,
    )
    session.commit()
    visitor = app.test_client()
    pages = []
    for code in (waiting.receipt, left_out.receipt, "ZZZZ-ZZZZ-ZZZZ"):
        response, token = look_up(visitor, code)
        assert response.status_code == 200
        pages.append(answer(response.get_data(as_text=True).replace(token, "")))
    assert pages[0] == pages[1] == pages[2]
    assert "not in any pack delivered so far" in pages[0]


def test_receipt_of_another_campaign_is_not_found(app, session, campaign):
    from tests.factories import make_campaign

    other = make_campaign(session, slug="other-cause")
    theirs = make_signature(session, other, country="AT")
    session.commit()
    deliveries.record(
        session,
        other,
        deliveries.DeliveryInput(
            recipient=deliveries.Recipient(body="ITUC"),
            delivered_on=datetime(2026, 6, 1).date(),
            cutoff=deliveries.cutoff_now(),
        ),
        None,
    )
    session.commit()
    response, _token = look_up(app.test_client(), theirs.receipt)
    assert "not in any pack delivered so far" in answer(response.get_data(as_text=True))


def test_receipt_form_errors_are_tied_to_the_field(client):
    response, _token = look_up(client, "not-a-code")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="receipt-error"' in html
    assert 'aria-describedby="receipt-hint receipt-error"' in html
    assert "twelve letters and digits" in html


def test_receipt_look_ups_are_rate_limited(app, client):
    app.config["RATELIMIT_RECEIPT"] = "2 per hour"
    token = csrf_token(client.get(RECEIPT).get_data(as_text=True))
    statuses = [
        client.post(RECEIPT, data={"receipt": "ABCD-EFGH-JKLM", "csrf_token": token}).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


def test_a_stale_form_keeps_what_was_typed_and_records_nothing(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below has its own, as when served.
    with app.app_context():
        organiser = make_organiser(db.session)
        db.session.commit()
    log_in(client, organiser)
    notes = "Handed to the consul at the gate; a photo was taken."
    response = record(
        client, embassy="at-vienna", method="in person", notes=notes, csrf_token="old"
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The form was open for too long" in html
    assert notes in html and 'value="in person"' in html
    with app.app_context():
        assert db.session.scalars(select(Delivery)).all() == []


def test_a_stale_pack_form_keeps_what_was_chosen_and_makes_nothing(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below has its own, as when served.
    with app.app_context():
        organiser = make_organiser(db.session)
        db.session.commit()
    log_in(client, organiser)
    response = client.post(
        PACKS,
        data={
            "embassy": "at-vienna",
            "language": "ru",
            "cutoff": "2026-05-01 00:00:00",
            "csrf_token": "old",
        },
    )
    assert response.status_code == 400, response.headers
    html = response.get_data(as_text=True)
    assert "The form was open for too long" in html
    assert re.search(r'<option selected value="at-vienna"|<option value="at-vienna" selected', html)
    assert 'value="2026-05-01 00:00:00"' in html
    with app.app_context():
        made = select(AuditEntry).where(AuditEntry.action == audit.PACK_EXPORTED)
        assert db.session.scalars(made).all() == []


@pytest.mark.parametrize("embassy", ["at-vienna", "*"])
def test_a_pack_with_no_signature_is_not_made_and_says_why(
    session, signed_in, campaign, runner, tmp_path, embassy
):
    from campaign.organisers.delivery_forms import EVERY_EMBASSY

    confirmed_at(make_signature(session, campaign, country="AT"), datetime(2026, 5, 2, tzinfo=UTC))
    session.commit()
    chosen = EVERY_EMBASSY if embassy == "*" else embassy
    before = {"embassy": chosen, "cutoff": "2026-05-01 00:00:00"}
    response = signed_in.post(
        PACKS, data={**before, "language": "en", "csrf_token": page_token(signed_in, DELIVERIES)}
    )
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "No signature to deliver with this choice: no pack was made." in response.get_data(
        as_text=True
    )
    assert (
        session.scalars(select(AuditEntry).where(AuditEntry.action == audit.PACK_EXPORTED)).all()
        == []
    )
    # A day later the signature is there to deliver.
    assert make_pack(signed_in, embassy=chosen, cutoff="2026-05-03 00:00:00")

    where = ["--every-embassy"] if embassy == "*" else ["--embassy", embassy]
    target = tmp_path / "pack"
    result = runner.invoke(
        args=["export", "pack", "zhanaozen", *where, "--cutoff", "2026-05-01 00:00:00",
              "-o", str(target)]
    )  # fmt: skip
    assert result.exit_code != 0
    assert "No signature to deliver with these options" in result.output
    assert not target.exists()
