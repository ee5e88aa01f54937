"""Any input to the sign-in and to every organiser form ends below 500, and leaves no half.

The forms are found by walking the URL map, so a form added later is fuzzed too.
"""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from campaign import counting
from campaign.extensions import db
from campaign.models import Campaign, Signature, SignatureStatus
from tests.factories import log_in, make_organiser, make_signature, page_token

FUZZ = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Every field name the organiser forms use, plus one no form knows.
FIELDS = [
    "email", "password", "next", "code", "reason", "domain", "address", "since", "until",
    "status", "search", "page", "action", "organiser", "embassy", "body", "format", "purpose",
    "country", "new_only", "with_emails", "excel", "cutoff", "language", "delivered_on",
    "method", "export_format", "rows_hash", "notes", "sealed", "label", "unknown",
]  # fmt: skip
nasty = st.one_of(
    st.text(max_size=80),
    st.sampled_from(["", "0", "-1", "99999999999", "2026-13-45", "y", "all", "gb-london",
                     "99999999999999999999999", "9999-12-31", "0001-01-01", "9999-12-31T23:59",
                     "' OR 1=1 --", "<script>", "\x00", "\u202e", "csv", "xlsx", "pdf"]),
)  # fmt: skip
form_data = st.dictionaries(st.sampled_from(FIELDS), nasty, max_size=8)
URL_VALUES = {
    "slug": "zhanaozen",
    "signature_id": 1,
    "delivery_id": 1,
    "decision": "approve",
    "lang": "en",
    "code": "nope",
    "kind": "svg",
    "switch": "pause",
}


def _organiser_endpoints(app, method: str) -> list[str]:
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if not rule.endpoint.startswith("organisers.") or method not in rule.methods:
                continue
            if rule.endpoint in {"organisers.logout"}:
                continue
            urls.append(url_for(rule.endpoint, **{a: URL_VALUES[a] for a in rule.arguments}))
    return sorted(set(urls))


def _assert_counts_whole(app) -> None:
    with app.app_context():
        confirmed = db.session.scalar(
            select(func.count(Signature.id)).where(Signature.status == SignatureStatus.CONFIRMED)
        )
        assert counting.confirmed_count(db.session, 1) == confirmed


def test_every_organiser_form_survives_any_input(app, client, session):
    campaign = session.get(Campaign, 1)
    for n in range(3):
        make_signature(session, campaign, email=f"fuzz{n}@example.org", comment="c")
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    token = page_token(client, "/organisers/")
    posts = _organiser_endpoints(app, "POST")
    gets = _organiser_endpoints(app, "GET")
    assert len(posts) >= 10

    @FUZZ
    @given(data=form_data, upload=st.binary(max_size=300))
    def check(data, upload):
        for url in posts:
            payload = {**data, "csrf_token": token}
            if url.endswith("/paper"):
                payload["file"] = (io.BytesIO(upload), "signatures.csv")
            response = client.post(url, data=payload)
            assert response.status_code < 500, (url, response.status_code)
        for url in gets:
            response = client.get(url, query_string=data)
            assert response.status_code < 500, (url, response.status_code)

    check()
    _assert_counts_whole(app)


def test_sign_in_survives_any_input(app, client, session):
    organiser = make_organiser(session)
    session.commit()

    @FUZZ
    @given(email=nasty, password=nasty, code=nasty, nxt=nasty)
    def check(email, password, code, nxt):
        token = page_token(client, "/organisers/login")
        for address in (email, organiser.email):
            login = client.post(
                "/organisers/login",
                data={"email": address, "password": password, "next": nxt, "csrf_token": token},
            )
            assert login.status_code < 500
        second = client.post("/organisers/login/code", data={"code": code, "csrf_token": token})
        assert second.status_code < 500
        enrol = client.post("/organisers/login/enrol", data={"code": code, "csrf_token": token})
        assert enrol.status_code < 500

    check()


def test_extreme_pages_and_dates_in_listings(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    for url in (
        "/organisers/campaigns/zhanaozen/signatures?page=99999999999999999999",
        "/organisers/audit?page=99999999999999999999",
        "/organisers/audit?until=9999-12-31&since=0001-01-01",
        "/organisers/campaigns/zhanaozen/signatures?until=9999-12-31T23:59",
        "/organisers/campaigns/zhanaozen/export?until=9999-12-31",
    ):
        assert client.get(url).status_code < 500, url


def test_ids_beyond_what_a_database_holds_are_not_found(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    token = page_token(client, "/organisers/campaigns/zhanaozen/signatures")
    paths = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            ids = [name for name in rule.arguments if name.endswith("_id")]
            if rule.endpoint.startswith("organisers.") and ids:
                values = {a: URL_VALUES[a] for a in rule.arguments}
                paths.append(url_for(rule.endpoint, **values).replace("/1/", "/{}/"))
    assert len(paths) >= 4
    for path in paths:
        for number in (0, 2**31, 2**63, 10**30):
            response = client.post(path.format(number), data={"csrf_token": token})
            assert response.status_code == 404, (path, number)
