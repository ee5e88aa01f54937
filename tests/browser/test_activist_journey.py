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
