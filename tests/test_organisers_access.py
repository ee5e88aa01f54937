"""Every organiser route refuses anonymous use; sessions expire when idle and end everywhere."""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select
from werkzeug.routing import AnyConverter, IntegerConverter

from campaign.models import AuditEntry, Campaign, Signature, SignatureStatus
from campaign.organisers.access import OPEN_ENDPOINTS, after_sign_in_target
from tests.factories import (
    ORGANISER_PASSWORD,
    csrf_token,
    log_in,
    make_organiser,
    make_signature,
    page_token,
    totp_code,
)

DASHBOARD = "/organisers/campaigns/zhanaozen/"


def organiser_routes(app):
    """Every (path, method) of the organisers' blueprint, with sample values in the path."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("organisers."):
            continue
        values = {}
        for name, converter in rule._converters.items():
            if isinstance(converter, IntegerConverter):
                values[name] = 1
            elif isinstance(converter, AnyConverter):
                values[name] = sorted(converter.items)[0]
            else:
                values[name] = "zhanaozen"
        with app.test_request_context():
            from flask import url_for

            path = url_for(rule.endpoint, **values)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, path, method))
    return routes


def state(session):
    """What an action could change: signature states, audit entries."""
    session.expire_all()
    return (
        sorted(session.execute(select(Signature.id, Signature.status, Signature.comment_status))),
        session.scalar(select(func.count(AuditEntry.id))),
    )


@pytest.mark.parametrize("csrf", [False, True], ids=["csrf-off", "csrf-on"])
def test_every_organiser_route_refuses_an_anonymous_client(app, session, csrf):
    app.config["WTF_CSRF_ENABLED"] = csrf
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, comment="A comment")
    make_signature(session, campaign, confirmed=False)
    session.commit()
    before = state(session)

    routes = organiser_routes(app)
    endpoints = {endpoint for endpoint, _, _ in routes}
    # The walk covers the pages and the actions, not only the sign-in steps.
    assert {
        "organisers.index",
        "organisers.campaign_dashboard",
        "organisers.invalidate_matching",
        "organisers.decide_comment",
        "organisers.audit_log",
        "organisers.logout",
    } <= endpoints
    assert endpoints >= OPEN_ENDPOINTS

    client = app.test_client()
    checked = 0
    for endpoint, path, method in routes:
        if endpoint in OPEN_ENDPOINTS:
            continue
        response = client.open(path, method=method, data={"reason": "fake"})
        checked += 1
        if method == "GET":
            assert response.status_code == 302, (endpoint, method)
            assert response.location.startswith("/organisers/login"), endpoint
        else:
            # Without CSRF the guard answers 403; with it, the missing token stops it first.
            expected = {403} if not csrf else {400, 403}
            assert response.status_code in expected, (endpoint, method, response.status_code)
        assert "Signer" not in response.get_data(as_text=True), endpoint
    assert checked >= 10
    assert state(session) == before


def test_only_the_sign_in_steps_are_open(app):
    open_ones = {"organisers.login", "organisers.second_factor", "organisers.enrol"}
    assert open_ones == OPEN_ENDPOINTS
    client = app.test_client()
    assert client.get("/organisers/login").status_code == 200
    # The code steps without a password first send the visitor back to the start.
    for path in ("/organisers/login/code", "/organisers/login/enrol"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.location.endswith("/organisers/login")


def test_password_without_code_opens_nothing(app, session):
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    page = client.get("/organisers/login")
    response = client.post(
        "/organisers/login",
        data={
            "email": organiser.email,
            "password": ORGANISER_PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert response.status_code == 303
    assert response.location.endswith("/organisers/login/code")
    assert client.get(DASHBOARD).status_code == 302
    assert client.get("/organisers/audit").status_code == 302


def test_a_page_asked_for_is_opened_after_sign_in_but_only_on_this_site(app, session):
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    response = client.get(DASHBOARD)
    assert response.location == "/organisers/login?next=/organisers/campaigns/zhanaozen/"
    page = client.get(response.location).get_data(as_text=True)
    assert 'name="next" type="hidden" value="/organisers/campaigns/zhanaozen/"' in page
    response = client.post(
        "/organisers/login",
        data={
            "email": organiser.email,
            "password": ORGANISER_PASSWORD,
            "next": DASHBOARD,
            "csrf_token": csrf_token(page),
        },
    )
    assert response.location == "/organisers/login/code?next=/organisers/campaigns/zhanaozen/"
    page = client.get(response.location).get_data(as_text=True)
    response = client.post(
        "/organisers/login/code",
        data={"code": totp_code(organiser), "next": DASHBOARD, "csrf_token": csrf_token(page)},
    )
    assert response.status_code == 303
    assert response.location == DASHBOARD

    with app.test_request_context():
        assert after_sign_in_target("/organisers/audit?action=x") == "/organisers/audit?action=x"
        for bad in ("//evil.example/", "https://evil.example/", "/en/zhanaozen/", "/organisers\\x"):
            assert after_sign_in_target(bad) == "/organisers/"
        assert after_sign_in_target(None) == "/organisers/"


def test_session_cookie_is_http_only_and_same_site_and_pages_are_not_cached(app, session):
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    response = log_in(client, organiser)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"


def test_idle_session_expires(app, session):
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    log_in(client, organiser)
    assert client.get(DASHBOARD).status_code == 200

    with client.session_transaction() as cookie:
        cookie["organiser_seen"] = int(time.time()) - 29 * 60
    assert client.get(DASHBOARD).status_code == 200
    # That request was activity: the idle clock starts again.
    with client.session_transaction() as cookie:
        assert int(time.time()) - cookie["organiser_seen"] < 60
        cookie["organiser_seen"] = int(time.time()) - 31 * 60
    response = client.get(DASHBOARD)
    assert response.status_code == 302
    assert response.location.startswith("/organisers/login")
    # The expired session is forgotten, not revived by later requests.
    with client.session_transaction() as cookie:
        assert "organiser_id" not in cookie
    assert client.get(DASHBOARD).status_code == 302


def test_idle_limit_follows_the_setting_and_sessions_have_a_longest_life(app, session):
    app.config["ORGANISER_IDLE_MINUTES"] = 5
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    log_in(client, organiser)
    with client.session_transaction() as cookie:
        cookie["organiser_seen"] = int(time.time()) - 6 * 60
    assert client.get(DASHBOARD).status_code == 302

    log_in(client, organiser)
    with client.session_transaction() as cookie:
        cookie["organiser_since"] = int(time.time()) - 13 * 3600
    assert client.get(DASHBOARD).status_code == 302


def test_logout_ends_every_session_of_that_organiser(app, session):
    organiser = make_organiser(session)
    other = make_organiser(session)
    session.commit()
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    for client, who in ((laptop, organiser), (phone, organiser), (colleague, other)):
        assert log_in(client, who).status_code == 303
        assert client.get(DASHBOARD).status_code == 200

    assert laptop.post("/organisers/logout").status_code in (400, 403)  # no token: refused
    assert phone.get(DASHBOARD).status_code == 200
    token = page_token(laptop, "/organisers/")
    response = laptop.post("/organisers/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert laptop.get(DASHBOARD).status_code == 302
    assert phone.get(DASHBOARD).status_code == 302
    assert colleague.get(DASHBOARD).status_code == 200
    session.expire_all()
    assert (
        session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "logout")) == 1
    )


def test_disabling_or_resetting_in_the_service_ends_sessions(app, session):
    from campaign import accounts

    first, second = make_organiser(session), make_organiser(session)
    session.commit()
    one, two = app.test_client(), app.test_client()
    log_in(one, first)
    log_in(two, second)
    accounts.disable(session, first.email)
    accounts.reset_password(session, second.email, "a brand new passphrase", min_length=12)
    session.commit()
    assert one.get(DASHBOARD).status_code == 302
    assert two.get(DASHBOARD).status_code == 302


def test_invalidated_status_is_not_reachable_by_a_forged_session(app, session):
    # A session cookie is signed: one made up without the secret key opens nothing.
    target = make_signature(session, session.get(Campaign, 1))
    session.commit()
    client = app.test_client()
    client.set_cookie("session", "eyJvcmdhbmlzZXJfaWQiOjF9.forged.signature")
    response = client.post(
        f"/organisers/campaigns/zhanaozen/signatures/{target.id}/invalidate",
        data={"reason": "fake"},
    )
    assert response.status_code in (400, 403)
    session.expire_all()
    assert session.get(Signature, target.id).status == SignatureStatus.CONFIRMED


# -- roles ------------------------------------------------------------------------------


def test_a_moderator_cannot_open_or_use_any_page_that_hands_data_over(app, session, client):
    from flask import current_app

    from campaign.models import Role
    from campaign.organisers.access import HANDING_OVER

    moderator = make_organiser(session, role=Role.MODERATOR)
    make_signature(session, session.get(Campaign, 1), name="Listed Person")
    session.commit()
    log_in(client, moderator)
    token = page_token(client, DASHBOARD)
    with app.app_context():
        handing_over = {
            endpoint
            for endpoint, view in current_app.view_functions.items()
            if view.__module__ == HANDING_OVER
        }
    # Every page that hands data over is in that module (a decorator that lost the view's
    # module would open it to moderators).
    hand_over_paths = ("/export", "/packs", "/deliveries", "/paper", "/pack")
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("organisers.") and any(p in rule.rule for p in hand_over_paths):
            assert rule.endpoint in handing_over, rule.rule
    before = state(session)
    tried = 0
    for endpoint, path, method in organiser_routes(app):
        if endpoint not in handing_over:
            continue
        data = {"csrf_token": token, "purpose": "organisers", "with_emails": "y", "format": "csv"}
        response = client.open(path, method=method, data=data if method == "POST" else None)
        assert response.status_code == 403, (path, method)
        assert "Listed Person" not in response.get_data(as_text=True)
        tried += 1
    assert tried >= len(handing_over)
    assert state(session) == before
    # What a moderator is for stays open, and the navigation offers nothing else.
    page = client.get(DASHBOARD)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/organisers/campaigns/zhanaozen/comments" in html
    for hidden in ("/export", "/deliveries", "/paper"):
        assert f'/organisers/campaigns/zhanaozen{hidden}"' not in html
    listing = client.get("/organisers/campaigns/zhanaozen/signatures")
    assert listing.status_code == 200
    # Addresses are for those who may hand data over; a moderator sees a domain only when
    # enough signatures share it, which this one signature's does not.
    listed = listing.get_data(as_text=True)
    (address,) = session.scalars(select(Signature.email)).all()
    assert address not in listed
    assert f"…@{address.rpartition('@')[2]}" not in listed
    assert "…@…" in listed
    assert client.get("/organisers/audit").status_code == 200


def test_roles_are_given_and_changed_from_the_command_line(app, runner, session, client):
    from campaign.models import Organiser, Role

    made = runner.invoke(
        args=["organisers", "create", "new@example.org", "--password", ORGANISER_PASSWORD]
    )
    assert "Created moderator new@example.org" in made.output, made.output
    session.expire_all()
    new = session.scalar(select(Organiser).where(Organiser.email == "new@example.org"))
    assert new.role == Role.MODERATOR  # the least power unless asked for more

    coordinator = make_organiser(session, "c@example.org", role=Role.COORDINATOR)
    session.commit()
    log_in(client, coordinator)
    assert client.get("/organisers/campaigns/zhanaozen/export").status_code == 200
    changed = runner.invoke(args=["organisers", "set-role", "c@example.org", "moderator"])
    assert "c@example.org is a moderator" in changed.output, changed.output
    # The change ends their sessions: the next request asks them to sign in again.
    assert client.get("/organisers/campaigns/zhanaozen/export").status_code == 302
    log_in(client, coordinator)
    assert client.get("/organisers/campaigns/zhanaozen/export").status_code == 403
    listed = runner.invoke(args=["organisers", "list"]).output
    assert "c@example.org\t-\tmoderator\t" in listed
    assert "new@example.org\t-\tmoderator\t" in listed
    refused = runner.invoke(args=["organisers", "set-role", "c@example.org", "owner"])
    assert refused.exit_code != 0
    actions = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert "role_changed" in actions


# -- a session that ended while a page was open -------------------------------------------

EXPORT = "/organisers/campaigns/zhanaozen/export"
SESSION_ENDED = "Your session has ended. Please sign in again."


def go_idle(client) -> None:
    with client.session_transaction() as cookie:
        cookie["organiser_seen"] = int(time.time()) - 31 * 60


def sign_in_from(client, organiser, login_page: str):
    """Sign in on the page the organiser was sent to; the response of the code step."""
    page = client.get(login_page).get_data(as_text=True)
    next_field = re.search(r'name="next" type="hidden" value="([^"]*)"', page)
    assert next_field, page
    response = client.post(
        "/organisers/login",
        data={
            "email": organiser.email,
            "password": ORGANISER_PASSWORD,
            "next": html.unescape(next_field.group(1)),
            "csrf_token": csrf_token(page),
        },
    )
    code_page = client.get(response.location).get_data(as_text=True)
    return client.post(
        response.location,
        data={
            "code": totp_code(organiser),
            "next": html.unescape(next_field.group(1)),
            "csrf_token": csrf_token(code_page),
        },
    )


def test_an_idle_organiser_sending_a_form_is_asked_to_sign_in_and_brought_back(app, session):
    app.config["WTF_CSRF_ENABLED"] = True
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    log_in(client, organiser)
    token = page_token(client, EXPORT)
    before = state(session)
    go_idle(client)

    response = client.post(EXPORT, data={"csrf_token": token, "format": "csv"})
    assert response.status_code == 303
    assert response.location == "/organisers/login?next=/organisers/campaigns/zhanaozen/export"
    page = client.get(response.location).get_data(as_text=True)
    assert SESSION_ENDED in page
    assert "This request cannot be completed" not in page
    assert 'name="next" type="hidden" value="/organisers/campaigns/zhanaozen/export"' in page
    # Said once, not on every later visit.
    assert SESSION_ENDED not in client.get("/organisers/login").get_data(as_text=True)
    assert state(session) == before  # nothing was exported, nothing audited

    back = sign_in_from(client, organiser, response.location)
    assert back.status_code == 303
    assert back.location == EXPORT
    assert client.get(EXPORT).status_code == 200


def test_a_page_opened_after_the_session_ended_says_so(app, session):
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    # A first visit is asked to sign in, and told nothing about a session.
    first = client.get(DASHBOARD)
    assert SESSION_ENDED not in client.get(first.location).get_data(as_text=True)

    log_in(client, organiser)
    go_idle(client)
    response = client.get(DASHBOARD + "?lang=ru")
    assert response.status_code == 302
    assert response.location == "/organisers/login?next=/organisers/campaigns/zhanaozen/?lang%3Dru"
    assert SESSION_ENDED in client.get(response.location).get_data(as_text=True)


def test_a_form_whose_session_cookie_is_gone_leads_to_sign_in_not_to_an_error(app, session):
    # The browser was closed and opened again: the cookie, and the token's session, are gone.
    app.config["WTF_CSRF_ENABLED"] = True
    organiser = make_organiser(session)
    target = make_signature(session, session.get(Campaign, 1), name="Kept Person")
    session.commit()
    client = app.test_client()
    log_in(client, organiser)
    listing = "/organisers/campaigns/zhanaozen/signatures?domain=example.org"
    token = page_token(client, listing)
    client.delete_cookie("session")

    action = f"/organisers/campaigns/zhanaozen/signatures/{target.id}/invalidate?domain=example.org"
    response = client.post(action, data={"csrf_token": token, "reason": "duplicate"})
    assert response.status_code == 303
    assert response.location.startswith("/organisers/login?next=")
    page = client.get(response.location).get_data(as_text=True)
    assert SESSION_ENDED in page
    # Back to the same filtered list, where the form was.
    back = sign_in_from(client, organiser, response.location)
    assert back.location == listing
    session.expire_all()
    assert session.get(Signature, target.id).status == SignatureStatus.CONFIRMED

    # A stale token of a session still signed in is an error, as before: no sign-in loop.
    stale = client.post(action, data={"csrf_token": "stale", "reason": "duplicate"})
    assert stale.status_code == 400
    assert 'href="/organisers/"' in stale.get_data(as_text=True)


def ended_session(client, organiser) -> str:
    """A session of ``organiser`` gone idle, as the browser still holds it; its form token."""
    page = client.get("/organisers/login").get_data(as_text=True)
    token = csrf_token(page) if "csrf_token" in page else "unchecked"
    past = int(time.time()) - 31 * 60
    with client.session_transaction() as cookie:
        cookie["organiser_id"] = organiser.id
        cookie["organiser_version"] = organiser.session_version
        cookie["organiser_seen"] = cookie["organiser_since"] = past
    return token


@pytest.mark.parametrize("csrf", [False, True], ids=["csrf-off", "csrf-on"])
def test_every_action_of_an_ended_session_leads_back_to_a_page_that_opens(app, session, csrf):
    app.config["WTF_CSRF_ENABLED"] = csrf
    organiser = make_organiser(session)
    session.commit()
    before = state(session)
    targets = set()
    for endpoint, path, method in organiser_routes(app):
        if endpoint in OPEN_ENDPOINTS or method != "POST":
            continue
        client = app.test_client()
        token = ended_session(client, organiser)
        response = client.post(path, data={"csrf_token": token, "reason": "duplicate"})
        assert response.status_code == 303, (endpoint, response.status_code)
        assert response.location.startswith("/organisers/login"), endpoint
        message = client.get(response.location).get_data(as_text=True)
        if endpoint == "organisers.logout":
            assert "You have signed out." in message
            assert "next=" not in response.location
            continue
        assert SESSION_ENDED in message, endpoint
        target = parse_qs(urlsplit(response.location).query).get("next", [""])[0]
        assert target.startswith("/organisers/"), endpoint
        targets.add(target)
    assert state(session) == before
    # Each is a page of ours that opens once signed in again (the form's own page).
    assert len(targets) >= 5
    app.config["WTF_CSRF_ENABLED"] = True  # the sign-in helper sends the form's token
    client = app.test_client()
    log_in(client, organiser)
    for target in sorted(targets):
        assert client.get(target).status_code == 200, target


def test_the_session_ended_message_is_in_the_page_language(app, session, monkeypatch):
    from flask_babel import get_locale

    from campaign.organisers import access

    monkeypatch.setattr(access, "_", lambda text, **kw: f"[{get_locale()}] {text}")
    organiser = make_organiser(session)
    session.commit()
    client = app.test_client()
    log_in(client, organiser)
    go_idle(client)
    # This test's requests share its app context (the session fixture's), and with it the
    # language the sign-in pages were shown in: forget it, as a new request would.
    from flask import g
    from flask_babel import refresh

    g.pop("lang", None)
    refresh()
    response = client.get(DASHBOARD + "?lang=kk")
    assert f"[kk] {SESSION_ENDED}" in client.get(response.location).get_data(as_text=True)


def test_a_moderator_is_told_a_page_needs_the_coordinator_role(app, session, client):
    from campaign.models import Role

    log_in(client, make_organiser(session, role=Role.MODERATOR))
    response = client.get(EXPORT)
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This page is for coordinators" in page
    assert "needs the coordinator role" in page
    assert "try again" not in page
    assert '<a href="/organisers/">' in page
    assert "Go to the campaign" not in page
