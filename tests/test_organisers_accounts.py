"""Organiser accounts from the command line: create, list, disable, enable, reset."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from werkzeug.security import check_password_hash

from campaign import accounts
from campaign.models import AuditEntry, Organiser, Role
from tests.factories import log_in, make_organiser

GOOD = "a long enough passphrase"


def organiser(app, email: str) -> Organiser | None:
    from campaign.extensions import db

    with app.app_context():
        return db.session.scalar(select(Organiser).where(Organiser.email == email))


def test_create_hashes_the_password_and_waits_for_a_second_factor(app, runner):
    result = runner.invoke(
        args=["organisers", "create", "Ana@Example.org", "--name", "Ana"],
        input=f"{GOOD}\n{GOOD}\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created moderator ana@example.org" in result.output
    created = organiser(app, "ana@example.org")
    assert created is not None and created.name == "Ana"
    assert created.password_hash.startswith("scrypt:")
    assert GOOD not in created.password_hash
    assert check_password_hash(created.password_hash, GOOD)
    assert created.active and not created.totp_enrolled and created.totp_secret is None


def test_create_refuses_a_short_password_and_a_taken_address(app, runner):
    short = "x" * 11
    result = runner.invoke(
        args=["organisers", "create", "ana@example.org"], input=f"{short}\n{short}\n"
    )
    assert result.exit_code != 0
    assert "at least 12 characters" in result.output
    assert organiser(app, "ana@example.org") is None

    assert (
        runner.invoke(
            args=["organisers", "create", "ana@example.org", "--password", GOOD]
        ).exit_code
        == 0
    )
    again = runner.invoke(args=["organisers", "create", "ANA@example.org", "--password", GOOD])
    assert again.exit_code != 0
    assert "exists already" in again.output


def test_password_minimum_follows_the_setting(app, runner):
    app.config["ORGANISER_PASSWORD_MIN_LENGTH"] = 30
    result = runner.invoke(args=["organisers", "create", "ana@example.org", "--password", GOOD])
    assert result.exit_code != 0
    assert "at least 30 characters" in result.output
    with pytest.raises(accounts.AccountError):
        accounts.check_password("y" * 29, 30)
    accounts.check_password("y" * 30, 30)


def test_list_shows_state_and_second_factor(app, runner, session):
    make_organiser(session, "ben@example.org", name="Ben")
    make_organiser(session, "cat@example.org", enrolled=False, active=False, role=Role.MODERATOR)
    session.commit()
    output = runner.invoke(args=["organisers", "list"]).output
    lines = output.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("ben@example.org\tBen\tcoordinator\tactive\tsecond factor enrolled")
    assert lines[1].startswith("cat@example.org\t-\tmoderator\tdisabled\tsecond factor pending")
    assert "never" in lines[0]


def test_disable_and_enable(app, runner, session, client):
    person = make_organiser(session, "ben@example.org")
    session.commit()
    assert log_in(client, person).status_code == 303
    assert client.get("/organisers/").status_code == 200

    result = runner.invoke(args=["organisers", "disable", "ben@example.org"])
    assert result.exit_code == 0, result.output
    # The session that was open has ended, and signing in again fails.
    assert client.get("/organisers/").status_code == 302
    page = client.get("/organisers/login")
    from tests.factories import ORGANISER_PASSWORD, csrf_token

    refused = client.post(
        "/organisers/login",
        data={
            "email": "ben@example.org",
            "password": ORGANISER_PASSWORD,
            "csrf_token": csrf_token(page.get_data(as_text=True)),
        },
    )
    assert refused.status_code == 400

    assert runner.invoke(args=["organisers", "enable", "ben@example.org"]).exit_code == 0
    assert organiser(app, "ben@example.org").active


def test_reset_password_ends_sessions_and_can_reset_the_second_factor(app, runner, session, client):
    person = make_organiser(session, "ben@example.org")
    session.commit()
    assert log_in(client, person).status_code == 303

    result = runner.invoke(
        args=["organisers", "reset-password", "ben@example.org", "--second-factor"],
        input="another long passphrase\nanother long passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert client.get("/organisers/").status_code == 302
    after = organiser(app, "ben@example.org")
    assert check_password_hash(after.password_hash, "another long passphrase")
    assert after.totp_secret is None and not after.totp_enrolled

    short = runner.invoke(
        args=["organisers", "reset-password", "ben@example.org", "--password", "short"]
    )
    assert short.exit_code != 0
    assert "at least 12" in short.output


def test_commands_on_unknown_accounts_fail_cleanly(runner):
    for command in ("disable", "enable"):
        result = runner.invoke(args=["organisers", command, "nobody@example.org"])
        assert result.exit_code != 0
        assert "No organiser has that address" in result.output


def test_account_changes_are_audited_without_passwords(app, runner):
    runner.invoke(args=["organisers", "create", "ana@example.org", "--password", GOOD])
    runner.invoke(args=["organisers", "disable", "ana@example.org"])
    from campaign.extensions import db

    with app.app_context():
        rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [r.action for r in rows] == ["account_created", "account_disabled"]
    assert all(GOOD not in str(r.detail) for r in rows)
