"""English, Russian and Kazakh: catalogs complete, pages and emails in the reader's language.

The catalog and page-language tests for Russian and Kazakh pass only once every message of
the site has been translated; until then they list what is missing.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from sqlalchemy import select

from campaign import campaigns, catalogs, confirming, counting, create_app, sharing
from campaign.models import Campaign
from tests.conftest import base_config
from tests.factories import (
    csrf_token,
    log_in,
    make_campaign,
    make_organiser,
    make_signature,
    sign_form,
)

LANGUAGES = ("en", "ru", "kk")
CYRILLIC = re.compile(r"[\u0400-\u04ff]")
LATIN = re.compile(r"[A-Za-z]")
# Letters of the Kazakh alphabet that Russian does not have.
KAZAKH_ONLY = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")


def _ids(path: Path) -> dict[str, object]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {
        message.id if isinstance(message.id, str) else message.id[0]: message
        for message in catalog
        if message.id
    }


# -- catalogs ---------------------------------------------------------------------------


def test_every_string_in_code_and_templates_is_in_the_catalog_template(tmp_path):
    extracted = tmp_path / "extracted.pot"
    catalogs.extract(extracted)
    found = _ids(extracted)
    assert len(found) > 100, "extraction found too little: check babel.cfg and the keywords"
    known = _ids(catalogs.TEMPLATE)
    missing = sorted(set(found) - set(known))
    assert not missing, (
        f"{len(missing)} strings are not in campaign/translations/messages.pot "
        f"(run `flask translate update`): {missing}"
    )


@pytest.mark.parametrize("lang", ["ru", "kk"])
def test_every_message_is_translated(lang):
    template = _ids(catalogs.TEMPLATE)
    catalog = _ids(catalogs.TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    untranslated = []
    for msgid in template:
        message = catalog.get(msgid)
        strings = (
            []
            if message is None
            else (
                list(message.string)
                if isinstance(message.string, tuple | list)
                else [message.string]
            )
        )
        if message is None or message.fuzzy or not all(strings):
            untranslated.append(msgid)
    assert not untranslated, (
        f"{len(untranslated)} messages lack a {lang} translation: {untranslated}"
    )


def test_translate_commands_extract_update_and_compile(tmp_path):
    directory = tmp_path / "translations"
    shutil.copytree(catalogs.TRANSLATIONS, directory, ignore=shutil.ignore_patterns("*.mo"))
    app = create_app(base_config(f"sqlite:///{tmp_path / 'unused.sqlite3'}"))
    runner = app.test_cli_runner()

    result = runner.invoke(args=["translate", "update", "--directory", str(directory)])
    assert result.exit_code == 0, result.output
    assert "Make the link" in _ids(directory / "messages.pot")
    for lang in ("ru", "kk"):
        assert "Make the link" in _ids(directory / lang / "LC_MESSAGES" / "messages.po")

    result = runner.invoke(args=["translate", "compile", "--directory", str(directory)])
    assert result.exit_code == 0, result.output
    for lang in ("ru", "kk"):
        assert (directory / lang / "LC_MESSAGES" / "messages.mo").stat().st_size > 0

    output = tmp_path / "only.pot"
    result = runner.invoke(args=["translate", "extract", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert "Sign the petition" in _ids(output)


# -- pages ------------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """The text a reader sees, leaving out parts marked as another language than the page's."""

    SKIPPED = {"script", "style", "textarea", "template"}
    VOID = {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }

    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.stack: list[bool] = []  # True where text is hidden or in another language
        self.parts: list[str] = []
        self.html_lang = ""

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "html":
            self.html_lang = values.get("lang") or ""
            return
        # Brand names and addresses (translate="no") belong to no language.
        other = (
            values.get("lang") not in (None, self.lang)
            or "hidden" in values
            or values.get("translate") == "no"
        )
        hidden = tag in self.SKIPPED or other or (self.stack and self.stack[-1])
        if not hidden:
            for name in ("aria-label", "alt", "title", "placeholder"):
                if values.get(name):
                    self.parts.append(values[name])
        if tag not in self.VOID:
            self.stack.append(bool(hidden))

    def handle_endtag(self, tag):
        if tag not in self.VOID and tag != "html" and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if not (self.stack and self.stack[-1]):
            self.parts.append(data)

    def text(self) -> str:
        return " ".join(" ".join(self.parts).split())


@pytest.fixture(scope="module")
def english_phrases(tmp_path_factory) -> list[str]:
    """Phrases of two words or more from the English messages in the code and templates."""
    extracted = tmp_path_factory.mktemp("catalog") / "messages.pot"
    catalogs.extract(extracted)
    phrases = set()
    for msgid in _ids(extracted):
        for fragment in re.split(r"%\(\w+\)[sd]|%[sd]", msgid):
            fragment = " ".join(fragment.split()).strip(" .,:;()“”")
            if len(fragment.split()) >= 2:
                phrases.add(fragment)
    return sorted(phrases)


@pytest.fixture
def page_paths(app):
    """Every public page, in each language: {name: path with {lang}}, as (method, path, data)."""
    from campaign.extensions import db

    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
        link = sharing.create_named(db.session, campaign, "Branch")
        signature = make_signature(db.session, campaign, confirmed=False, country="AT")
        db.session.commit()
        token = confirming.make_token(signature)
        key = link.stats_key
    return {
        "campaign": "/{lang}/zhanaozen/",
        "thanks": "/{lang}/zhanaozen/thanks?country=AT",
        "resend": "/{lang}/zhanaozen/resend",
        "confirm": f"/{{lang}}/confirm?token={token}",
        "confirm_invalid": "/{lang}/confirm?token=not-a-token",
        "links": "/{lang}/zhanaozen/links",
        "stats": f"/{{lang}}/links?key={key}",
        "embed_code": "/{lang}/zhanaozen/embed",
        "widget": "/embed/{lang}/zhanaozen/",
        "embassies": "/{lang}/embassies/",
        "privacy": "/{lang}/privacy",
        "not_found": "/{lang}/nowhere/",
    }, token


def confirmed_page(client, lang: str, token: str) -> str:
    page = client.get(f"/{lang}/confirm?token={token}")
    return client.post(
        f"/{lang}/confirm",
        data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))},
    ).get_data(as_text=True)


def rendered_pages(client, page_paths, lang: str) -> dict[str, str]:
    paths, token = page_paths
    pages = {
        name: client.get(path.format(lang=lang)).get_data(as_text=True)
        for name, path in paths.items()
    }
    pages["confirmed"] = confirmed_page(client, lang, token)
    return pages


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_public_page_is_in_its_language(client, page_paths, english_phrases, lang):
    pages = rendered_pages(client, page_paths, lang)
    phrases = english_phrases if lang != "en" else []
    problems = []
    for name, html in pages.items():
        parser = VisibleText(lang)
        parser.feed(html)
        text = parser.text()
        if parser.html_lang != lang:
            problems.append(f"{name}: <html lang={parser.html_lang!r}>")
        if lang == "en":
            if CYRILLIC.search(text):
                problems.append(
                    f"{name}: Cyrillic in an English page: {CYRILLIC.findall(text)[:5]}"
                )
            continue
        left = [phrase for phrase in phrases if phrase in text]
        if left:
            problems.append(f"{name}: English left untranslated: {left}")
        latin, cyrillic = len(LATIN.findall(text)), len(CYRILLIC.findall(text))
        if cyrillic == 0 or latin > 0.1 * (latin + cyrillic):
            problems.append(f"{name}: mostly not Cyrillic ({latin} Latin, {cyrillic} Cyrillic)")
    assert not problems, "\n".join(problems)


def test_missing_campaign_text_falls_back_to_english_marked_as_such(app, client, session):
    campaign = make_campaign(session, slug="english-only")
    session.commit()
    assert campaigns.missing_languages(campaign) == ["ru", "kk"]
    html = client.get("/kk/english-only/").get_data(as_text=True)
    assert '<html lang="kk">' in html
    header = re.search(r'<header lang="en">\s*<h1>([^<]+)</h1>', html)
    assert header and header.group(1) == "Title of english-only"
    assert re.search(r'<ol lang="en">\s*<li><h3>Demand</h3>', html)
    # Where the campaign has the language, nothing is marked.
    own = client.get("/kk/zhanaozen/").get_data(as_text=True)
    assert "<header>\n    <h1>Жаңаөзен" in own
    assert '<ol lang="en">' not in own


# -- choosing the language --------------------------------------------------------------


def test_language_comes_from_url_then_cookie_then_accept_language_then_english(client):
    assert client.get("/").location.endswith("/en/zhanaozen/")
    assert client.get("/", headers={"Accept-Language": "kk,ru;q=0.8"}).location.endswith(
        "/kk/zhanaozen/"
    )
    client.get("/ru/zhanaozen/")  # a page in a URL language remembers it
    assert client.get("/", headers={"Accept-Language": "kk"}).location.endswith("/ru/zhanaozen/")
    # The URL wins over the saved choice.
    assert '<html lang="en">' in client.get("/en/zhanaozen/").get_data(as_text=True)
    assert client.get("/de/zhanaozen/").status_code == 404


def test_only_a_page_read_remembers_its_language(app, session):
    # An image, a PDF or a redirect is not reading; a cookie on it would also keep the
    # proxy from caching it in a surge.
    from campaign import sharing

    link = sharing.create_named(session, session.get(Campaign, 1), "Union")
    session.commit()
    for path in (
        "/ru/zhanaozen/qr.png",
        "/ru/zhanaozen/preview.png",
        "/ru/zhanaozen/flyer.pdf",
        f"/ru/s/{link.code}",
    ):
        response = app.test_client().get(path)
        assert response.status_code in (200, 302), path
        assert "Set-Cookie" not in response.headers, path
    page = app.test_client().get("/ru/zhanaozen/")
    assert page.headers["Set-Cookie"].startswith("lang=ru;")


@pytest.mark.parametrize(
    "path",
    [
        "/{lang}/zhanaozen/",
        "/{lang}/zhanaozen/thanks?country=AT",
        "/{lang}/zhanaozen/resend",
        "/{lang}/zhanaozen/links",
        "/{lang}/zhanaozen/embed",
        "/{lang}/embassies/",
        "/{lang}/privacy",
    ],
)
def test_pages_have_a_switcher_and_hreflang_alternates(client, path):
    html = client.get(path.format(lang="ru")).get_data(as_text=True)
    assert '<html lang="ru">' in html
    switcher = re.search(r'<nav class="languages".*?</nav>', html, flags=re.S).group(0)
    links = dict(re.findall(r'href="([^"]+)" hreflang="(\w\w)"', switcher))
    assert sorted(links.values()) == sorted(LANGUAGES)
    for href, lang in links.items():
        assert href == path.format(lang=lang)
    assert re.search(r'hreflang="ru" lang="ru" aria-current="true"', switcher)

    alternates = dict(
        re.findall(r'<link rel="alternate" hreflang="([\w-]+)" href="([^"]+)">', html)
    )
    bare = path.split("?")[0]
    expected = {lang: "http://petition.test" + bare.format(lang=lang) for lang in LANGUAGES}
    expected["x-default"] = expected["en"]
    assert alternates == expected


def test_the_organisers_switcher_keeps_them_on_the_same_page(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below must choose its own locale.
    with app.app_context():
        organiser = make_organiser(db.session)
        db.session.commit()
        assert log_in(client, organiser).status_code == 303
    dashboard = "/organisers/campaigns/zhanaozen/"
    html = client.get(dashboard).get_data(as_text=True)
    assert '<html lang="en">' in html
    switcher = re.search(r'<nav class="languages".*?</nav>', html, flags=re.S).group(0)
    links = {
        lang: unescape(href)
        for href, lang in re.findall(r'href="([^"]+)" hreflang="(\w\w)"', switcher)
    }
    assert links == {lang: f"{dashboard}?lang={lang}" for lang in LANGUAGES}

    russian = client.get(links["ru"])
    html = russian.get_data(as_text=True)
    assert russian.status_code == 200
    assert '<html lang="ru">' in html
    # Still the dashboard, with the organisers' own navigation, now in Russian.
    assert '<nav class="organiser-nav" aria-label="Организаторы">' in html
    assert "Журнал действий" in html
    assert russian.request.path == dashboard
    # Remembered: the organiser's next page, named without a language, is in Russian too.
    audit = client.get("/organisers/audit?action=&page=1").get_data(as_text=True)
    assert '<html lang="ru">' in audit
    # Its links keep the page's own query, and name the language once.
    switcher = re.search(r'<nav class="languages".*?</nav>', audit, flags=re.S).group(0)
    hrefs = [unescape(href) for href in re.findall(r'href="([^"]+)"', switcher)]
    assert hrefs == [f"/organisers/audit?action=&page=1&lang={lang}" for lang in LANGUAGES]
    assert re.search(r'hreflang="ru" lang="ru" aria-current="true"', switcher)
    kazakh = client.get(hrefs[2]).get_data(as_text=True)
    assert '<html lang="kk">' in kazakh
    assert 'href="/organisers/audit?action=&amp;page=1&amp;lang=en"' in kazakh
    # The public site is not where the organisers' switcher leads, but it follows the choice.
    assert client.get("/").location.endswith("/kk/zhanaozen/")


def test_private_and_framed_pages_have_no_alternates(app, client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Branch")
    session.commit()
    for path in (f"/ru/links?key={link.stats_key}", "/embed/ru/zhanaozen/"):
        assert 'rel="alternate"' not in client.get(path).get_data(as_text=True)


def test_share_links_keep_the_language(app, client, session):
    html = client.get("/kk/zhanaozen/thanks").get_data(as_text=True)
    assert 'id="share-url" type="url" readonly value="http://petition.test/kk/zhanaozen/"' in html
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    signature = make_signature(session, campaign, confirmed=False)
    session.commit()
    confirmed = confirmed_page(client, "kk", confirming.make_token(signature))
    short = re.search(r'readonly value="http://petition\.test(/kk/s/[\w-]+)"', confirmed)
    assert short
    assert client.get(short.group(1)).location.startswith("/kk/zhanaozen/?via=")


def test_numbers_dates_and_countries_are_localized(app, client):
    from campaign.extensions import db

    # Set up in an app context of its own: each request below must choose its own locale.
    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
        counting.add(db.session, campaign.id, 12345)
        link = sharing.create_named(db.session, campaign, "Branch")
        for _ in range(5):  # a share link's page shows no number below five
            make_signature(db.session, campaign, share_code=link.code, country="AT")
        db.session.commit()
    assert "12,350" in client.get("/en/zhanaozen/").get_data(as_text=True)
    for lang in ("ru", "kk"):
        assert "12\xa0350" in client.get(f"/{lang}/zhanaozen/").get_data(as_text=True)
    stats = client.get(f"/ru/links?key={link.stats_key}").get_data(as_text=True)
    assert f"<td>{format_date(datetime.now(UTC).date(), 'medium', locale='ru')}</td>" in stats
    assert "<td>Австрия</td>" in stats
    # Babel's (CLDR's) Kazakh name for Austria.
    kk_stats = client.get(f"/kk/links?key={link.stats_key}").get_data(as_text=True)
    assert "<td>Аустрия</td>" in kk_stats


# -- email ------------------------------------------------------------------------------


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def _words_of_the_site(text: str, title: str) -> str:
    """An email's text without what the supporter or the campaign wrote, links and codes."""
    text = text.replace(title, " ").replace("Aigerim Test", " ")
    text = re.sub(r"https?://\S+", " ", text)
    return re.sub(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b", " ", text)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_confirmation_email_is_in_the_language_of_signing(app, client, smtp, session, lang):
    page = client.get(f"/{lang}/zhanaozen/")
    client.post(
        f"/{lang}/zhanaozen/", data=sign_form(csrf_token=csrf_token(page.get_data(as_text=True)))
    )
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    title = campaigns.text_for(campaign, lang).title
    assert f"http://petition.test/{lang}/confirm?token=" in message.get_content()
    for part in (message["Subject"], message.get_content()):
        words = _words_of_the_site(part, title)
        latin, cyrillic = len(LATIN.findall(words)), len(CYRILLIC.findall(words))
        if lang == "en":
            assert cyrillic == 0 and latin > 10, words
        else:
            assert cyrillic > 10 and latin == 0, words
        if lang == "kk":
            assert KAZAKH_ONLY.search(words), words
