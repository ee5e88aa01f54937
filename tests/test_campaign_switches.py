"""A campaign's switches: pausing signing and its own surge mode, thrown by its coordinators."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from campaign.models import AuditEntry, Campaign, Role, Signature
from tests.factories import (
    csrf_token,
    log_in,
    make_campaign,
    make_organiser,
    page_token,
    sign_form,
)

CAMPAIGN = "/en/zhanaozen/"
DASHBOARD = "/organisers/campaigns/zhanaozen/"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


@pytest.fixture
def config_overrides():
    # The site-wide setting off: each campaign's own switch decides.
    return {"SURGE_MODE": False}


def surge_token(html: str) -> str:
    match = re.search(r'name="surge_token" value="([^"]+)"', html)
    assert match, "no form token in page"
    return match.group(1)


def zhanaozen(session) -> Campaign:
    session.expire_all()
    return session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))


def signatures(session) -> int:
    session.expire_all()
    return len(session.scalars(select(Signature)).all())


def coordinator_client(app, session):
    client = app.test_client()
    organiser = make_organiser(session, email="coordinator@example.org")
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client, organiser


def throw(client, switch: str):
    token = page_token(client, DASHBOARD)
    return client.post(f"{DASHBOARD}switch/{switch}", data={"csrf_token": token})


def test_a_campaigns_own_surge_mode_makes_only_its_pages_cacheable(app, client, runner, session):
    make_campaign(session, slug="quiet")
    session.commit()
    assert runner.invoke(args=["campaign", "surge", "zhanaozen", "on"]).exit_code == 0
    assert zhanaozen(session).surge_mode

    for path in (CAMPAIGN, "/en/zhanaozen/thanks"):
        response = app.test_client().get(path)
        assert response.headers["Cache-Control"].startswith("public, max-age="), path
        assert "Set-Cookie" not in response.headers, path
    quiet = app.test_client().get("/en/quiet/")
    assert quiet.headers["Cache-Control"] == "private"
    assert 'name="csrf_token"' in quiet.get_data(as_text=True)

    # Its shared form signs, as in the site-wide surge mode.
    page = client.get(CAMPAIGN).get_data(as_text=True)
    token = surge_token(page)
    response = client.post(CAMPAIGN, data=sign_form(surge_token=token), headers=SAME_ORIGIN)
    assert response.status_code == 303
    assert signatures(session) == 1


def test_the_widget_is_cacheable_in_surge_mode_too(app, runner):
    # Every allied page that shows the widget asks for it.
    assert app.test_client().get("/embed/en/zhanaozen/").headers.get("Cache-Control") is None
    assert runner.invoke(args=["campaign", "surge", "zhanaozen", "on"]).exit_code == 0
    widget = app.test_client().get("/embed/en/zhanaozen/")
    assert widget.headers["Cache-Control"].startswith("public, max-age=")
    assert "Set-Cookie" not in widget.headers


def test_the_command_says_when_the_sites_setting_keeps_surge_mode_on(app, runner):
    result = runner.invoke(args=["campaign", "surge", "zhanaozen", "off"])
    assert result.output == "Surge mode of zhanaozen: off.\n"
    app.config["SURGE_MODE"] = True
    result = runner.invoke(args=["campaign", "surge", "zhanaozen", "off"])
    assert "CAMPAIGN_SURGE_MODE keeps it on for every campaign" in result.output


def test_a_form_from_a_page_cached_before_surge_mode_went_off_still_signs(
    app, client, runner, session
):
    assert runner.invoke(args=["campaign", "surge", "zhanaozen", "on"]).exit_code == 0
    cached = client.get(CAMPAIGN).get_data(as_text=True)
    assert runner.invoke(args=["campaign", "surge", "zhanaozen", "off"]).exit_code == 0
    assert client.get(CAMPAIGN).headers["Cache-Control"] == "private"

    # The proxy may still hand out the page it cached: its form comes back with what was
    # typed and a token of the visitor's own, and the second press signs.
    form = sign_form(surge_token=surge_token(cached), name="Asel Cached")
    again = client.post(CAMPAIGN, data=form, headers=SAME_ORIGIN)
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert 'value="Asel Cached"' in html
    assert signatures(session) == 0
    form = sign_form(csrf_token=csrf_token(html), name="Asel Cached")
    assert client.post(CAMPAIGN, data=form, headers=SAME_ORIGIN).status_code == 303
    assert signatures(session) == 1


def test_coordinators_throw_the_switches_from_the_dashboard(app, session):
    coordinator, organiser = coordinator_client(app, session)
    # A visitor who opened the form before signing was paused.
    visitor = app.test_client()
    visitor_token = page_token(visitor, CAMPAIGN)
    html = coordinator.get(DASHBOARD).get_data(as_text=True)
    assert 'id="switches"' in html
    assert "Signing is open." in html and "Surge mode is off." in html

    response = throw(coordinator, "pause")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"{DASHBOARD}#switches")
    assert zhanaozen(session).signing_paused
    html = coordinator.get(DASHBOARD).get_data(as_text=True)
    assert "Signing is paused: the page stays up" in html
    assert "Resume signing" in html
    assert "Signing is paused" in visitor.get(CAMPAIGN).get_data(as_text=True)
    refused = visitor.post(CAMPAIGN, data=sign_form(csrf_token=visitor_token))
    assert refused.status_code == 503
    assert signatures(session) == 0

    assert throw(coordinator, "resume").status_code == 303
    assert not zhanaozen(session).signing_paused

    assert throw(coordinator, "surge-on").status_code == 303
    assert zhanaozen(session).surge_mode
    html = coordinator.get(DASHBOARD).get_data(as_text=True)
    assert "Surge mode is on: the proxy serves" in html and "up to 70 seconds behind" in html
    assert app.test_client().get(CAMPAIGN).headers["Cache-Control"].startswith("public")
    assert throw(coordinator, "surge-off").status_code == 303
    assert not zhanaozen(session).surge_mode
    # Throwing a switch to where it already is changes and records nothing.
    assert throw(coordinator, "surge-off").status_code == 303

    session.expire_all()
    logged = session.scalars(
        select(AuditEntry.action)
        .where(AuditEntry.organiser_id == organiser.id, AuditEntry.campaign_id.is_not(None))
        .order_by(AuditEntry.id)
    ).all()
    assert logged == [
        "signing_paused",
        "signing_resumed",
        "surge_mode_on",
        "surge_mode_off",
    ]
    audit_page = coordinator.get("/organisers/audit").get_data(as_text=True)
    assert "Surge mode switched on" in audit_page


def test_the_sites_own_surge_mode_is_shown_and_left_to_the_server(app, session):
    app.config["SURGE_MODE"] = True
    coordinator, _ = coordinator_client(app, session)
    html = coordinator.get(DASHBOARD).get_data(as_text=True)
    assert "Surge mode is on for every campaign of this site" in html
    assert "/switch/surge-" not in html
    assert "/switch/pause" in html


def test_a_moderator_has_no_switches(app, session):
    client = app.test_client()
    moderator = make_organiser(session, email="moderator@example.org", role=Role.MODERATOR)
    session.commit()
    assert log_in(client, moderator).status_code == 303
    assert 'id="switches"' not in client.get(DASHBOARD).get_data(as_text=True)
    token = page_token(client, DASHBOARD)
    for switch in ("pause", "surge-on"):
        response = client.post(f"{DASHBOARD}switch/{switch}", data={"csrf_token": token})
        assert response.status_code == 403
    campaign = zhanaozen(session)
    assert not campaign.signing_paused and not campaign.surge_mode


def test_a_switch_without_the_forms_token_changes_nothing(app, session):
    coordinator, _ = coordinator_client(app, session)
    assert coordinator.post(f"{DASHBOARD}switch/pause", data={}).status_code == 400
    assert not zhanaozen(session).signing_paused
