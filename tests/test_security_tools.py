"""The cheap, deterministic parts of security/scan.py: bandit, the Nu HTML checker, axe-core.

The public pages are walked once in Debian's chromium, in every language, against a live
server; each page is saved as served (for the HTML checker) and checked by axe-core. The
slow scanners (sqlmap, wapiti, the HTTP Observatory) run only in security/scan.py.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from campaign import create_app
from security import scan
from tests import services
from tests.conftest import base_config, free_port, serving


def _require_tool(path: Path, what: str) -> None:
    if not path.exists():
        services._missing(f"{what} is not installed at {path} (see README: Security checks)")


@pytest.fixture
def config_overrides() -> dict[str, object]:
    return {"TRUSTED_PROXIES": 1}


# --- bandit --------------------------------------------------------------------------


def test_bandit_finds_nothing_of_medium_severity_or_above():
    _require_tool(scan.BIN / "bandit", "bandit")
    result = scan.run_bandit()
    assert result.passed, "\n".join(result.details)
    assert "lines" in result.summary


def test_bandit_check_fails_on_a_medium_finding(tmp_path):
    _require_tool(scan.BIN / "bandit", "bandit")
    (tmp_path / "unsafe.py").write_text(
        "import subprocess\n\ndef run(command):\n    subprocess.call(command, shell=True)\n"
    )
    result = scan.run_bandit(tmp_path)
    assert result.passed is False
    assert any("B602" in line for line in result.details), result.details


# --- what the Observatory cannot see over plain HTTP ---------------------------------


def test_cookies_are_secure_and_hsts_sent_behind_a_tls_proxy(client):
    response = client.get("/en/zhanaozen/", headers={"X-Forwarded-Proto": "https"})
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} >= {"session"}
    assert all("; Secure" in c for c in cookies), cookies
    assert all("HttpOnly" in c and "SameSite=Lax" in c for c in cookies), cookies
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_cookies_work_over_plain_http_on_a_local_instance(client):
    response = client.get("/en/zhanaozen/")
    cookies = response.headers.getlist("Set-Cookie")
    assert cookies
    assert not any("Secure" in c for c in cookies), cookies
    assert "Strict-Transport-Security" not in response.headers


# --- the tour: public pages in chromium ----------------------------------------------


class _Inbox:
    """An SMTP server on localhost keeping what it receives."""

    def __init__(self) -> None:
        self.mails: list[scan.Mail] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.mails.append(scan.Mail(to=str(message["To"]), body=message.get_content()))
        return "250 Message accepted for delivery"

    def mail_for(self, address: str, timeout: float = 15) -> scan.Mail:
        """The latest mail to ``address``, waiting for it: it is sent after the answer."""
        deadline = time.monotonic() + timeout
        while not (found := [mail for mail in self.mails if mail.to == address]):
            assert time.monotonic() < deadline, f"no mail to {address}"
            time.sleep(0.05)
        return found[-1]


@pytest.fixture(scope="module")
def tour(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[scan.Tour]:
    """The public pages of every language, walked once in chromium and saved as served."""
    services.require_chromium()
    _require_tool(scan.AXE, "axe-core")
    folder = tmp_path_factory.mktemp("pages")
    database = folder.parent / f"{folder.name}.sqlite3"
    shutil.copyfile(sqlite_template, database)

    inbox = _Inbox()
    mail_server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    mail_server.start()
    app = create_app(
        base_config(
            f"sqlite:///{database}",
            MAIL_SERVER="127.0.0.1",
            MAIL_PORT=mail_server.port,
        )
    )
    try:
        with serving(app) as url:
            app.config["BASE_URL"] = url
            yield scan.take_tour(url, folder, inbox.mail_for)
    finally:
        mail_server.stop()
        app.extensions["database"].dispose()


def test_the_tour_reached_every_public_page_in_every_language(tour):
    assert tour.problems == []
    for lang in scan.LANGUAGES:
        for page in ("campaign", "campaign-errors", "thanks", "confirm", "confirmed", "resend"):
            assert f"{lang}-{page}" in tour.pages
    assert len(tour.pages) == len(tour.axe) >= 15 * len(scan.LANGUAGES)


def test_public_pages_are_valid_html(tour):
    _require_tool(scan.VNU_JAR, "the Nu HTML checker (npm package vnu-jar)")
    if shutil.which("java") is None:
        services._missing("java is not installed (apt-get install default-jre-headless)")
    result = scan.validate_html(tour.folder)
    assert result.passed, "\n".join(result.details)


def test_the_html_check_fails_on_invalid_markup(tmp_path):
    _require_tool(scan.VNU_JAR, "the Nu HTML checker (npm package vnu-jar)")
    if shutil.which("java") is None:
        services._missing("java is not installed (apt-get install default-jre-headless)")
    (tmp_path / "page.html").write_text(
        "<!doctype html><html lang=en><title>x</title><p><div>in a paragraph</p></html>"
    )
    result = scan.validate_html(tmp_path)
    assert result.passed is False
    assert any("error" in line for line in result.details), result.details


def test_public_pages_have_no_serious_accessibility_violations(tour):
    found = [
        scan.describe(name, violation)
        for name, violations in tour.axe.items()
        for violation in scan.blocking(violations)
    ]
    assert found == []


def test_public_pages_load_nothing_from_other_origins(tour):
    assert tour.refused == []


def test_axe_reports_a_serious_violation_where_there_is_one(tmp_path):
    services.require_chromium()
    _require_tool(scan.AXE, "axe-core")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = scan.launch_chromium(playwright)
        try:
            page = browser.new_context(bypass_csp=True).new_page()
            page.set_content('<html lang="en"><title>x</title><main><img src="a.png"></main>')
            violations = scan.blocking(scan.axe_violations(page))
        finally:
            browser.close()
    assert "image-alt" in {v["id"] for v in violations}


# --- how the scanners' reports are judged --------------------------------------------


def test_sqlmap_judge_fails_on_an_injection_point_and_on_untested_fields():
    clean = (
        "[WARNING] POST parameter 'email' does not seem to be injectable\n"
        "[CRITICAL] all tested parameters do not appear to be injectable.\n"
    )
    assert scan.judge_sqlmap("resend", clean, ["csrf_token", "email"]).passed is True
    untested = scan.judge_sqlmap("sign", clean, ["csrf_token", "email", "name"])
    assert untested.passed is False
    assert "not tested: name" in untested.summary
    found = (
        "[INFO] POST parameter 'email' is 'SQLite > 2.0 AND time-based blind' injectable\n"
        "sqlmap identified the following injection point(s) with a total of 40 HTTP(s) requests"
    )
    assert scan.judge_sqlmap("resend", found, ["email"]).passed is False


def test_wapiti_judge_fails_on_medium_level_and_above_only():
    def report(level: int) -> dict[str, object]:
        finding = {"level": level, "method": "GET", "path": "/en/", "info": "found"}
        return {
            "vulnerabilities": {"Cross Site Scripting": [finding]},
            "anomalies": {},
            "additionals": {},
            "infos": {"crawled_pages_nbr": 3},
        }

    assert scan.judge_wapiti(report(1)).passed is True
    assert scan.judge_wapiti(report(2)).passed is False
    assert scan.judge_wapiti(report(4)).passed is False
