"""Rate limits on signing, re-sending and confirming; the client address behind proxies."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from campaign.extensions import db
from campaign.models import Signature
from tests.factories import csrf_token, sign_form


@pytest.fixture
def config_overrides():
    return {
        "RATELIMIT_SIGN": "3 per 2 seconds;20 per day",
        "RATELIMIT_RESEND": "2 per 2 seconds",
        "RATELIMIT_CONFIRM": "2 per 2 seconds",
    }


def _post_sign(client, n: int, **environ):
    page = client.get("/en/zhanaozen/", environ_base=environ)
    token = csrf_token(page.get_data(as_text=True))
    data = sign_form(email=f"limit{n}@example.org", csrf_token=token)
    return client.post("/en/zhanaozen/", data=data, environ_base=environ)


def test_signing_limit_is_hit_then_resets(app, client):
    codes = [_post_sign(client, n).status_code for n in range(4)]
    assert codes == [303, 303, 303, 429]
    blocked = _post_sign(client, 99)
    html = blocked.get_data(as_text=True)
    assert blocked.status_code == 429
    assert "wait" in html
    assert int(blocked.headers["Retry-After"]) >= 1
    time.sleep(2.2)
    assert _post_sign(client, 100).status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 4


def test_a_refused_signature_comes_back_with_everything_typed(app, client):
    # People behind one address (a meeting's Wi-Fi, a mobile network) share the limit:
    # the one refused must not have to type it all again.
    for n in range(3):
        _post_sign(client, n)
    page = client.get("/ru/zhanaozen/?via=branch7")
    typed = sign_form(
        email="kept@example.org",
        csrf_token=csrf_token(page.get_data(as_text=True)),
        name="Гульнар Сатпаева",
        city="Жанаозен",
        organisation="Профсоюз",
        comment="Свободу Наталье Соколовой",
        country="DE",
        display="initial",
        via="branch7",
    )
    refused = client.post("/ru/zhanaozen/", data=typed)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Cache-Control"] == "private"
    assert '<html lang="ru">' in html
    for value in ("kept@example.org", "Гульнар Сатпаева", "Жанаозен", "Профсоюз", "branch7"):
        assert f'value="{value}"' in html
    assert re.search(r">\s*Свободу Наталье Соколовой</textarea>", html)
    assert re.search(r'<option selected value="DE">|<option value="DE" selected', html)
    assert re.search(r'value="initial"[^>]*checked|checked[^>]*value="initial"', html)
    # Said in the page's language, where the form's errors are said, with focus on it.
    summary = re.search(r'<div class="error-summary"[^>]*autofocus>(.*?)</div>', html, re.S)
    assert summary and "время ожидания" in summary[1]
    # Once the wait is over, the same form, sent as it came back, signs.
    time.sleep(2.2)
    again = dict(typed, csrf_token=csrf_token(html))
    assert client.post("/ru/zhanaozen/", data=again).status_code == 303
    with app.app_context():
        emails = db.session.scalars(select(Signature.email)).all()
    assert "kept@example.org" in emails


def test_reading_the_page_is_not_limited(client):
    for _ in range(10):
        assert client.get("/en/zhanaozen/").status_code == 200


def test_the_429_page_is_in_the_pages_language(client):
    for n in range(3):
        _post_sign(client, n)
    page = client.get("/ru/zhanaozen/")
    data = sign_form(email="x@example.org", csrf_token=csrf_token(page.get_data(as_text=True)))
    blocked = client.post("/ru/zhanaozen/", data=data)
    assert blocked.status_code == 429
    assert '<html lang="ru">' in blocked.get_data(as_text=True)


def test_resend_and_confirm_are_limited(client):
    page = client.get("/en/zhanaozen/resend")
    token = csrf_token(page.get_data(as_text=True))
    codes = [
        client.post(
            "/en/zhanaozen/resend", data={"email": "a@example.org", "csrf_token": token}
        ).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    confirm = [client.post("/en/confirm", data={"token": "x"}).status_code for _ in range(3)]
    assert confirm[-1] == 429


def test_forwarded_for_is_ignored_without_trusted_proxies(client):
    codes = [
        _post_sign(client, n, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").status_code for n in range(4)
    ]
    assert codes[-1] == 429


def test_trusted_proxy_gives_each_client_its_own_limit(app, client):
    from werkzeug.middleware.proxy_fix import ProxyFix

    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)
    first = [_post_sign(client, n, HTTP_X_FORWARDED_FOR="10.0.0.1").status_code for n in range(4)]
    other = _post_sign(client, 50, HTTP_X_FORWARDED_FOR="10.0.0.2").status_code
    assert first[-1] == 429
    assert other == 303


def test_limiter_storage_holds_no_address(app, client, backend):
    _post_sign(client, 1, REMOTE_ADDR="198.51.100.23")
    if backend == "postgres":
        import redis

        from tests import services

        keys = redis.Redis.from_url(services.REDIS_URL).keys("*")
        assert keys
        assert not any(b"198.51.100.23" in key for key in keys)
    else:
        from campaign.extensions import limiter

        storage = limiter._storage
        assert storage is not None
        keys = list(getattr(storage, "storage", {}).keys())
        assert keys
        assert not any("198.51.100.23" in key for key in keys)
