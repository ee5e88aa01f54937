"""The embassy directory page, and the thank-you and confirmed pages pointing to an embassy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from markupsafe import escape
from sqlalchemy import select

from campaign import confirming, countries, embassies
from campaign.models import Campaign, Embassy, Signature
from tests.factories import csrf_token, make_signature, sign_form

SEEDS = Path(__file__).resolve().parent.parent / "seeds" / "embassies.yaml"


def seeded() -> list[dict]:
    with SEEDS.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)["embassies"]


def rows(html: str) -> dict[str, str]:
    """Each row of the directory table by its country code."""
    return dict(re.findall(r'<tr id="([A-Z]{2})"[^>]*>(.*?)</tr>', html, flags=re.S))


def test_page_lists_every_seeded_embassy_for_every_country_it_covers(client):
    html = client.get("/en/embassies/").get_data(as_text=True)
    table = rows(html)
    entries = seeded()
    assert len(entries) > 50
    covered = 0
    for entry in entries:
        for code in entry.get("accredited") or [entry["country"]]:
            covered += 1
            assert str(escape(entry["name"])) in table[code], code
            assert str(escape(entry["city"])) in table[code], code
    assert len(table) == covered
    # Slovenia is covered from Vienna: the row says where the embassy is.
    assert "Embassy of the Republic of Kazakhstan in Austria" in table["SI"]
    assert "Vienna</span>, Austria" in table["SI"]


def test_unverified_entries_are_marked_and_verified_ones_are_not(app, client, session):
    austria = session.scalar(select(Embassy).where(Embassy.key == "at-vienna"))
    austria.verified = True
    session.commit()
    table = rows(client.get("/en/embassies/").get_data(as_text=True))
    for code in ("AT", "SI"):
        assert "Checked by the organisers" in table[code]
        assert "Not yet checked" not in table[code]
    unverified = [code for code in table if code not in ("AT", "SI")]
    assert unverified
    for code in unverified:
        assert '<span class="unverified">Not yet checked</span>' in table[code], code
        assert "Checked by the organisers" not in table[code]


def test_no_contact_details_are_invented(client):
    table = rows(client.get("/en/embassies/").get_data(as_text=True))
    by_code = {e["country"]: e for e in seeded()}
    bulgaria = by_code["BG"]
    assert bulgaria["website"] and not bulgaria["phone"] and not bulgaria["address"]
    assert f'href="{bulgaria["website"]}"' in table["BG"]
    assert "tel:" not in table["BG"]
    armenia = by_code["AM"]
    assert not any(armenia[k] for k in ("address", "phone", "email", "website"))
    assert "No contact details yet" in table["AM"]


def test_country_names_are_in_the_pages_language_and_sorted_for_it(client):
    html = client.get("/ru/embassies/").get_data(as_text=True)
    table = rows(html)
    assert '<th scope="row">Австрия</th>' in table["AT"]
    # The directory's embassies are named in the page's language; the city stays as the
    # directory has it, in English, marked so a reader's software knows.
    assert "Посольство Республики Казахстан" in table["AT"]
    assert "Embassy of" not in html
    assert '<span lang="en">Vienna</span>' in table["AT"]
    names = re.findall(r'<th scope="row">([^<]+)</th>', html)
    assert names == sorted(names, key=countries.sort_key("ru"))
    assert names.index("Австрия") < names.index("Азербайджан") < names.index("Япония")


def test_a_mission_named_otherwise_keeps_its_english_name_marked_as_english(client, session):
    embassy = session.scalar(select(Embassy).where(Embassy.key == "at-vienna"))
    embassy.name = "Consulate General of the Republic of Kazakhstan in Vienna"
    session.commit()
    html = client.get("/kk/embassies/").get_data(as_text=True)
    assert (
        '<span lang="en">Consulate General of the Republic of Kazakhstan in Vienna</span>'
        in rows(html)["AT"]
    )
    assert "Қазақстан Республикасының елшілігі" in rows(html)["AZ"]


def test_directory_service_sorts_by_localized_name(app, session):
    entries = embassies.directory(session, "kk")
    names = [entry.country_name for entry in entries]
    # In the Kazakh alphabet's order, not Unicode's, which puts Kazakh's own letters last.
    assert names.index("Аустрия") < names.index("Әзірбайжан") < names.index("Бельгия")
    assert names.index("Италия") < names.index("Қытай") < names.index("Латвия")
    assert names.index("Түркия") < names.index("Ұлыбритания") < names.index("Финляндия")
    assert embassies.for_country(session, "AT", "en").embassy.key == "at-vienna"
    assert embassies.for_country(session, "SI", "en").elsewhere
    assert embassies.for_country(session, "XX", "en") is None
    assert embassies.for_country(session, "", "en") is None


def test_choosing_a_country_shows_its_embassy(client):
    html = client.get("/en/embassies/?country=SI").get_data(as_text=True)
    assert re.search(r'<tr id="SI" class="chosen">', html)
    box = re.search(r'<section class="embassy".*?</section>', html, flags=re.S).group(0)
    assert "Protest at the embassy: Slovenia" in box
    assert "Not yet checked by the organisers" in box


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def test_thank_you_page_points_to_the_embassy_of_the_country_just_chosen(client, smtp):
    page = client.get("/en/zhanaozen/")
    response = client.post(
        "/en/zhanaozen/",
        data=sign_form(country="AT", csrf_token=csrf_token(page.get_data(as_text=True))),
    )
    assert response.status_code == 303
    assert response.location.endswith("/en/zhanaozen/thanks?country=AT")
    html = client.get(response.location).get_data(as_text=True)
    assert "Protest at the embassy: Austria" in html
    assert 'href="/en/embassies/?country=AT#AT"' in html


def test_thank_you_page_reveals_nothing_about_earlier_signatures(client, smtp):
    """Signing twice with one address gives exactly the same redirect and page."""
    answers = []
    for _ in range(2):
        page = client.get("/en/zhanaozen/")
        response = client.post(
            "/en/zhanaozen/",
            data=sign_form(country="AT", csrf_token=csrf_token(page.get_data(as_text=True))),
        )
        answers.append((response.status_code, response.location))
        answers.append(client.get(response.location).get_data(as_text=True))
    assert answers[0] == answers[2]
    assert answers[1] == answers[3]


def test_thank_you_page_without_an_embassy_links_the_directory(client):
    for query in ("", "?country=zz", "?country=%3Cscript%3E"):
        html = client.get(f"/en/zhanaozen/thanks{query}").get_data(as_text=True)
        assert '<section class="embassy"' not in html
        assert 'href="/en/embassies/"' in html
        assert "<script>" not in html


def test_signers_in_kazakhstan_are_not_urged_to_protest_at_an_embassy(client):
    # An embassy of Kazakhstan inside Kazakhstan makes no sense, and a public protest there
    # would put the signer at risk.
    for lang in ("en", "ru", "kk"):
        html = client.get(f"/{lang}/zhanaozen/thanks?country=KZ").get_data(as_text=True)
        assert '<section class="embassy"' not in html
        assert f'href="/{lang}/embassies/"' not in html
    elsewhere = client.get("/en/zhanaozen/thanks?country=DE").get_data(as_text=True)
    assert '<section class="embassy"' in elsewhere


def _confirmed_page(client, session, lang: str, country: str) -> tuple[Signature, str]:
    """A new signature from ``country``, and the page that confirming it shows in ``lang``."""
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    signature = make_signature(session, campaign, confirmed=False, country=country)
    session.commit()
    token = confirming.make_token(signature)
    page = client.get(f"/{lang}/confirm?token={token}")
    html = client.post(
        f"/{lang}/confirm",
        data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))},
    ).get_data(as_text=True)
    return signature, html


def test_confirmed_page_points_to_the_embassy_of_the_signers_country(app, client, session):
    _signature, html = _confirmed_page(client, session, "ru", "BE")
    assert "Бельгия" in html
    assert "<strong>Посольство Республики Казахстан</strong>" in html
    assert 'href="/ru/embassies/?country=BE#BE"' in html


def test_confirmed_page_urges_no_embassy_protest_on_signers_in_kazakhstan(app, client, session):
    signature, html = _confirmed_page(client, session, "kk", "KZ")
    assert signature.receipt in html  # the confirmed page
    assert '<section class="embassy"' not in html
    assert 'href="/kk/embassies/"' not in html
