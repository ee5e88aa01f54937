"""Any input to the public forms ends in a 2xx, 3xx or 4xx, and nothing is half-written."""

from __future__ import annotations

import io
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from campaign.extensions import db
from campaign.models import Signature
from tests.factories import csrf_token, sign_form

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Any text, with the characters that cause trouble made likely.
nasty = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(["\u202e", "\u200b", "\x00", "\r", "\n", "'", '"', "<", ">", "=", "%"]),
    ),
    max_size=300,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "name": nasty,
        "email": st.one_of(nasty, st.emails().map(str)),
        "country": st.one_of(nasty, st.sampled_from(["KZ", "GB", "RU", "", "ZZ"])),
        "city": nasty,
        "organisation": nasty,
        "comment": nasty,
        "display": st.one_of(nasty, st.sampled_from(["full", "initial", "hidden"])),
        "exclude_from_delivery": nasty,
        "wants_updates": nasty,
        "via": nasty,
        "website": st.one_of(st.just(""), nasty),
    },
)


def _visible(text: str) -> bool:
    return all(unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Co", "Cn"} for ch in text)


def _assert_whole(app) -> None:
    with app.app_context():
        for signature in db.session.scalars(select(Signature)):
            assert signature.name and _visible(signature.name)
            assert "@" in signature.email
            assert len(signature.country) == 2
            assert signature.display in {"full", "initial", "hidden"}
            assert _visible(signature.city) and _visible(signature.organisation)
            assert signature.receipt


def test_sign_form_never_fails_on_any_input(app, client):
    token = csrf_token(client.get("/en/zhanaozen/").get_data(as_text=True))

    @FUZZ
    @given(data=fields, lang=st.sampled_from(["en", "ru", "kk"]))
    def check(data, lang):
        response = client.post(f"/{lang}/zhanaozen/", data={**data, "csrf_token": token})
        assert response.status_code < 500, response.get_data(as_text=True)[:500]

    check()
    _assert_whole(app)


def test_resend_and_confirmation_never_fail_on_any_input(client):
    page = client.get("/en/zhanaozen/resend")
    token = csrf_token(page.get_data(as_text=True))

    @FUZZ
    @given(email=nasty, confirm_token=nasty)
    def check(email, confirm_token):
        resend = client.post("/en/zhanaozen/resend", data={"email": email, "csrf_token": token})
        assert resend.status_code < 500
        shown = client.get("/en/confirm", query_string={"token": confirm_token})
        assert shown.status_code < 500
        posted = client.post("/en/confirm", data={"token": confirm_token, "csrf_token": token})
        assert posted.status_code < 500
        withdraw = client.post("/en/withdraw", data={"token": confirm_token, "csrf_token": token})
        assert withdraw.status_code < 500

    check()


def test_names_keep_their_letters_in_every_script(app, client):
    token = csrf_token(client.get("/en/zhanaozen/").get_data(as_text=True))
    names = ["Әсел Қайратқызы", "Наталья Соколова", "محمد", "李小龍", "Ōkubo Zoë-Çelik"]
    for n, name in enumerate(names):
        data = sign_form(name=f"\u202e{name}\u200b", email=f"s{n}@example.org", csrf_token=token)
        assert client.post("/en/zhanaozen/", data=data).status_code == 303
    with app.app_context():
        stored = [s.name for s in db.session.scalars(select(Signature).order_by(Signature.id))]
    assert stored == names


def test_oversized_request_gets_a_clear_413(client):
    response = client.post("/en/zhanaozen/", data={"comment": "x" * 100_000})
    assert response.status_code == 413
    assert "Too much data" in response.get_data(as_text=True)


def test_nul_characters_are_refused_cleanly(client):
    token = csrf_token(client.get("/en/zhanaozen/").get_data(as_text=True))
    data = sign_form(csrf_token=token, via="abc\x00")
    assert client.post("/en/zhanaozen/", data=data).status_code == 400
    assert client.get("/en/zhanaozen/", query_string={"via": "\x00"}).status_code == 400
    assert client.get("/en/zhanaozen/").status_code == 200


def test_nul_characters_are_refused_in_a_body_of_unknown_length_too(app, client):
    # A body sent in chunks has no Content-Length; the server marks it complete instead.
    import io
    from urllib.parse import urlencode

    token = csrf_token(client.get("/en/zhanaozen/").get_data(as_text=True))
    body = urlencode(sign_form(csrf_token=token, via="abc\x00")).encode()
    response = client.post(
        "/en/zhanaozen/",
        input_stream=io.BytesIO(body),
        content_type="application/x-www-form-urlencoded",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    from campaign.extensions import db
    from campaign.models import Signature

    with app.app_context():
        assert db.session.query(Signature).count() == 0


def test_a_value_the_database_refuses_is_a_400(app):
    from sqlalchemy.exc import DataError

    def refuse():
        raise DataError("INSERT ...", {}, ValueError("value too long"))

    app.add_url_rule("/refused-by-the-database", view_func=refuse)
    response = app.test_client().get("/refused-by-the-database")
    assert response.status_code == 400
    assert "Something in the request was wrong" in response.get_data(as_text=True)


PUBLIC_FORMS = [
    ("/en/zhanaozen/", "name"),
    ("/en/zhanaozen/", "email"),
    ("/en/zhanaozen/", "via"),
    ("/en/zhanaozen/resend", "email"),
    ("/en/zhanaozen/receipt", "receipt"),
    ("/en/zhanaozen/links", "label"),
    ("/en/confirm", "token"),
    ("/organisers/login", "email"),
]


@pytest.mark.parametrize(("path", "field"), PUBLIC_FORMS)
def test_a_file_sent_for_a_text_field_is_a_clear_error(client, path, field):
    # A form without a file field reads text fields only; a file under a text field's
    # name is as if the field had been left empty.
    page = client.get(path if path != "/en/confirm" else "/en/zhanaozen/")
    token = csrf_token(page.get_data(as_text=True))
    data = {**sign_form(csrf_token=token), field: (io.BytesIO(b"%PDF-1.4"), "notes.pdf")}
    response = client.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code in {200, 303, 400}, response.status_code
    if path == "/en/zhanaozen/" and field != "via":
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert "This field is required" in page or "required" in page.lower()
        # What was typed in the other fields is kept.
        assert "Aktau" in page


@pytest.mark.parametrize(
    "path", ["/en/zhanaozen/", "/en/zhanaozen/thanks", "/ru/zhanaozen/embassies", "/en/confirm"]
)
def test_raw_bytes_in_a_query_string_never_fail(client, path):
    # As only a hand-made request sends them: WSGI gives each byte as one character.
    for query in ("via=\xff\xfe", "country=K\xffZ", "token=\x80", "x=\xd0\xb0"):
        response = client.get(path, environ_overrides={"QUERY_STRING": query})
        assert response.status_code < 500, (query, response.status_code)
    # A valid letter sent raw reads as itself, as if the browser had percent-encoded it.
    page = client.get("/en/zhanaozen/", environ_overrides={"QUERY_STRING": "via=\xd0\xb0b"})
    assert 'name="via" type="hidden" value="\u0430b"' in page.get_data(as_text=True)


@pytest.mark.parametrize(
    ("url", "title"),
    [
        ("/ru/no-such-campaign/", "Страница не найдена (404) · Петиция"),
        ("/kk/no-such-campaign/", "Бет табылмады (404) · Петиция"),
        ("/en/no-such-campaign/", "Page not found (404) · Petition"),
    ],
)
def test_error_pages_name_the_error_in_their_title(client, url, title):
    # The tab and a screen reader announce the title first: a bare number says nothing.
    response = client.get(url)
    assert response.status_code == 404
    assert f"<title>{title}</title>" in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "field"), PUBLIC_FORMS)
@pytest.mark.parametrize("body", ["[1]", "true", "7", '{"name": {"a": 1}, "email": ["x"]}', "{"])
def test_a_json_body_is_no_form(app, client, path, field, body):
    # Flask-WTF would read JSON as form data, with values that are not text.
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400, response.status_code
    with app.app_context():
        assert db.session.scalars(select(Signature)).all() == []


@pytest.mark.parametrize("host", ["a" * 64, "a..b"])
def test_a_host_no_address_can_be_built_for_is_a_plain_400(client, host):
    for method, path in [("GET", "/en/privacy"), ("POST", "/en/zhanaozen/"), ("GET", "/nope")]:
        response = client.open(path, method=method, headers={"Host": host})
        assert response.status_code in {400, 404}, (path, response.status_code)
        assert response.mimetype == "text/plain"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", '{"name": ', [400, 429, 429]),
        # Too large to read even to find out whether it asks only for another language.
        ("application/x-www-form-urlencoded", "x=" + "a" * 70000, [413, 413, 413]),
    ],
)
def test_a_post_that_cannot_be_read_is_refused_cleanly(app, client, content_type, body, expected):
    app.config.update(RATELIMIT_SIGN="1 per minute", MAX_FORM_MEMORY_SIZE=60000)
    statuses = [
        client.post("/en/zhanaozen/", data=body, content_type=content_type).status_code
        for _ in range(3)
    ]
    assert statuses == expected
