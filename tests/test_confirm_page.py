"""The confirmation pages: switching language, a lost session, a used link, a dead one."""

from __future__ import annotations

import re
from html import unescape

import pytest
from sqlalchemy import func, select

from campaign import counting, erasure
from campaign.extensions import db
from campaign.models import ShareLink, Signature, SignatureStatus
from tests.factories import csrf_token, sign_form

CAMPAIGN = "/en/zhanaozen/"
EXPIRED = "Your page had expired. Press the button again to confirm your signature."
ALREADY = "This signature was already confirmed: it is counted."


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def sign_and_open_link(client, smtp) -> tuple[str, str]:
    """Sign through the form, follow the emailed link: the link's token and its page."""
    page = client.get(CAMPAIGN)
    client.post(CAMPAIGN, data=sign_form(csrf_token=csrf_token(page.get_data(as_text=True))))
    [message] = smtp.wait_for(1)
    match = re.search(r"http://petition\.test(/en/confirm\?token=(\S+))", message.get_content())
    assert match, message.get_content()
    link, token = match.groups()
    opened = client.get(link)
    assert opened.status_code == 200
    return token, opened.get_data(as_text=True)


def press(client, token: str, html: str):
    """Press the button on the confirmation page ``html``."""
    return client.post("/en/confirm", data={"token": token, "csrf_token": csrf_token(html)})


def what_is_kept(html: str) -> dict[str, str]:
    """The confirmed page's receipt code, share link (without its language) and stats key."""
    receipt = re.search(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b", html)
    share = re.search(
        r'id="share-url" type="url" readonly value="http://petition\.test/\w\w/(s/[\w-]+)"', html
    )
    stats = re.search(r'href="/\w\w/links\?key=([\w-]+)"', html)
    assert receipt and share and stats, html
    return {"receipt": receipt.group(0), "share": share.group(1), "stats": stats.group(1)}


def language_form(html: str, lang: str) -> tuple[str, dict[str, str]]:
    """The switcher's form for ``lang``: where it posts and the fields it sends."""
    switcher = re.search(r'<nav class="languages".*?</nav>', html, re.S)
    assert switcher, html
    form = re.search(
        rf'<form method="post" action="(/{lang}/confirm)"[^>]*>(.*?)</form>',
        switcher.group(0),
        re.S,
    )
    assert form, f"no form for {lang} in the switcher: {switcher.group(0)}"
    fields = re.findall(r'<input name="(\w+)" type="hidden" value="([^"]*)">', form.group(2))
    return form.group(1), {name: unescape(value) for name, value in fields}


def share_links(app) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count(ShareLink.id)).where(ShareLink.signature_id.is_not(None))
        )


def test_switching_language_on_the_confirmed_page_keeps_receipt_and_share_link(app, client, smtp):
    token, page = sign_and_open_link(client, smtp)
    confirmed = press(client, token, page)
    assert confirmed.status_code == 200
    english = confirmed.get_data(as_text=True)
    kept = what_is_kept(english)
    # No language link on the page leads to an address without the token.
    assert not re.search(r'href="/\w\w/confirm"', english)

    action, fields = language_form(english, "ru")
    assert fields == {"csrf_token": csrf_token(english), "token": token}
    russian = client.post(action, data=fields)
    assert russian.status_code == 200
    html = russian.get_data(as_text=True)
    assert '<html lang="ru">' in html
    assert "Ваша подпись подтверждена. Спасибо!" in html
    assert what_is_kept(html) == kept

    # And back again, from the Russian page: still the same, and still one link only.
    action, fields = language_form(html, "kk")
    kazakh = client.post(action, data=fields).get_data(as_text=True)
    assert '<html lang="kk">' in kazakh
    assert "Қолтаңбаңыз расталды. Рақмет!" in kazakh
    assert what_is_kept(kazakh) == kept
    assert share_links(app) == 1
    with app.app_context():
        assert counting.confirmed_count(db.session, 1) == 1


@pytest.mark.parametrize("session", ["none", "another"])
def test_a_press_without_the_pages_session_asks_again_and_the_next_press_confirms(
    app, client, smtp, session
):
    token, page = sign_and_open_link(client, smtp)
    # The button pressed in a browser that no longer sends the cookie of the page's session:
    # none at all (cleared, an in-app browser), or that of another one (a restored tab).
    browser = app.test_client()
    if session == "another":
        browser.get(CAMPAIGN)
    again = press(browser, token, page)
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert EXPIRED in html
    assert "Confirm my signature" in html
    assert f'name="token" type="hidden" value="{token}"' in html
    fresh = csrf_token(html)
    assert fresh != csrf_token(page)
    # Its language links carry the token too (this answer's own address has none).
    switcher = re.search(r'<nav class="languages".*?</nav>', html, re.S).group(0)
    assert f'href="/ru/confirm?token={token}"' in switcher
    with app.app_context():
        assert counting.confirmed_count(db.session, 1) == 0

    done = press(browser, token, html)
    assert done.status_code == 200
    assert "Your signature is confirmed" in done.get_data(as_text=True)
    with app.app_context():
        assert counting.confirmed_count(db.session, 1) == 1


def test_switching_language_without_the_pages_session_still_reaches_the_receipt(app, client, smtp):
    token, page = sign_and_open_link(client, smtp)
    english = press(client, token, page).get_data(as_text=True)
    kept = what_is_kept(english)
    action, fields = language_form(english, "ru")

    browser = app.test_client()  # the cookie is gone by the time the button is pressed
    asked = browser.post(action, data=fields)
    assert asked.status_code == 400
    html = asked.get_data(as_text=True)
    assert '<html lang="ru">' in html
    # Nothing left to confirm: the page says nothing of confirming again, and the button
    # now carries a token of this browser's session.
    assert "Confirm my signature" not in html
    assert kept["stats"] not in html
    shown = browser.post(action, data={"token": token, "csrf_token": csrf_token(html)})
    assert shown.status_code == 200
    assert what_is_kept(shown.get_data(as_text=True)) == kept


def test_a_used_link_says_the_signature_is_already_confirmed(app, client, smtp):
    token, page = sign_and_open_link(client, smtp)
    kept = what_is_kept(press(client, token, page).get_data(as_text=True))

    reopened = client.get(f"/en/confirm?token={token}")
    assert reopened.status_code == 200
    html = reopened.get_data(as_text=True)
    assert ALREADY in html
    assert "Confirm your signature" not in html
    assert "Confirm my signature" not in html
    # Opening the link shows nothing private: the stats address only comes from a POST.
    assert kept["stats"] not in html and kept["share"] not in html

    shown = press(client, token, html)
    assert shown.status_code == 200
    assert what_is_kept(shown.get_data(as_text=True)) == kept
    with app.app_context():
        assert counting.confirmed_count(db.session, 1) == 1


def test_a_forged_token_is_still_refused(client, smtp):
    token, _ = sign_and_open_link(client, smtp)
    forged = client.get(f"/en/confirm?token={token[:-2]}xx")
    assert forged.status_code == 400
    assert "not valid" in forged.get_data(as_text=True)


@pytest.mark.parametrize("confirmed_first", [False, True], ids=["pending", "confirmed"])
def test_an_invalidated_signatures_link_still_shows_the_button_and_refuses(
    app, client, smtp, confirmed_first
):
    token, page = sign_and_open_link(client, smtp)
    if confirmed_first:
        press(client, token, page)
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        signature.status = SignatureStatus.INVALIDATED
        db.session.commit()
    reopened = client.get(f"/en/confirm?token={token}")
    html = reopened.get_data(as_text=True)
    assert reopened.status_code == 200
    assert "Confirm my signature" in html
    assert ALREADY not in html
    refused = press(client, token, html)
    assert refused.status_code == 400
    assert "can no longer be confirmed" in refused.get_data(as_text=True)
    assert "Your receipt code" not in refused.get_data(as_text=True)


def test_an_erased_signatures_link_does_not_work(app, client, smtp):
    token, page = sign_and_open_link(client, smtp)
    with app.app_context():
        erasure.erase(db.session, db.session.scalars(select(Signature)).one())
        db.session.commit()
    for answer in (client.get(f"/en/confirm?token={token}"), press(client, token, page)):
        assert answer.status_code == 400
        assert "This link does not work" in answer.get_data(as_text=True)
