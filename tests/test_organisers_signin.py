"""Signing organisers in: password, second factor, throttling, no account-existence leak."""

from __future__ import annotations

import re
import time
import uuid

import pyotp
import pytest
from sqlalchemy import select

from campaign import accounts
from campaign.models import AuditEntry, Organiser
from tests.factories import (
    ORGANISER_PASSWORD,
    log_in,
    make_organiser,
    page_token,
    totp_code,
)

LOGIN = "/organisers/login"
CODE = "/organisers/login/code"
ENROL = "/organisers/login/enrol"


@pytest.fixture
def config_overrides():
    # A secret of its own keys this test's rate-limit counters apart from every other
    # test's, also where the counters live in a shared Redis.
    return {
        "SECRET_KEY": f"organiser-sign-in-{uuid.uuid4().hex}",
        "RATELIMIT_LOGIN": "1000 per minute",
        "RATELIMIT_LOGIN_ACCOUNT": "3 per 15 minutes",
        "RATELIMIT_SECOND_FACTOR": "3 per 5 minutes",
    }


def password_step(client, email: str, password: str = ORGANISER_PASSWORD, **environ):
    token = page_token(client, LOGIN)
    return client.post(
        LOGIN,
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def code_step(client, path: str, code: str):
    return client.post(path, data={"code": code, "csrf_token": page_token(client, path)})


def reload(session, organiser: Organiser) -> Organiser:
    session.expire_all()
    return session.get(Organiser, organiser.id)


def audit(session) -> list[AuditEntry]:
    session.expire_all()
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_an_enrolled_organiser_signs_in_with_password_and_code(app, client, session):
    organiser = make_organiser(session, "ana@example.org")
    session.commit()
    response = log_in(client, organiser)
    assert response.status_code == 303
    assert response.location == "/organisers/"
    page = client.get("/organisers/")
    assert page.status_code == 200
    assert "ana@example.org" in page.get_data(as_text=True)
    after = reload(session, organiser)
    assert after.last_login_at is not None
    assert [e.action for e in audit(session)] == ["login"]


def test_first_sign_in_enrols_a_second_factor_with_a_server_drawn_qr_code(app, client, session):
    organiser = make_organiser(session, "new@example.org", enrolled=False)
    session.commit()
    response = password_step(client, "new@example.org")
    assert response.status_code == 303
    assert response.location == ENROL

    page = client.get(ENROL)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    svg = re.search(r'<svg width="\d+" height="\d+" class="qr">.*?</svg>', html, re.S)
    assert svg and "<path" in svg.group(0)
    # Nothing comes from elsewhere: no image service, no data: address.
    assert "<img" not in html and "data:" not in html and "http" not in svg.group(0)
    secret = reload(session, organiser).totp_secret
    assert secret and " ".join(secret[i : i + 4] for i in range(0, 32, 4)) in html
    # Reloading the page keeps the same secret (the phone may already have it).
    client.get(ENROL)
    assert reload(session, organiser).totp_secret == secret
    # The code page is not for someone still enrolling.
    assert client.get(CODE).location == ENROL
    assert client.get("/organisers/").status_code == 302

    wrong = code_step(client, ENROL, "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert wrong.status_code == 400
    assert 'aria-describedby="code-error"' in wrong.get_data(as_text=True)
    assert not reload(session, organiser).totp_enrolled

    done = code_step(client, ENROL, pyotp.TOTP(secret).now())
    assert done.status_code == 303
    assert done.location == "/organisers/"
    assert reload(session, organiser).totp_enrolled
    assert client.get("/organisers/").status_code == 200
    actions = [e.action for e in audit(session)]
    assert actions == ["login_failed", "second_factor_enrolled", "login"]

    # From now on the password leads to the code, never to a new QR code.
    other = app.test_client()
    assert password_step(other, "new@example.org").location == CODE
    assert other.get(ENROL).location == CODE


def test_wrong_code_is_refused_and_recorded(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    password_step(client, organiser.email)
    good = totp_code(organiser)
    wrong = code_step(client, CODE, "123456" if good != "123456" else "654321")
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.get_data(as_text=True)
    assert client.get("/organisers/").status_code == 302
    (entry,) = audit(session)
    assert (entry.action, entry.organiser_id, entry.detail) == (
        "login_failed",
        organiser.id,
        {"reason": "second factor"},
    )
    assert code_step(client, CODE, "12ab56").status_code == 400


def test_a_code_is_accepted_once(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    code = totp_code(organiser)
    assert log_in(client, organiser, code=code).status_code == 303

    other = app.test_client()
    password_step(other, organiser.email)
    replay = code_step(other, CODE, code)
    assert replay.status_code == 400
    assert "used already" in replay.get_data(as_text=True)
    assert other.get("/organisers/").status_code == 302
    # So is an older code still inside the drift window.
    assert code_step(other, CODE, totp_code(organiser, offset_steps=-1)).status_code == 400
    # The next step's code works.
    assert code_step(other, CODE, totp_code(organiser, offset_steps=1)).status_code == 303


def test_codes_one_step_off_are_accepted_further_ones_are_not(app, session):
    organiser = make_organiser(session)
    session.commit()
    assert not accounts.verify_code(session, organiser, totp_code(organiser, offset_steps=2))
    assert not accounts.verify_code(session, organiser, totp_code(organiser, offset_steps=-2))
    assert accounts.verify_code(session, organiser, totp_code(organiser, offset_steps=-1))
    assert accounts.verify_code(session, organiser, totp_code(organiser, offset_steps=1))
    assert not accounts.verify_code(session, organiser, totp_code(organiser))


def test_the_code_step_expires(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    password_step(client, organiser.email)
    token = page_token(client, CODE)
    with client.session_transaction() as cookie:
        cookie["pending_at"] -= 6 * 60
    response = client.post(CODE, data={"code": totp_code(organiser), "csrf_token": token})
    assert response.status_code == 303
    assert response.location == LOGIN
    assert client.get("/organisers/").status_code == 302


def test_unknown_account_and_wrong_password_look_the_same(app, client, session, monkeypatch):
    make_organiser(session, "ana@example.org")
    session.commit()
    hashed = []
    real = accounts.check_password_hash
    monkeypatch.setattr(
        accounts,
        "check_password_hash",
        lambda stored, password: hashed.append(stored.split("$")[0]) or real(stored, password),
    )

    token = page_token(client, LOGIN)
    known = client.post(
        LOGIN, data={"email": "ana@example.org", "password": "wrong password!", "csrf_token": token}
    )
    unknown = client.post(
        LOGIN, data={"email": "bob@example.org", "password": "wrong password!", "csrf_token": token}
    )
    assert known.status_code == unknown.status_code == 400
    known_html = known.get_data(as_text=True).replace("ana@example.org", "EMAIL")
    unknown_html = unknown.get_data(as_text=True).replace("bob@example.org", "EMAIL")
    assert known_html == unknown_html
    assert "The email address or the password is not right" in known_html
    # The same headers too, apart from the clock in the rate-limit reset time.
    same = [(k, v) for k, v in known.headers if k != "X-RateLimit-Reset"]
    assert same == [(k, v) for k, v in unknown.headers if k != "X-RateLimit-Reset"]
    # Both cost one scrypt check.
    assert len(hashed) == 2 and all(h.startswith("scrypt:") for h in hashed)

    failed = [e for e in audit(session) if e.action == "login_failed"]
    assert [e.organiser_id is not None for e in failed] == [True, False]
    assert failed[1].detail == {"reason": "unknown account"}
    assert "bob" not in str(failed[1].detail)


def test_a_disabled_account_looks_like_a_wrong_password(app, client, session):
    make_organiser(session, "ana@example.org")
    make_organiser(session, "off@example.org", active=False)
    session.commit()
    token = page_token(client, LOGIN)
    wrong = client.post(
        LOGIN, data={"email": "ana@example.org", "password": "not it at all", "csrf_token": token}
    )
    disabled = client.post(
        LOGIN,
        data={"email": "off@example.org", "password": ORGANISER_PASSWORD, "csrf_token": token},
    )
    assert wrong.status_code == disabled.status_code == 400
    assert wrong.get_data(as_text=True).replace("ana@", "X@") == disabled.get_data(
        as_text=True
    ).replace("off@", "X@")


def test_failed_attempts_are_throttled_per_account_known_or_not(app, session):
    make_organiser(session, "ana@example.org")
    session.commit()
    for email in ("ana@example.org", "nobody@example.org"):
        client = app.test_client()
        for _ in range(3):
            assert password_step(client, email, "wrong password!").status_code == 400
        # Now even the right password waits, and an unknown account answers the same.
        blocked = password_step(client, email.upper())
        assert blocked.status_code == 429
        assert "Retry-After" in blocked.headers
    # Another account from the same address is not affected.
    make_organiser(session, "ben@example.org")
    session.commit()
    assert password_step(app.test_client(), "ben@example.org").status_code == 303


def test_successful_sign_ins_do_not_use_up_the_account_allowance(app, session):
    organiser = make_organiser(session)
    session.commit()
    for _ in range(5):
        assert password_step(app.test_client(), organiser.email).status_code == 303


def test_attempts_are_throttled_per_address(app, session):
    app.config["RATELIMIT_LOGIN"] = "4 per minute"
    client = app.test_client()
    for i in range(4):
        assert password_step(client, f"person{i}@example.org", "wrong password!").status_code == 400
    assert password_step(client, "person9@example.org", "wrong password!").status_code == 429
    # Another address still gets through.
    other = password_step(client, "person9@example.org", "wrong password!", REMOTE_ADDR="192.0.2.7")
    assert other.status_code == 400


def test_an_account_lockout_ends_with_its_window(app, session):
    # The same rule as the default "5 per 15 minutes", in a window a test can wait out.
    app.config["RATELIMIT_LOGIN_ACCOUNT"] = "3 per 2 seconds"
    make_organiser(session, "ana@example.org")
    session.commit()
    client = app.test_client()
    for _ in range(3):
        password_step(client, "ana@example.org", "wrong password!")
    assert password_step(client, "ana@example.org").status_code == 429

    # Attempts during the lockout do not prolong it: at the end of the window the owner
    # gets in, however many times a stranger tried meanwhile.
    for _ in range(5):
        assert password_step(client, "ana@example.org", "wrong password!").status_code == 429
    time.sleep(2.2)
    assert password_step(client, "ana@example.org").status_code == 303


def test_code_attempts_are_throttled(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    password_step(client, organiser.email)
    good = totp_code(organiser)
    wrong = "000000" if good != "000000" else "111111"
    for _ in range(3):
        assert code_step(client, CODE, wrong).status_code == 400
    assert code_step(client, CODE, good).status_code == 429
    assert client.get("/organisers/").status_code == 302
    # Typing the password again, even on another connection, earns no new tries.
    elsewhere = app.test_client()
    assert password_step(elsewhere, organiser.email, REMOTE_ADDR="192.0.2.9").location == CODE
    blocked = elsewhere.post(
        CODE,
        data={"code": good, "csrf_token": page_token(elsewhere, CODE)},
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert blocked.status_code == 429


def test_signed_in_organiser_is_sent_on_from_the_login_page(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    response = client.get(LOGIN)
    assert response.status_code == 302
    assert response.location == "/organisers/"


def test_login_form_errors_are_tied_to_fields(app, client):
    response = client.post(
        LOGIN, data={"email": "", "password": "", "csrf_token": page_token(client, LOGIN)}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-describedby="email-error"' in html
    assert 'aria-describedby="password-error"' in html
    assert '<label for="email">' in html and '<label for="password">' in html


def test_a_stale_form_keeps_the_address_typed_and_signs_no_one_in(app, client, session):
    app.config["WTF_CSRF_ENABLED"] = True
    organiser = make_organiser(session, "kept@example.org")
    session.commit()
    page_token(client, LOGIN)  # the browser has a session, but the form's token is old
    response = client.post(
        LOGIN,
        data={"email": "kept@example.org", "password": ORGANISER_PASSWORD, "csrf_token": "old"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The form was open for too long" in html
    assert 'value="kept@example.org"' in html
    assert ORGANISER_PASSWORD not in html
    assert reload(session, organiser).last_login_at is None
    assert client.get(CODE).status_code == 303  # no password step was passed


def test_signing_out_says_so_on_the_sign_in_page(app, client, session):
    organiser = make_organiser(session)
    session.commit()
    log_in(client, organiser)
    token = page_token(client, "/organisers/")
    response = client.post("/organisers/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.location == LOGIN
    page = client.get(LOGIN).get_data(as_text=True)
    assert re.search(r'<div class="messages" role="status">\s*<p>You have signed out\.</p>', page)
    assert "Your session has ended" not in page
    # Said once: the next visit to the page is a plain sign-in.
    assert "You have signed out." not in client.get(LOGIN).get_data(as_text=True)
