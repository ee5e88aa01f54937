"""Every organiser route refuses anonymous use; sessions expire when idle and end everywhere."""

from __future__ import annotations

import time

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
