"""Link previews: Open Graph and Twitter Card tags, and the generated preview image."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from campaign import counting, previews, sharing
from campaign.models import Campaign
from tests.factories import make_campaign


def meta(html: str, key: str) -> str:
    """The content of the meta tag with this property or name."""
    match = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)">', html)
    assert match, key
    return match.group(1)


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_campaign_page_has_open_graph_twitter_and_canonical(client, lang):
    html = client.get(f"/{lang}/zhanaozen/?via=some-code").get_data(as_text=True)
    page = f"http://petition.test/{lang}/zhanaozen/"
    assert re.search(rf'<link rel="canonical" href="{re.escape(page)}">', html)
    assert meta(html, "og:url") == page
    assert meta(html, "og:type") == "website"
    assert meta(html, "og:image") == f"http://petition.test/{lang}/zhanaozen/preview.png"
    assert meta(html, "og:image:width") == "1200"
    assert meta(html, "og:image:height") == "630"
    assert meta(html, "twitter:card") == "summary_large_image"
    assert meta(html, "twitter:image") == meta(html, "og:image")
    title = re.search(r"<h1>([^<]+)</h1>", html).group(1)
    assert meta(html, "og:title") == title
    assert meta(html, "twitter:title") == title
    assert meta(html, "og:description") == meta(html, "description")
    assert meta(html, "og:locale").startswith(lang + "_")


def test_titles_differ_by_language(client):
    titles = {
        lang: meta(client.get(f"/{lang}/zhanaozen/").get_data(as_text=True), "og:title")
        for lang in ("en", "ru", "kk")
    }
    assert titles["en"] == "Solidarity with the oil workers of Zhanaozen"
    assert titles["ru"] == "Солидарность с нефтяниками Жанаозена"  # noqa: RUF001
    assert titles["kk"] == "Жаңаөзен мұнайшыларымен ынтымақтастық"


@pytest.mark.parametrize("lang", ["en", "ru", "kk"])
def test_preview_image_is_a_1200_by_630_png(client, lang):
    response = client.get(f"/{lang}/zhanaozen/preview.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    image = Image.open(io.BytesIO(response.data))
    assert image.format == "PNG"
    assert image.size == (1200, 630)
    image.load()


def test_preview_is_cached_then_redrawn_with_the_new_count(app, client):
    app.config["PREVIEW_REFRESH"] = 3600
    first = client.get("/en/zhanaozen/preview.png")
    assert "max-age=3600" in first.headers["Cache-Control"]

    from campaign.extensions import db

    with app.app_context():
        campaign = db.session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
        counting.add(db.session, campaign.id, 4321)
        db.session.commit()
    # Within the refresh interval the stored image is served as it was.
    assert client.get("/en/zhanaozen/preview.png").data == first.data
    # Each language has its own image.
    assert client.get("/ru/zhanaozen/preview.png").data != first.data

    app.config["PREVIEW_REFRESH"] = 0
    redrawn = client.get("/en/zhanaozen/preview.png").data
    assert redrawn != first.data
    assert Image.open(io.BytesIO(redrawn)).size == (1200, 630)


def test_preview_draws_the_progress_bar_to_scale():
    def bar_fill(fraction: float) -> int:
        png = previews.render(
            previews.PreviewText(
                title="A title", count="1 signature", goal="Goal", fraction=fraction, site="x"
            )
        )
        image = Image.open(io.BytesIO(png)).convert("RGB")
        row = previews.BAR_TOP + previews.BAR_HEIGHT // 2
        return sum(1 for x in range(previews.WIDTH) if image.getpixel((x, row)) == (179, 20, 27))

    empty, half, full, over = bar_fill(0.0), bar_fill(0.5), bar_fill(1.0), bar_fill(3.0)
    assert empty == 0
    assert 0.45 < half / full < 0.55
    assert over == full


def test_a_very_long_title_still_fits():
    png = previews.render(
        previews.PreviewText(
            title="Солидарность " * 60, count="0", goal="Goal", fraction=0, site="petition.test"
        )
    )
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


@pytest.mark.parametrize(
    ("goal", "site"),
    [
        ("Goal set by the organisers: 10,000", "petition.test"),
        ("Цель, поставленная организаторами: 1 000 000", "zhanaozen-solidarity.example.org"),
        ("Ұйымдастырушылар қойған мақсат: 1 000 000", "zhanaozen-solidarity.example.org"),
    ],
)
def test_the_goal_and_the_site_never_overlap_on_the_preview(goal, site):
    from PIL import ImageDraw, ImageFont

    from campaign import typefaces

    draw = ImageDraw.Draw(Image.new("RGB", (previews.WIDTH, previews.HEIGHT)))
    font = ImageFont.truetype(str(typefaces.REGULAR), 30)
    goal_at, site_at = previews.footer_positions(draw, goal, site, font)
    goal_box = draw.textbbox(goal_at, goal, font=font)
    site_box = draw.textbbox(site_at, site, font=font)
    apart = goal_box[2] < site_box[0] or goal_box[3] < site_box[1]
    assert apart, (goal_box, site_box)
    for box in (goal_box, site_box):
        assert box[0] >= 0 and box[2] <= previews.WIDTH and box[3] <= previews.HEIGHT - 16
    # Side by side when there is room.
    assert (goal_at[1] == site_at[1]) == (site == "petition.test")
    png = previews.render(
        previews.PreviewText(title="T", count="1", goal=goal, fraction=0.5, site=site)
    )
    assert Image.open(io.BytesIO(png)).size == (1200, 630)


def test_unknown_campaign_has_no_preview(client):
    assert client.get("/en/nowhere/preview.png").status_code == 404


def test_a_page_reached_by_a_share_link_names_the_link_as_og_url(client, session):
    campaign = session.scalar(select(Campaign).where(Campaign.slug == "zhanaozen"))
    link = sharing.create_named(session, campaign, "Dockers")
    other = sharing.create_named(session, make_campaign(session, slug="other"), "Elsewhere")
    session.commit()

    response = client.get(f"/ru/s/{link.code}", follow_redirects=True)
    assert response.request.path == "/ru/zhanaozen/"
    html = response.get_data(as_text=True)
    # A post on a social site leads through the link, so the link keeps its credit...
    assert meta(html, "og:url") == f"http://petition.test/ru/s/{link.code}"
    # ...while search engines list the one campaign page.
    assert '<link rel="canonical" href="http://petition.test/ru/zhanaozen/">' in html

    # A code that is no link, or a link to another campaign, is not named.
    for via in ("not-a-code", other.code):
        html = client.get(f"/ru/zhanaozen/?via={via}").get_data(as_text=True)
        assert meta(html, "og:url") == "http://petition.test/ru/zhanaozen/", via


def test_the_goal_is_labelled_as_the_organisers(client, monkeypatch):
    html = client.get("/en/zhanaozen/").get_data(as_text=True)
    # The goal is the organisers' own figure, not one from the campaign's sources.
    assert re.search(r'class="goal">\s*Goal set by the organisers: 10,000 signatures</p>', html)

    drawn = []

    def render(text: previews.PreviewText) -> bytes:
        drawn.append(text)
        return b"png"

    monkeypatch.setattr(previews, "render", render)
    assert client.get("/en/zhanaozen/preview.png").data == b"png"
    assert drawn[0].goal == "Goal set by the organisers: 10,000"
