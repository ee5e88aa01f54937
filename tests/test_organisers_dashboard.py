"""The organisers' dashboard: counts, the per-day chart, countries, links, surges, languages."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from campaign import charts, dashboard
from campaign.extensions import db
from campaign.models import Campaign, Embassy, Role, ShareLink, SignatureStatus
from tests.factories import log_in, make_campaign, make_organiser, make_signature

DASHBOARD = "/organisers/campaigns/zhanaozen/"


@pytest.fixture
def config_overrides():
    return {"DASHBOARD_SURGE_PER_ADDRESS": 3, "DASHBOARD_SURGE_PER_DOMAIN": 4}


@pytest.fixture
def signed_in(client, session):
    organiser = make_organiser(session)
    session.commit()
    assert log_in(client, organiser).status_code == 303
    return client


def number(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}">(?:<a [^>]*>)?([^<]+)<', html)
    assert match, element_id
    return match.group(1)


def test_counts_chart_countries_links(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    london = session.scalar(select(Embassy).where(Embassy.key == "gb-london"))
    london.verified = True
    link = ShareLink(campaign_id=1, code="union-link", stats_key="k" * 40, label="Union newsletter")
    session.add(link)
    session.flush()
    for _ in range(3):
        make_signature(session, campaign, country="GB")
    kz = [make_signature(session, campaign, country="KZ") for _ in range(2)]
    for signature in kz:
        signature.share_link_id = link.id
    make_signature(session, campaign, country="AT")
    make_signature(session, campaign, confirmed=False, country="GB")
    gone = make_signature(session, campaign, country="GB")
    gone.status = SignatureStatus.INVALIDATED
    from campaign import counting

    counting.add(session, 1, -1)
    session.commit()

    response = signed_in.get(DASHBOARD)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert number(html, "count-confirmed") == "6"
    assert number(html, "count-pending") == "1"
    assert number(html, "count-invalidated") == "1"

    svg = re.search(r"<svg class=\"bars\".*?</svg>", html, re.S).group(0)
    assert '<title id="chart-title">Confirmed signatures per day</title>' in svg
    assert "6 signatures confirmed in all" in svg
    assert len(re.findall(r'<rect class="bar"', svg)) == 30
    # Today's bar holds all six and reaches the top of the plot; the others are empty.
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert heights[-1] > 0 and heights[:-1] == [0.0] * 29
    table = re.search(r'<details class="chart-data">.*?</details>', html, re.S).group(0)
    assert len(re.findall(r"<tr><th scope=\"row\">", table)) == 30
    assert re.search(r'<td class="number">6</td></tr>\s*</tbody>', table)

    countries = re.search(r'<table class="data countries">.*?</table>', html, re.S).group(0)
    rows = re.findall(r"<tr(?: class=\"flagged\")?>.*?</tr>", countries, re.S)
    body = [r for r in rows if 'scope="row"' in r]
    assert "United Kingdom" in body[0] and ">3<" in body[0]
    assert "London" in body[0] and "not verified" not in body[0] and "flagged" not in body[0]
    assert "Kazakhstan" in body[1] and "no embassy in the directory" in body[1]
    assert "Austria" in body[2] and "not verified" in body[2]
    assert len(body) == 3

    assert re.search(
        r"Union newsletter <code>union-link</code>.*?<td class=\"number\">2</td>", html, re.S
    )


def test_surges_flag_busy_addresses_and_domains(app, session, signed_in):
    campaign = session.get(Campaign, 1)
    for i in range(3):
        make_signature(session, campaign, client_key="a" * 32, email=f"s{i}@spam.example")
    make_signature(session, campaign, confirmed=False, client_key="a" * 32, email="p@spam.example")
    make_signature(session, campaign, client_key="b" * 32, email="x@calm.example")
    old = make_signature(session, campaign, client_key="c" * 32, email="o@spam.example")
    old.created_at = datetime.now(UTC) - timedelta(hours=30)
    session.commit()

    surges = dashboard.surges(session, 1, datetime.now(UTC), hours=24, per_address=3, per_domain=4)
    assert [(r.key[:1], r.count, r.flagged) for r in surges.by_address] == [
        ("a", 4, True),
        ("b", 1, False),
    ]
    assert [(r.key, r.count, r.flagged) for r in surges.by_domain] == [
        ("spam.example", 4, True),
        ("calm.example", 1, False),
    ]

    html = signed_in.get(DASHBOARD).get_data(as_text=True)
    flagged = re.findall(r'<tr class="flagged">\s*<th scope="row">(.*?)</th>', html, re.S)
    assert any("aaaaaaaaaaaa" in row for row in flagged)
    assert any("spam.example" in row for row in flagged)
    assert not any("calm.example" in row for row in flagged)
    assert "Nothing above the thresholds." not in html
    # Each flagged source links to the signatures it sent, ready for a bulk action.
    assert f"/organisers/campaigns/zhanaozen/signatures?address={'a' * 32}" in html


def test_a_moderator_sees_only_domains_that_many_signatures_share(app, session, client):
    campaign = session.get(Campaign, 1)
    for i in range(5):
        make_signature(session, campaign, email=f"s{i}@spam.example")
    make_signature(session, campaign, email="me@my-own.example")
    session.commit()
    surges = dashboard.surges(
        session, 1, datetime.now(UTC), hours=24, per_address=3, per_domain=4, smallest_domain=5
    )
    assert [(r.key, r.count) for r in surges.by_domain] == [("spam.example", 5)]
    moderator = make_organiser(session, role=Role.MODERATOR)
    session.commit()
    assert log_in(client, moderator).status_code == 303
    html = client.get(DASHBOARD).get_data(as_text=True)
    assert "spam.example" in html and "my-own.example" not in html


def test_unconfirmed_signatures_do_not_bring_a_domain_onto_a_moderators_dashboard(app, session):
    # Anyone can add unconfirmed signatures at a person's own domain, with no mailbox
    # there; only confirmed ones make a domain shared enough to show.
    campaign = session.get(Campaign, 1)
    make_signature(session, campaign, email="dana@family.example")
    for i in range(4):
        make_signature(session, campaign, email=f"x{i}@family.example", confirmed=False)
    for i in range(5):
        make_signature(session, campaign, email=f"s{i}@spam.example")
    session.commit()

    def shown() -> list[tuple[str, int]]:
        surges = dashboard.surges(
            session, 1, datetime.now(UTC), 24, per_address=3, per_domain=4, smallest_domain=5
        )
        return [(row.key, row.count) for row in surges.by_domain]

    assert shown() == [("spam.example", 5)]
    for i in range(4):
        make_signature(session, campaign, email=f"c{i}@family.example")
    session.commit()
    # Shown once five are confirmed, with every signature of the window counted.
    assert shown() == [("family.example", 9), ("spam.example", 5)]


def test_nothing_flagged_when_quiet(app, session, signed_in):
    make_signature(session, session.get(Campaign, 1), client_key="d" * 32)
    session.commit()
    assert "Nothing above the thresholds." in signed_in.get(DASHBOARD).get_data(as_text=True)


def test_missing_languages_are_flagged(app, session, signed_in):
    make_campaign(session, slug="english-only")
    session.commit()
    index = signed_in.get("/organisers/").get_data(as_text=True)
    row = re.search(r"english-only</a></th>.*?</tr>", index, re.S).group(0)
    assert "ru, kk" in row and "English text" in row
    seeded = re.search(r"zhanaozen</a></th>.*?</tr>", index, re.S).group(0)
    assert "none" in seeded

    page = signed_in.get("/organisers/campaigns/english-only/").get_data(as_text=True)
    assert "This campaign has no text in: ru, kk" in page
    assert "This campaign has no text in" not in signed_in.get(DASHBOARD).get_data(as_text=True)


def test_switching_campaign(app, session, signed_in):
    make_campaign(session, slug="second")
    session.commit()
    html = signed_in.get(DASHBOARD).get_data(as_text=True)
    assert '<option value="second">second</option>' in html
    response = signed_in.get("/organisers/?campaign=second")
    assert response.status_code == 302
    assert response.location.endswith("/organisers/campaigns/second/")
    assert signed_in.get("/organisers/?campaign=nope").status_code == 404


def test_per_day_counts_by_utc_day(app, session):
    campaign = session.get(Campaign, 1)
    today = datetime.now(UTC).date()
    for days_ago, n in ((0, 2), (3, 1)):
        for _ in range(n):
            signature = make_signature(session, campaign)
            signature.confirmed_at = datetime.combine(
                today - timedelta(days=days_ago), datetime.min.time(), tzinfo=UTC
            ) + timedelta(hours=23, minutes=30)
    session.commit()
    points = dashboard.confirmed_per_day(session, 1, 7, today)
    assert [p[0] for p in points] == [today - timedelta(days=6 - i) for i in range(7)]
    assert [p[1] for p in points] == [0, 0, 0, 1, 0, 0, 2]


def test_chart_scale_uses_round_steps():
    assert charts.nice_step(3) == 1
    assert charts.nice_step(37) == 10
    assert charts.nice_step(130) == 50
    chart = charts.bars_per_day([(date(2024, 1, d), v) for d, v in ((1, 0), (2, 37), (3, 10))])
    assert [t.value for t in chart.ticks] == [0, 10, 20, 30, 40]
    tallest = max(chart.bars, key=lambda b: b.height)
    assert tallest.value == 37 and tallest.y > chart.top
    assert chart.bars[0].height == 0


PAUSED = re.compile(r'<p class="notice warning" id="signing-paused"><strong>([^<]+)</strong></p>')


def test_a_paused_campaign_says_so_on_its_organiser_pages(app, session, signed_in, runner):
    make_campaign(session, slug="still-open")
    session.commit()
    assert PAUSED.findall(signed_in.get(DASHBOARD).get_data(as_text=True)) == []

    # Paused as the command does it, outside this test's session.
    paused = runner.invoke(args=["campaign", "pause", "zhanaozen"])
    assert paused.exit_code == 0, paused.output
    for page in ("", "signatures", "comments"):
        html = signed_in.get(f"{DASHBOARD}{page}").get_data(as_text=True)
        assert PAUSED.findall(html) == ["Signing paused"], page
    still_open = signed_in.get("/organisers/campaigns/still-open/").get_data(as_text=True)
    assert PAUSED.findall(still_open) == []

    index = signed_in.get("/organisers/").get_data(as_text=True)
    row = re.search(r"zhanaozen</a>.*?</th>", index, re.S).group(0)
    assert '<strong class="flag">Signing paused</strong>' in row
    assert "Signing paused" not in re.search(r"still-open</a>.*?</th>", index, re.S).group(0)

    runner.invoke(args=["campaign", "resume", "zhanaozen"])
    assert "Signing paused" not in signed_in.get(DASHBOARD).get_data(as_text=True)
    assert "Signing paused" not in signed_in.get("/organisers/").get_data(as_text=True)


def test_the_paused_notice_is_translated(app, client):
    # Set up in an app context of its own: each request below must choose its own locale.
    with app.app_context():
        organiser = make_organiser(db.session)
        db.session.get(Campaign, 1).signing_paused = True
        db.session.commit()
    assert log_in(client, organiser).status_code == 303
    translated = {
        "ru": "Сбор подписей приостановлен",  # noqa: RUF001 - Russian, not look-alikes
        "kk": "Қол жинау тоқтатылды",
    }
    for lang, text in translated.items():
        client.set_cookie("lang", lang)
        assert PAUSED.findall(client.get(DASHBOARD).get_data(as_text=True)) == [text]
        assert text in client.get("/organisers/").get_data(as_text=True)


def progress_of(html: str) -> str:
    match = re.search(r'<section class="progress".*?</section>', html, re.S)
    assert match, "no progress toward the goal on the page"
    return " ".join(match.group(0).split())


def test_the_dashboard_shows_the_way_to_the_goal_as_the_campaign_page_does(
    app, session, signed_in, client
):
    campaign = session.get(Campaign, 1)
    for _ in range(3):
        make_signature(session, campaign)
    make_signature(session, campaign, confirmed=False)
    session.commit()

    progress = progress_of(signed_in.get(DASHBOARD).get_data(as_text=True))
    assert f'<progress max="{campaign.goal}" value="3"' in progress
    assert '<h2 id="progress-heading" class="count"> 3 signatures </h2>' in progress
    assert f"Goal set by the organisers: {campaign.goal:,} signatures" in progress
    public = app.test_client().get("/en/zhanaozen/").get_data(as_text=True)
    assert progress == progress_of(public)


def test_embassies_on_the_dashboard_are_named_in_its_language(app, client):
    from campaign import countries

    with app.app_context():
        organiser = make_organiser(db.session)
        make_signature(db.session, db.session.get(Campaign, 1), country="GB")
        db.session.commit()
    assert log_in(client, organiser).status_code == 303
    client.set_cookie("lang", "ru")
    html = client.get(DASHBOARD).get_data(as_text=True)
    table = re.search(r'<table class="data countries">.*?</table>', html, re.S).group(0)
    united_kingdom = countries.name("GB", "ru")
    assert f"Посольство Республики Казахстан ({united_kingdom}), London" in table
    assert "Embassy of the Republic of Kazakhstan in" not in table
