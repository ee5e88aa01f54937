"""The supporter's journey in a real browser: read, sign, confirm, share."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _confirm_url(smtp) -> str:
    # The server sends the email once it has answered: it may still be on its way.
    latest = smtp.wait_for(1)[-1]
    match = re.search(r"(http://127\.0\.0\.1:\d+/\S+/confirm\?token=\S+)", latest.get_content())
    assert match
    return match.group(1)


def _fill(page, email: str) -> None:
    page.get_by_label("Full name", exact=True).fill("Aigerim Nurlanqyzy")
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Country").select_option("KZ")
    page.get_by_label("City (optional)").fill("Aktau")
    page.get_by_label("First name and initial").check()


def test_sign_confirm_and_share(live_server, page, smtp):
    page.goto(f"{live_server}/en/zhanaozen/")
    assert page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_text("Natalia Sokolova").first.is_visible()
    _fill(page, "browser@example.org")
    page.get_by_role("button", name="Sign the petition").click()
    page.wait_for_url("**/thanks?country=*")
    assert "Check your email" in page.title()

    page.goto(_confirm_url(smtp))
    page.get_by_role("button", name="Confirm my signature").click()
    assert page.get_by_role("heading", name=re.compile("confirmed")).is_visible()
    assert page.get_by_text("1 signature").first.is_visible()
    share = page.locator(".share")
    assert (
        share.get_by_role("link", name="WhatsApp")
        .get_attribute("href")
        .startswith("https://wa.me/")
    )

    page.goto(f"{live_server}/en/zhanaozen/")
    assert page.get_by_text("Aigerim N.").is_visible()


def test_errors_keep_input_in_the_browser(live_server, page):
    page.goto(f"{live_server}/en/zhanaozen/")
    page.get_by_label("Full name", exact=True).fill("Kept Name")
    page.get_by_label("Email", exact=True).fill("not an address")
    page.get_by_role("button", name="Sign the petition").click()
    assert page.get_by_text("Please enter a valid email address.", exact=True).is_visible()
    assert page.get_by_text("Please choose your country.", exact=True).is_visible()
    assert page.get_by_label("Full name", exact=True).input_value() == "Kept Name"
    # The page opens on the summary of what went wrong; its links lead to the fields.
    assert page.evaluate("document.activeElement.id") == "error-summary"
    page.locator("#error-summary a").first.click()
    assert page.evaluate("document.activeElement.id") == "email"
    assert page.get_by_label("Email", exact=True).get_attribute("aria-invalid") == "true"


def test_signing_by_keyboard_alone(live_server, page, smtp):
    page.goto(f"{live_server}/en/zhanaozen/")
    page.get_by_label("Full name", exact=True).focus()
    page.keyboard.type("Keyboard Person")
    page.keyboard.press("Tab")
    page.keyboard.type("keys@example.org")
    page.keyboard.press("Tab")
    page.keyboard.type("Kazakhstan")
    assert page.get_by_label("Country").input_value() == "KZ"
    # Submit from a field with Enter, as keyboard users do.
    page.get_by_label("Email", exact=True).press("Enter")
    page.wait_for_url("**/thanks?country=*")
    assert len(smtp.wait_for(1)) == 1


def test_signing_with_javascript_off(live_server, page_without_js, smtp):
    page = page_without_js
    page.goto(f"{live_server}/en/zhanaozen/")
    _fill(page, "nojs@example.org")
    page.get_by_role("button", name="Sign the petition").click()
    page.wait_for_url("**/thanks?country=*")
    page.goto(_confirm_url(smtp))
    page.get_by_role("button", name="Confirm my signature").click()
    assert page.get_by_role("heading", name=re.compile("confirmed")).is_visible()
