"""Share links: made by anyone or on confirming, followed, credited, counted without names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from babel.dates import format_date
from sqlalchemy import select

from campaign import sharing
from campaign.models import Campaign, ShareLink, Signature
from tests.factories import csrf_token, make_campaign, make_signature, sign_form

CAMPAIGN = "/en/zhanaozen/"


@pytest.fixture
def config_overrides(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port}


def make_named_link(client, label="Unite North West", lang="en"):
    """Create a named link through the public form; returns (stats path, short path)."""
    form = client.get(f"/{lang}/zhanaozen/links")
    assert form.status_code == 200
    made = client.post(
        f"/{lang}/zhanaozen/links",
        data={"label": label, "csrf_token": csrf_token(form.get_data(as_text=True))},
    )
    assert made.status_code == 303, made.get_data(as_text=True)
    stats_path = made.location
    page = client.get(stats_path).get_data(as_text=True)
    short = re.search(rf'value="http://petition\.test(/{lang}/s/[\w-]+)"', page)
    assert short, page
    return stats_path, short.group(1)


def sign_via(client, path, **overrides):
    """Open ``path`` (a campaign page, maybe through a share link) and sign there."""
    page = client.get(path, follow_redirects=True)
    html = page.get_data(as_text=True)
    via = re.search(r'id="via" name="via" type="hidden" value="([^"]*)"', html)
    data = sign_form(**overrides)
    data["csrf_token"] = csrf_token(html)
    data["via"] = via.group(1) if via else ""
    return client.post(page.request.path, data=data)


def confirm(client, message):
    """Confirm the signature an email is about; returns the confirmed page's HTML."""
    body = message.get_content()
    token = re.search(r"/confirm\?token=(\S+)", body).group(1)
    lang = re.search(r"http://petition\.test/(\w\w)/confirm", body).group(1)
    page = client.get(f"/{lang}/confirm?token={token}")
    done = client.post(
        f"/{lang}/confirm",
        data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True))},
    )
    assert done.status_code == 200
    return done.get_data(as_text=True)


def test_named_link_end_to_end_counts_only_confirmed_signatures(app, client, smtp):
    stats_path, short = make_named_link(client)
    stats_page = client.get(stats_path).get_data(as_text=True)
    assert "Unite North West" in stats_page
    assert "brought fewer than 5 confirmed signatures so far" in stats_page

    followed = client.get(short)
    assert followed.status_code == 302
    code = short.rsplit("/", 1)[1]
    assert followed.location == f"/en/zhanaozen/?via={code}"
    assert f'name="via" type="hidden" value="{code}"' in client.get(followed.location).get_data(
        as_text=True
    )

    assert sign_via(client, short, email="one@example.org", country="AT").status_code == 303
    assert sign_via(client, short, email="two@example.org", country="AT").status_code == 303
    assert sign_via(client, short, email="three@example.org", country="BR").status_code == 303
    # A signature made without the link is not credited to it.
    assert sign_via(client, CAMPAIGN, email="four@example.org").status_code == 303
    assert len(smtp.messages) == 4

    # Nothing counts before confirmation.
    before = client.get(stats_path).get_data(as_text=True)
    assert "brought fewer than 5 confirmed signatures so far" in before

    for message in smtp.messages:
        if message["To"] != "three@example.org":
            confirm(client, message)
    # Two confirmed through the link: too few to show, or the link's maker could tell
    # whether the one person they gave it to signed.
    page = client.get(stats_path).get_data(as_text=True)
    assert page.count("<td>") == 0
    assert "brought fewer than 5 confirmed signatures so far" in page
    assert "Austria" not in page

    for number in range(3):
        sign_via(client, short, email=f"more{number}@example.org", country="AT")
        confirm(client, smtp.messages[-1])
    page = client.get(stats_path).get_data(as_text=True)
    assert "brought 5 confirmed signatures" in page
    today = format_date(datetime.now(UTC).date(), "medium", locale="en")
    assert re.search(rf"<td>{re.escape(today)}</td><td>5</td>", page)
    assert re.search(r"<td>Austria</td><td>5</td>", page)
    assert "Other countries" not in page
    assert "Brazil" not in page  # three@ never confirmed

    confirm(client, next(m for m in smtp.messages if m["To"] == "three@example.org"))
    page = client.get(stats_path).get_data(as_text=True)
    assert "brought 6 confirmed signatures" in page
    assert re.search(r"<td>Austria</td><td>5</td>", page)
    # One signer from Brazil: counted among the other countries, never named.
    assert "Brazil" not in page
    assert re.search(r"<td>Other countries</td><td>1</td>", page)

    from campaign.extensions import db

    with app.app_context():
        link = db.session.scalar(select(ShareLink).where(ShareLink.code == code))
        credited = db.session.scalars(
            select(Signature.email).where(Signature.share_link_id == link.id)
        ).all()
        assert sorted(credited) == [
            "more0@example.org",
            "more1@example.org",
            "more2@example.org",
            "one@example.org",
            "three@example.org",
            "two@example.org",
        ]


def test_stats_page_shows_nothing_personal(app, client, smtp):
    stats_path, short = make_named_link(client, label="Teachers for Zhanaozen")
    sign_via(
        client,
        short,
        name="Gulnara Secretname",
        email="gulnara.private@example.org",
        city="Hiddenville",
        organisation="Secret Union",
        comment="A private remark",
        display="full",
    )
    confirm(client, smtp.messages[-1])
    # Shown from the first signature on, to see that even then nothing personal is.
    app.config["SHARE_STATS_SMALLEST"] = 1
    response = client.get(stats_path)
    page = response.get_data(as_text=True)
    assert "brought 1 confirmed signature" in page
    for personal in (
        "Gulnara",
        "Secretname",
        "gulnara.private",
        "example.org",
        "Hiddenville",
        "Secret Union",
        "private remark",
    ):
        assert personal not in page
    # Reached through a secret address: never stored by a cache or indexed.
    assert "no-store" in response.headers["Cache-Control"]
    assert 'name="robots" content="noindex' in page


def test_every_signer_gets_a_personal_link_on_confirming(app, client, smtp):
    sign_via(client, CAMPAIGN)
    confirmed = confirm(client, smtp.messages[-1])
    short = re.search(
        r'id="share-url" type="url" readonly value="http://petition\.test([^"]+)"', confirmed
    )
    assert short and re.fullmatch(r"/en/s/[\w-]{12,}", short.group(1))
    stats = re.search(r'href="(/en/links\?key=[\w-]+)"', confirmed)
    assert stats
    # The share buttons carry the personal link, not the bare campaign address.
    x = re.search(r'href="(https://x\.com/intent/post\?[^"]+)"', confirmed).group(1)
    assert parse_qs(urlsplit(x.replace("&amp;", "&")).query)["url"] == [
        f"http://petition.test{short.group(1)}"
    ]

    # Confirming again (a second press, a reload) shows the same link.
    again = confirm(client, smtp.messages[-1])
    assert short.group(1) in again

    # Someone the signer shares with signs through it, and it counts for the signer's link.
    other = sign_via(client, short.group(1), email="friend@example.org")
    assert other.status_code == 303
    confirm(client, smtp.messages[-1])
    app.config["SHARE_STATS_SMALLEST"] = 1
    page = client.get(stats.group(1)).get_data(as_text=True)
    assert "Your personal share link" in page
    assert "brought 1 confirmed signature" in page
    assert "Aigerim" not in page


def test_link_codes_are_random_and_say_nothing(app, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    links = [sharing.create_named(session, campaign, f"Branch {n}") for n in range(5)]
    signature = make_signature(session, campaign)
    links.append(sharing.personal_link(session, signature))
    codes = [link.code for link in links]
    keys = [link.stats_key for link in links]
    assert len(set(codes)) == len(codes)
    assert len(set(keys)) == len(keys)
    for link in links:
        assert len(link.code) >= 12 and len(link.stats_key) >= 40
        assert not link.code.isdigit()
        assert link.code not in link.stats_key
        assert str(link.id) != link.code
    # The same signer keeps one personal link.
    assert sharing.personal_link(session, signature).id == links[-1].id


def test_a_personal_link_never_passes_to_a_later_signature_with_the_same_id(app, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    signature = make_signature(session, campaign)
    # What an erased signer's link looks like once the database reuses the id.
    stale = ShareLink(
        campaign_id=campaign.id,
        code="stale-code-0001",
        stats_key="stale-key-" + "x" * 40,
        signature_id=signature.id,
        created_at=signature.created_at - timedelta(days=3),
    )
    session.add(stale)
    session.flush()
    link = sharing.personal_link(session, signature)
    assert link.id != stale.id
    assert sharing.personal_link(session, signature).id == link.id


def test_a_link_of_another_campaign_is_not_credited(app, session):
    zhanaozen = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    other = make_campaign(session)
    foreign = sharing.create_named(session, other, "Elsewhere")
    signature = make_signature(session, zhanaozen, share_code=foreign.code)
    assert signature.share_link_id is None
    own = sharing.create_named(session, zhanaozen, "Here")
    assert make_signature(session, zhanaozen, share_code=own.code).share_link_id == own.id


def test_stats_counts_by_utc_day_and_country(app, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Dockers")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    for country in ("DE", "DE", "FR"):
        make_signature(session, campaign, share_code=link.code, country=country)
    old = make_signature(session, campaign, share_code=link.code, country="FR")
    old.confirmed_at = yesterday
    make_signature(session, campaign, share_code=link.code, confirmed=False, country="IT")
    session.flush()
    stats = sharing.stats(session, link, smallest=1)
    assert stats.total == 4
    assert stats.by_country == [("DE", 2), ("FR", 2)]
    assert stats.by_day == [(datetime.now(UTC).date(), 3), (yesterday.date(), 1)]
    assert (stats.other_days, stats.other_countries) == (0, 0)


def test_stats_hold_back_small_numbers(app, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "One person")
    for _ in range(3):
        make_signature(session, campaign, share_code=link.code, country="DE")
    session.flush()
    hidden = sharing.stats(session, link, smallest=4)
    assert (hidden.total, hidden.by_day, hidden.by_country) == (None, [], [])

    yesterday = datetime.now(UTC) - timedelta(days=1)
    make_signature(session, campaign, share_code=link.code, country="DE")
    make_signature(session, campaign, share_code=link.code, country="KZ").confirmed_at = yesterday
    session.flush()
    shown = sharing.stats(session, link, smallest=4)
    assert shown.total == 5
    assert shown.by_day == [(datetime.now(UTC).date(), 4)]
    assert shown.by_country == [("DE", 4)]
    # The one from Kazakhstan, a day earlier, is in the remainders, which name no day or country.
    assert (shown.other_days, shown.other_countries) == (1, 1)


def test_leaderboard_ranks_links_by_confirmed_signatures(app, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    first = sharing.create_named(session, campaign, "Most")
    second_signer = make_signature(session, campaign)
    second = sharing.personal_link(session, second_signer)
    third = sharing.create_named(session, campaign, "Least")
    sharing.create_named(session, campaign, "Nothing yet")
    for _ in range(3):
        make_signature(session, campaign, share_code=first.code)
    make_signature(session, campaign, share_code=first.code, confirmed=False)
    for _ in range(2):
        make_signature(session, campaign, share_code=second.code)
    make_signature(session, campaign, share_code=third.code)
    other = make_campaign(session)
    elsewhere = sharing.create_named(session, other, "Other campaign")
    for _ in range(5):
        make_signature(session, other, share_code=elsewhere.code)

    board = sharing.leaderboard(session, campaign.id, limit=10)
    assert [(row.label, row.signatures, row.personal) for row in board] == [
        ("Most", 3, False),
        ("", 2, True),
        ("Least", 1, False),
    ]
    assert [row.link_id for row in sharing.leaderboard(session, campaign.id, limit=2)] == [
        first.id,
        second.id,
    ]


def test_link_form_requires_a_name_and_ties_the_error_to_the_field(client):
    form = client.get("/en/zhanaozen/links")
    response = client.post(
        "/en/zhanaozen/links",
        data={"label": "\u200b ", "csrf_token": csrf_token(form.get_data(as_text=True))},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="label-error"' in html
    assert re.search(r'<input[^>]*aria-describedby="label-hint label-error"', html)
    assert 'aria-invalid="true"' in html
    # Focus goes to the field in error, so a screen reader reads out what went wrong.
    assert re.search(
        r'<input[^>]*autofocus[^>]*id="label"|<input[^>]*id="label"[^>]*autofocus', html
    )


def test_link_form_without_token_keeps_the_name_and_makes_nothing(app, client):
    response = client.post("/en/zhanaozen/links", data={"label": "Kept Label"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'value="Kept Label"' in html
    assert re.search(r'<p class="errors" role="alert" tabindex="-1" autofocus>', html)
    from campaign.extensions import db

    with app.app_context():
        assert db.session.scalars(select(ShareLink)).all() == []


def test_making_links_is_rate_limited(app, client):
    app.config["RATELIMIT_LINKS"] = "2 per minute"
    token = csrf_token(client.get("/en/zhanaozen/links").get_data(as_text=True))
    codes = [
        client.post(
            "/en/zhanaozen/links", data={"label": f"Group {n}", "csrf_token": token}
        ).status_code
        for n in range(3)
    ]
    assert codes == [303, 303, 429]


def test_unknown_codes_and_keys_are_not_found(client):
    assert client.get("/en/s/not-a-code").status_code == 404
    assert client.get("/en/links?key=not-a-key").status_code == 404
    assert client.get("/en/links").status_code == 404
    assert client.get("/en/s/not-a-code/qr.png").status_code == 404


def test_share_buttons_carry_prepared_text_in_the_pages_language(client):
    html = client.get("/ru/zhanaozen/").get_data(as_text=True)
    hrefs = re.findall(r'<a href="([^"]+)" rel="noopener noreferrer"', html)
    by_host = {
        urlsplit(href.replace("&amp;", "&")).netloc: href.replace("&amp;", "&") for href in hrefs
    }
    assert {"x.com", "www.facebook.com", "wa.me", "t.me", "vk.com"} <= set(by_host)
    url = "http://petition.test/ru/zhanaozen/"
    share_text = "Я поддерживаю нефтяников Жанаозена"
    x = parse_qs(urlsplit(by_host["x.com"]).query)
    assert x["url"] == [url] and x["text"][0].startswith(share_text)
    telegram = parse_qs(urlsplit(by_host["t.me"]).query)
    assert telegram["url"] == [url] and telegram["text"][0].startswith(share_text)
    whatsapp = parse_qs(urlsplit(by_host["wa.me"]).query)
    assert whatsapp["text"][0].startswith(share_text) and whatsapp["text"][0].endswith(url)
    assert parse_qs(urlsplit(by_host["www.facebook.com"]).query)["u"] == [url]
    assert parse_qs(urlsplit(by_host["vk.com"]).query)["url"] == [url]
    mailto = re.search(r'href="(mailto:\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert unquote(mailto).endswith(url)
    assert "Солидарность с нефтяниками Жанаозена" in unquote(mailto)  # noqa: RUF001
    # Copy link and the browser's share sheet are there for the script to switch on.
    assert 'readonly value="http://petition.test/ru/zhanaozen/"' in html
    assert re.search(r'<button type="button" class="copy" data-copy="share-url" hidden>', html)
    assert 'data-share-url="http://petition.test/ru/zhanaozen/"' in html


class _Resources(HTMLParser):
    """Collects every address a page makes the browser load."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if "src" in values:
            self.loaded.append(values["src"] or "")
        if tag == "link" and values.get("rel") in {
            "stylesheet",
            "icon",
            "preload",
            "modulepreload",
        }:
            self.loaded.append(values.get("href") or "")
        if "style" in values or any(name.startswith("on") for name in values):
            self.loaded.append(f"inline {tag} {values}")

    def handle_data(self, data):
        pass


def test_pages_load_nothing_from_third_parties_and_run_no_inline_code(app, client, smtp):
    stats_path, _short = make_named_link(client)
    for path in (
        CAMPAIGN,
        "/en/zhanaozen/thanks?country=AT",
        "/en/zhanaozen/links",
        stats_path,
        "/en/zhanaozen/embed",
        "/en/embassies/",
        "/embed/en/zhanaozen/",
    ):
        html = client.get(path).get_data(as_text=True)
        parser = _Resources()
        parser.feed(html)
        assert parser.loaded, path
        for address in parser.loaded:
            assert address.startswith("/static/"), (path, address)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path


def test_organisers_see_the_leaderboard_without_signers_names(app, client, session):
    from tests.factories import log_in, make_organiser

    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    branch = sharing.create_named(session, campaign, "Dockers' branch")
    signer = make_signature(session, campaign, name="Personal Linkowner")
    personal = sharing.personal_link(session, signer)
    for _ in range(2):
        make_signature(session, campaign, share_code=branch.code)
    make_signature(session, campaign, share_code=personal.code)
    organiser = make_organiser(session)
    session.commit()

    assert client.get("/organisers/campaigns/zhanaozen/links").status_code in (302, 303, 401, 403)
    assert log_in(client, organiser).status_code == 303
    page = client.get("/organisers/campaigns/zhanaozen/links")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    rows = re.findall(r"<tr>\s*<td class=\"number\">(\d+)</td>(.*?)</tr>", html, flags=re.S)
    assert [rank for rank, _row in rows] == ["1", "2"]
    assert "Dockers&#39; branch" in rows[0][1] and branch.code in rows[0][1]
    assert '<td class="number">2</td>' in rows[0][1]
    assert "personal link" in rows[1][1] and personal.code in rows[1][1]
    assert "Linkowner" not in html
    assert 'href="/organisers/campaigns/zhanaozen/links" aria-current="page"' in html


def test_a_refused_link_keeps_the_name_and_says_how_long_to_wait(app, client):
    # A union meeting on one Wi-Fi: the branch over the limit loses nothing it typed.
    app.config["RATELIMIT_LINKS"] = "1 per hour"
    token = csrf_token(client.get("/en/zhanaozen/links").get_data(as_text=True))
    first = client.post("/en/zhanaozen/links", data={"label": "Branch 1", "csrf_token": token})
    assert first.status_code == 303
    refused = client.post(
        "/en/zhanaozen/links", data={"label": "Unite, Branch 11", "csrf_token": token}
    )
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 3500 <= wait <= 3600
    html = refused.get_data(as_text=True)
    assert re.search(r'<input[^>]*value="Unite, Branch 11"', html)
    assert re.search(r'<form method="post"', html)
    assert re.search(
        r'<p class="errors" role="alert" tabindex="-1" autofocus>Many share links have just '
        r"been made from your connection \(people on one network share it\)\. Please wait "
        r"(1 hour|60 minutes), then press the button again",
        html,
    )
    # Pressing the button again, once the wait is over, makes the link.
    assert csrf_token(html)
