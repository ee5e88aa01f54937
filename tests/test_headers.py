"""Security headers on every response: each route of the URL map, errors and static files."""

from __future__ import annotations

import pytest

from tests.factories import log_in, make_organiser

SAMPLE_VALUES = {
    "lang": "en",
    "slug": "zhanaozen",
    "code": "nope",
    "kind": "svg",
    "signature_id": 1,
    "delivery_id": 1,
    "decision": "approve",
    "filename": "site.css",
}
FRAMEABLE = {"embed.widget"}
# Images allied sites show with <img>: every other response stays same-origin.
SHARED_IMAGES = {"public.campaign_qr", "public.link_qr", "public.preview"}


@pytest.fixture
def config_overrides():
    return {"EMBED_FRAME_ANCESTORS": "https://allies.example"}


def _every_url(app) -> list[tuple[str, str]]:
    urls = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods:
                continue
            values = {name: SAMPLE_VALUES[name] for name in rule.arguments}
            urls.append((rule.endpoint, url_for(rule.endpoint, **values)))
    return urls


def _assert_secure(endpoint: str, response, *, https: bool = False) -> None:
    headers = response.headers
    policy = headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    context = (endpoint, response.status_code)
    assert directives.get("default-src") == "'none'", context
    assert directives.get("base-uri") == "'none'", context
    assert directives.get("form-action") == "'self'", context
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, context
    assert "http" not in policy.replace("https://allies.example", ""), context
    if endpoint in FRAMEABLE and response.status_code == 200:
        assert directives["frame-ancestors"] == "https://allies.example", context
        assert "X-Frame-Options" not in headers, context
    else:
        assert directives.get("frame-ancestors") == "'none'", context
        assert headers.get("X-Frame-Options") == "DENY", context
    assert headers.get("X-Content-Type-Options") == "nosniff", context
    assert headers.get("Referrer-Policy") == "no-referrer", context
    assert "camera=()" in headers.get("Permissions-Policy", ""), context
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", context
    shared = endpoint in SHARED_IMAGES and response.status_code == 200
    resource_policy = "cross-origin" if shared else "same-origin"
    assert headers.get("Cross-Origin-Resource-Policy") == resource_policy, context
    assert ("Strict-Transport-Security" in headers) is https, context
    for cookie in headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=" in cookie, (context, cookie)
        assert ("Secure" in cookie) is https, (context, cookie)


def test_every_route_anonymous(app, client):
    urls = _every_url(app)
    assert len(urls) > 30
    for endpoint, url in urls:
        _assert_secure(endpoint, client.get(url))


def test_every_route_signed_in(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    for endpoint, url in _every_url(app):
        if endpoint.startswith("organisers."):
            _assert_secure(endpoint, client.get(url))


def test_errors_static_files_and_https(app, client):
    _assert_secure("404", client.get("/en/no-such-campaign/"))
    _assert_secure("405", client.put("/en/zhanaozen/"))
    _assert_secure("static", client.get("/static/site.css"))
    over_https = client.get("/en/zhanaozen/", base_url="https://petition.test")
    _assert_secure("public.campaign", over_https, https=True)
    assert over_https.headers.getlist("Set-Cookie")


def test_qr_codes_and_previews_may_be_shown_by_other_sites(app, client, session):
    from sqlalchemy import select

    from campaign import sharing
    from campaign.models import Campaign

    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Allied site")
    session.commit()
    for path in (
        "/ru/zhanaozen/qr.png",
        "/ru/zhanaozen/qr.svg",
        f"/ru/s/{link.code}/qr.png",
        f"/ru/s/{link.code}/qr.svg",
        "/ru/zhanaozen/preview.png",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin", path
    # Everything else, the flyer and a missing image included, stays with this site.
    for path in (
        "/ru/zhanaozen/",
        "/ru/zhanaozen/flyer.pdf",
        "/ru/s/nope/qr.png",
        "/static/site.css",
    ):
        assert client.get(path).headers["Cross-Origin-Resource-Policy"] == "same-origin", path
