"""What the sign form tells a supporter, and its page in another language after a POST."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import Signature
from tests.factories import csrf_token, sign_form


@pytest.fixture
def config_overrides():
    return {"RATELIMIT_SIGN": "2 per minute", "RATELIMIT_LANGUAGE_SWITCH": "4 per minute"}


def _signatures(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Signature.id)))


def test_the_form_says_what_the_lists_handed_over_carry(client):
    html = client.get("/en/zhanaozen/").get_data(as_text=True)
    assert "How may your name appear on this page and in the lists handed over?" in html
    for field in ("city", "organisation"):
        hint = re.search(rf'<p class="hint" id="{field}-hint">([^<]+)</p>', html)
        assert hint and "lists handed over" in hint[1]
        assert re.search(rf'<input[^>]*aria-describedby="{field}-hint"[^>]*id="{field}"', html)
    # The rule of "first name and initial", for names written surname first.
    assert "first word of the name you typed" in html
    assert html.count('aria-describedby="display-hint name-preview"') == 3


def test_a_mistake_keeps_the_hints_and_names_the_error(client):
    page = client.get("/en/zhanaozen/").get_data(as_text=True)
    data = sign_form(csrf_token=csrf_token(page), city="x" * 101)
    html = client.post("/en/zhanaozen/", data=data).get_data(as_text=True)
    field = re.search(r'<input[^>]*id="city"[^>]*>', html)[0]
    assert 'aria-describedby="city-hint city-error"' in field and 'aria-invalid="true"' in field


def test_after_a_post_each_language_sends_the_form_again(client):
    page = client.get("/en/zhanaozen/?via=").get_data(as_text=True)
    sent = sign_form(csrf_token=csrf_token(page), email="nope", city="Ақтау")
    html = client.post("/en/zhanaozen/", data=sent).get_data(as_text=True)
    nav = re.search(r'<nav class="languages".*?</nav>', html, re.S)[0]
    assert '<strong lang="en" aria-current="true">English</strong>' in nav
    for code in ("ru", "kk"):
        # A form of its own, not a button of the sign form: Enter in the sign form must
        # press the sign form's own button, the first of its buttons.
        switch = re.search(
            rf'<form method="post" class="switch-language" lang="{code}"\s+'
            rf'action="/{code}/zhanaozen/">(.*?)</form>',
            nav,
            re.S,
        )
        assert switch, nav
        carried = dict(
            re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', switch[1])
        )
        assert carried == {k: v for k, v in sent.items() if k != "website"}
        assert f'name="switch_language" value="{code}"' in switch[1]
    assert "form=" not in html
    # A page read by GET keeps plain links.
    assert 'href="/ru/zhanaozen/"' in client.get("/en/zhanaozen/").get_data(as_text=True)


def test_switching_language_shows_the_form_as_typed_and_neither_signs_nor_counts(app, client):
    page = client.get("/en/zhanaozen/").get_data(as_text=True)
    typed = sign_form(
        csrf_token=csrf_token(page),
        name="Гульнар Сатпаева",
        email="gulnar@example.org",
        city="Жанаозен",
        display="initial",
        switch_language="kk",
    )
    # More than the limit of two a minute: asking for a language is not signing.
    for _ in range(3):
        response = client.post("/kk/zhanaozen/", data=typed)
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert '<html lang="kk">' in html
        assert response.headers["Cache-Control"] == "private"
        for value in ("Гульнар Сатпаева", "gulnar@example.org", "Жанаозен"):
            assert f'value="{value}"' in html
        assert re.search(r'value="initial"[^>]*checked|checked[^>]*value="initial"', html)
        assert "error-summary" not in html
    assert _signatures(app) == 0
    # The language chosen is remembered, as when a link is followed.
    assert client.get_cookie("lang").value == "kk"
    # Switching has a limit of its own, looser than signing's: the page is rendered anew.
    assert client.post("/kk/zhanaozen/", data=typed).status_code == 200
    refused = client.post("/kk/zhanaozen/", data=typed)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    # Not told that many signatures were sent; what was sent is kept, ready to send again.
    assert "send-again" in html and 'value="Гульнар Сатпаева"' in html
    assert "error-summary" not in html

    # Then the form signs, and is limited, as ever.
    del typed["switch_language"]
    statuses = [client.post("/kk/zhanaozen/", data=typed).status_code for _ in range(3)]
    assert statuses == [303, 303, 429]
    assert _signatures(app) == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/ru/zhanaozen/nothing", 404), ("PUT", "/kk/zhanaozen/", 405)],
)
def test_an_error_page_is_in_the_language_of_its_address(client, method, path, status):
    response = client.open(path, method=method, headers={"Accept-Language": "en"})
    assert response.status_code == status
    lang = path.split("/")[1]
    assert f'<html lang="{lang}">' in response.get_data(as_text=True)


def test_a_refused_form_says_so_in_its_title(client):
    page = client.get("/en/zhanaozen/").get_data(as_text=True)
    token = csrf_token(page)
    for n in range(2):
        client.post("/en/zhanaozen/", data=sign_form(csrf_token=token, email=f"t{n}@example.org"))
    refused = client.post("/en/zhanaozen/", data=sign_form(csrf_token=token))
    assert refused.status_code == 429
    assert re.search(r"<title>Error: ", refused.get_data(as_text=True))


def test_the_email_says_what_becomes_of_a_signature_left_unconfirmed(app, client, smtp):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, PENDING_MAX_AGE_DAYS=9)
    page = client.get("/ru/zhanaozen/").get_data(as_text=True)
    client.post("/ru/zhanaozen/", data=sign_form(csrf_token=csrf_token(page)))
    text = " ".join(smtp.wait_for(1)[0].get_content().split())
    assert (
        "без подтверждения от вашего имени ничего не учитывается, "
        "а неподтверждённая подпись удаляется через 9 дней" in text  # noqa: RUF001
    )


@pytest.mark.parametrize("path", ["/en/zhanaozen/thanks?country=GB", "/en/embassies/?country=GB"])
def test_where_an_embassy_is_suggested_the_risk_is_said_once(client, path):
    html = client.get(path).get_data(as_text=True)
    assert "Embassy of the Republic of Kazakhstan" in html
    assert html.count("Protest only where it is safe and lawful for you") == 1


@pytest.mark.parametrize(
    ("lang", "dated"),
    [
        ("en", "written in the weeks after 16 December 2011"),
        ("ru", "написан в первые недели после 16 декабря 2011 года"),
        ("kk", "2011 жылғы 16 желтоқсаннан кейінгі алғашқы апталарда"),
    ],
)
def test_the_account_says_when_it_was_written(client, lang, dated):
    assert dated in client.get(f"/{lang}/zhanaozen/").get_data(as_text=True)


def _hidden(html: str) -> dict[str, str]:
    form = re.search(
        r'<form method="post" action="([^"]+)" class="send-again">(.*?)</form>', html, re.S
    )
    assert form, html
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form[2]))


def test_a_busy_database_answers_with_what_was_typed_ready_to_send_again(app, client, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from campaign import signing

    def database_busy(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(signing, "sign", database_busy)
    page = client.get("/ru/zhanaozen/").get_data(as_text=True)
    typed = sign_form(csrf_token=csrf_token(page), name="Гульнар Сатпаева", comment="Свободу!")
    response = client.post("/ru/zhanaozen/", data=typed)
    html = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"
    assert '<html lang="ru">' in html
    assert _hidden(html) == typed
    assert 'action="/ru/zhanaozen/"' in html

    monkeypatch.undo()
    again = client.post("/ru/zhanaozen/", data=_hidden(html))
    assert again.status_code == 303
    assert _signatures(app) == 1


def test_a_limited_public_form_comes_back_ready_to_send_again(app, client):
    app.config["RATELIMIT_RESEND"] = "1 per minute"
    page = client.get("/en/zhanaozen/resend").get_data(as_text=True)
    typed = {"email": "someone@example.org", "csrf_token": csrf_token(page)}
    assert client.post("/en/zhanaozen/resend", data=typed).status_code == 200
    refused = client.post("/en/zhanaozen/resend", data=typed)
    assert refused.status_code == 429
    assert refused.headers["Cache-Control"] == "no-store"
    assert _hidden(refused.get_data(as_text=True)) == typed


def test_an_organisers_form_is_never_sent_back_in_the_page(app, client):
    app.config["RATELIMIT_LOGIN"] = "1 per minute"
    page = client.get("/organisers/login").get_data(as_text=True)
    typed = {
        "email": "o@example.org",
        "password": "a secret pass phrase",
        "csrf_token": csrf_token(page),
    }
    client.post("/organisers/login", data=typed)
    refused = client.post("/organisers/login", data=typed)
    assert refused.status_code == 429
    html = refused.get_data(as_text=True)
    assert "send-again" not in html and "a secret pass phrase" not in html
