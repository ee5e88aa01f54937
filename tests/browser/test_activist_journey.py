"""The activist's journey in a real browser: make a link, bring a signer, see the numbers."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def test_make_a_link_and_see_what_it_brought(live_server, page, browser, smtp):
    page.goto(f"{live_server}/en/zhanaozen/links")
    page.get_by_label(re.compile("name", re.I)).first.fill("Unite North West")
    page.get_by_role("button", name="Make the link").click()
    page.wait_for_url("**/links?key=*")
    stats_url = page.url
    assert page.get_by_role("heading", name=re.compile("Unite North West")).is_visible()
    assert "fewer than 5 confirmed signatures" in page.locator("#brought-heading").inner_text()
    link = page.locator("#share-url").input_value()
    assert re.search(r"/en/s/[\w-]{8,}", link), link

    # A friend follows the link in a browser of their own, signs and confirms.
    friend = browser.new_context().new_page()
    friend.goto(link)
    friend.get_by_label("Full name", exact=True).fill("Friend of Unite")
    friend.get_by_label("Email", exact=True).fill("friend@example.org")
    friend.get_by_label("Country").select_option("IE")
    friend.get_by_role("button", name="Sign the petition").click()
    friend.wait_for_url("**/thanks**")
    latest = smtp.wait_for(1)[-1]  # sent once the server has answered
    confirm = re.search(r"(http://\S+/confirm\?token=\S+)", latest.get_content())
    friend.goto(confirm.group(1))
    friend.get_by_role("button", name="Confirm my signature").click()
    friend.context.close()

    page.goto(stats_url)
    # One signature is too few to show: the link's maker cannot tell whether the friend
    # signed, nor from where.
    assert "fewer than 5 confirmed signatures" in page.locator("#brought-heading").inner_text()
    body = page.locator("main").inner_text()
    assert "Ireland" not in body
    assert "Friend of Unite" not in body
    assert "friend@example.org" not in body


def test_the_embed_code_page_has_a_working_copy_button(live_server, browser):
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(f"{live_server}/en/zhanaozen/embed")
    button = page.get_by_role("button", name="Copy the code")
    button.wait_for(state="visible", timeout=5000)
    button.click()
    page.get_by_text("Code copied.").wait_for(timeout=5000)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#embed-code").input_value()
    assert copied.startswith(f'<iframe src="{live_server}/embed/en/zhanaozen/"')
    # The script is the site's own: the page's policy let it run and refused nothing.
    assert errors == []
    context.close()


def _shown_in_print(page, selector: str) -> list[bool]:
    """Whether each element matching ``selector`` takes room on the printed page."""
    return page.locator(selector).evaluate_all(
        "elements => elements.map(e => e.getClientRects().length > 0)"
    )


def test_a_printed_campaign_page_says_where_to_sign(live_server, page):
    page.emulate_media(media="print")
    page.goto(f"{live_server}/en/zhanaozen/")
    address = page.locator(".petition-address")
    assert address.is_visible()
    assert address.inner_text() == f"Sign the petition at: {live_server}/en/zhanaozen/"
    # What only works on a screen is left out: the form and its empty heading, the share
    # bar, the links to other pages and the buttons.
    for selector in ("#sign", ".signing form", ".resend", ".share", ".spread", ".to-sign"):
        assert _shown_in_print(page, selector) == [False], selector
    assert not any(_shown_in_print(page, "button"))
    # The demands and the count are what the paper is for.
    assert page.locator(".demands").is_visible()
    assert page.locator(".progress").is_visible()

    # On screen the address line stays out of the way: the share bar has it.
    page.emulate_media(media="screen")
    assert not address.is_visible()
    assert page.locator("#sign").is_visible()

    # Only the campaign page's "Signed but no email arrived?" line is left out: the page it
    # leads to prints whole.
    page.emulate_media(media="print")
    page.goto(f"{live_server}/en/zhanaozen/resend")
    assert page.locator("article.resend h1").is_visible()


def test_a_printed_campaign_page_reached_by_a_share_link_prints_the_link(live_server, page):
    page.goto(f"{live_server}/en/zhanaozen/links")
    page.get_by_label(re.compile("name", re.I)).first.fill("Print club")
    page.get_by_role("button", name="Make the link").click()
    page.wait_for_url("**/links?key=*")
    link = page.locator("#share-url").input_value()

    page.emulate_media(media="print")
    # The link's own page: the link is printed, the code for websites and the buttons not.
    address = page.locator(".petition-address")
    assert address.is_visible()
    assert address.inner_text() == f"Sign the petition at: {link}"
    for selector in (".share", "#embed-code", ".copyable", ".print", ".back"):
        assert not any(_shown_in_print(page, selector)), selector
    assert not any(_shown_in_print(page, "button"))
    assert page.locator("#brought-heading").is_visible()

    # The campaign page reached through the link prints the link, which credits it.
    page.goto(link)
    assert page.locator(".petition-address").inner_text() == f"Sign the petition at: {link}"
