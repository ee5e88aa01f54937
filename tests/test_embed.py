"""The embeddable widget: framed only by the configured sites; every other page refuses framing."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from campaign import counting, sharing
from campaign.models import Campaign

ALLIES = "https://union.example https://allies.example"


@pytest.fixture
def config_overrides():
    return {"EMBED_FRAME_ANCESTORS": ALLIES}


def frame_ancestors(response) -> str:
    """The frame-ancestors sources of the response's Content-Security-Policy."""
    policy = response.headers["Content-Security-Policy"]
    match = re.search(r"frame-ancestors ([^;]+)", policy)
    assert match, policy
    return match.group(1).strip()


def test_widget_may_be_framed_by_the_configured_sites_only(client):
    response = client.get("/embed/en/zhanaozen/")
    assert response.status_code == 200
    assert frame_ancestors(response) == ALLIES
    assert "X-Frame-Options" not in response.headers
    # The rest of the policy stays as strict as everywhere else.
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy


@pytest.mark.parametrize(
    "path",
    [
        "/en/zhanaozen/",
        "/en/zhanaozen/thanks",
        "/en/zhanaozen/embed",
        "/en/zhanaozen/links",
        "/en/embassies/",
        "/en/zhanaozen/preview.png",
        "/en/zhanaozen/qr.svg",
        "/en/privacy",
    ],
)
def test_every_other_page_refuses_framing(client, path):
    response = client.get(path)
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_widget_refuses_framing_until_sites_are_configured(app, client):
    app.config["EMBED_FRAME_ANCESTORS"] = ""
    response = client.get("/embed/en/zhanaozen/")
    assert frame_ancestors(response) == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_widget_shows_count_and_a_sign_button_in_its_language(app, client):
    from campaign.extensions import db

    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
        counting.add(db.session, campaign.id, 1234)
        db.session.commit()
    response = client.get("/embed/kk/zhanaozen/?via=abcDEF123")
    page = response.get_data(as_text=True)
    assert '<html lang="kk">' in page
    assert "Жаңаөзен мұнайшыларымен ынтымақтастық" in page
    assert '<progress max="10000" value="1234"' in page
    assert "1\xa0234" in page
    button = re.search(r'<a class="button" href="([^"]+)"', page)
    assert button and html_lib.unescape(button.group(1)) == "/kk/zhanaozen/?via=abcDEF123"
    # Inside another site's frame, links open the petition in a tab of its own.
    assert '<base target="_blank">' in page
    # No language switcher, no form, no cookie from inside someone else's page.
    assert 'class="languages"' not in page
    assert "<form" not in page
    assert "Set-Cookie" not in response.headers


def test_widget_of_unknown_campaign_is_not_found(client):
    assert client.get("/embed/en/nowhere/").status_code == 404


def test_embed_code_page_gives_the_iframe_snippet_and_allowed_sites(client):
    page = client.get("/ru/zhanaozen/embed").get_data(as_text=True)
    snippet = html_lib.unescape(
        re.search(r'<textarea id="embed-code"[^>]*>([^<]+)</textarea>', page).group(1)
    )
    assert snippet.startswith('<iframe src="http://petition.test/embed/ru/zhanaozen/"')
    assert 'title="Солидарность с нефтяниками Жанаозена"' in snippet  # noqa: RUF001
    assert snippet.endswith("></iframe>")
    assert "<code>https://union.example</code>" in page
    assert "<code>https://allies.example</code>" in page
    assert 'aria-labelledby="code-heading"' in page


def test_embed_code_page_says_when_no_site_is_allowed(app, client):
    app.config["EMBED_FRAME_ANCESTORS"] = ""
    page = client.get("/en/zhanaozen/embed").get_data(as_text=True)
    assert "No site has been allowed yet" in page


def test_share_link_page_gives_a_snippet_that_credits_the_link(app, client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Allied site")
    session.commit()
    page = client.get(f"/en/links?key={link.stats_key}").get_data(as_text=True)
    snippet = html_lib.unescape(
        re.search(r'<textarea id="embed-code"[^>]*>([^<]+)</textarea>', page).group(1)
    )
    assert f'src="http://petition.test/embed/en/zhanaozen/?via={link.code}"' in snippet
    # The widget hands the code on, so signatures from the allied site are credited.
    widget = client.get(f"/embed/en/zhanaozen/?via={link.code}").get_data(as_text=True)
    assert f'href="/en/zhanaozen/?via={link.code}"' in widget


def test_no_link_in_the_widget_opens_the_bare_widget_in_a_new_tab(client):
    page = client.get("/embed/en/zhanaozen/").get_data(as_text=True)
    assert '<base target="_blank">' in page
    # Under that base a link within the page ("Skip to content", href="#main") would open
    # the widget alone in a new tab: any such link must say it stays in the frame.
    for anchor in re.findall(r'<a\b[^>]*href="#[^"]*"[^>]*>', page):
        assert 'target="_self"' in anchor, anchor


def test_the_widget_labels_the_goal_as_the_organisers_in_few_words(client):
    page = client.get("/embed/en/zhanaozen/").get_data(as_text=True)
    assert re.search(r'class="goal">Goal set by the organisers: 10,000</p>', page)


def test_the_embed_code_page_loads_the_copy_script_from_this_site(client):
    response = client.get("/en/zhanaozen/embed")
    page = response.get_data(as_text=True)
    assert 'data-copy="embed-code"' in page
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts == ['<script src="/static/share.js" defer>']
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
