"""Organisers' pages as read: error pages, delivery formats, embassies in the page's language."""

from __future__ import annotations

import html
import re

import pytest

from campaign import countries
from campaign.extensions import db
from campaign.models import Campaign
from tests.factories import log_in, make_organiser, make_signature, page_token

CAMPAIGN = "/organisers/campaigns/zhanaozen"
DELIVERIES = f"{CAMPAIGN}/deliveries"
RECORD = f"{CAMPAIGN}/deliveries/record"
EXPORT = f"{CAMPAIGN}/export"


@pytest.fixture
def signed_in(app, client):
    """A coordinator signed in, set up in an app context of its own: each request below
    chooses its own language."""
    with app.app_context():
        organiser = make_organiser(db.session)
        make_signature(db.session, db.session.get(Campaign, 1), country="GB")
        db.session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


def in_language(client, lang: str, url: str) -> str:
    client.set_cookie("lang", lang)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def embassy_options(page: str) -> list[tuple[str, str, str]]:
    """(key, label, attributes) of each embassy offered by the page's embassy list."""
    select = re.search(r'<select[^>]* id="embassy"[^>]*>(.*?)</select>', page, re.S)
    assert select, "no embassy list"
    return [
        (key, html.unescape(label), attributes)
        for key, attributes, label in re.findall(
            r'<option(?: selected)? value="([a-z]{2}-[^"]+)"([^>]*)>([^<]*)</option>',
            select.group(1),
        )
    ]


# -- error pages ----------------------------------------------------------------------------


def test_error_pages_of_the_organisers_area_lead_to_the_organisers_home(app, signed_in):
    missing = signed_in.get(f"{CAMPAIGN.replace('zhanaozen', 'no-such-campaign')}/")
    page = missing.get_data(as_text=True)
    assert missing.status_code == 404
    assert '<a href="/organisers/">Go to the organisers\' home</a>' in page
    assert "Go to the campaign" not in page
    # Elsewhere the way back is still the campaign.
    public = app.test_client().get("/en/no-such-campaign/")
    assert public.status_code == 404
    assert "Go to the campaign" in public.get_data(as_text=True)
    assert 'href="/organisers/"' not in public.get_data(as_text=True)


# -- the delivery history -------------------------------------------------------------------


def test_the_delivery_history_names_the_format_as_the_record_form_does(signed_in):
    recorded = signed_in.post(
        RECORD,
        data={
            "embassy": "gb-london",
            "delivered_on": "2026-06-01",
            "method": "by hand",
            "export_format": "paper",
            "cutoff": "2026-05-31 12:00:00",
            "csrf_token": page_token(signed_in, RECORD),
        },
    )
    assert recorded.status_code == 303, recorded.get_data(as_text=True)

    for lang, printed in (("en", "Printed pack"), ("ru", "Распечатанный пакет")):
        record_form = in_language(signed_in, lang, RECORD)
        assert f'<option value="paper">{printed}</option>' in record_form
        page = in_language(signed_in, lang, DELIVERIES)
        row = re.search(r'<tr id="embassy-gb-london">(.*?)</tr>', page, re.S).group(1)
        history = " ".join(re.search(r'<ul class="deliveries">(.*?)</ul>', row, re.S)[1].split())
        assert f"· by hand · {printed} ·" in history, history
        assert "· paper" not in history


# -- embassies in the page's language -------------------------------------------------------


@pytest.mark.parametrize("url", [EXPORT, DELIVERIES, RECORD])
def test_embassy_lists_go_by_host_country_in_the_page_language(signed_in, url):
    english = embassy_options(in_language(signed_in, "en", url))
    keys = [key for key, _, _ in english]
    assert len(keys) > 50
    # The United Kingdom among the U's, the Russian Federation among the R's: not after Viet Nam.
    assert keys.index("ru-moscow") < keys.index("gb-london") < keys.index("vn-hanoi")
    assert keys.index("us-washington") < keys.index("vn-hanoi")
    labels = {key: label for key, label, _ in english}
    assert labels["gb-london"] == "Embassy of the Republic of Kazakhstan in the United Kingdom"
    assert all("lang=" not in attributes for _, _, attributes in english)

    russian = embassy_options(in_language(signed_in, "ru", url))
    assert sorted(key for key, _, _ in russian) == sorted(keys)
    named = {key: label for key, label, _ in russian}
    united_kingdom = countries.name("GB", "ru")
    assert named["gb-london"] == f"Посольство Республики Казахстан ({united_kingdom})"
    # In the order of the host countries' Russian names, which the labels show.
    hosts = [
        re.search(r"\((.*)\)$", label)[1]
        for _, label, _ in russian
        if label.startswith("Посольство Республики Казахстан (")
    ]
    assert len(hosts) > 50
    assert hosts == sorted(hosts, key=countries.sort_key("ru"))
    # A mission that keeps its English name says so to a screen reader.
    for _, label, attributes in russian:
        if label.isascii():
            assert 'lang="en"' in attributes, label


def test_the_deliveries_table_names_embassies_in_the_page_language(signed_in):
    page = in_language(signed_in, "kk", DELIVERIES)
    row = re.search(r'<tr id="embassy-gb-london">(.*?)</tr>', page, re.S).group(1)
    united_kingdom = countries.name("GB", "kk")
    assert f"Қазақстан Республикасының елшілігі ({united_kingdom})" in row
    assert "Embassy of the Republic of Kazakhstan in" not in row
    # The rows follow the host countries' names in Kazakh.
    rows = re.findall(r'<tr id="embassy-([a-z]{2})-', page)
    names = [countries.name(code.upper(), "kk") for code in rows]
    assert names == sorted(names, key=countries.sort_key("kk"))
