"""The site on a phone: a 390 by 844 touch screen, as a supporter or an organiser holds it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from campaign import counting
from campaign.models import Campaign
from tests.factories import ORGANISER_PASSWORD, make_organiser, make_signature, totp_code

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 390, 844
# The smallest target a finger hits reliably (WCAG 2.5.5, and Apple's and Google's guides).
TARGET = 44


def _context(browser, width: int = WIDTH, height: int = HEIGHT, *, touch: bool = True):
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=touch, has_touch=touch
    )
    # What these tests look for is on the page once it has loaded, or not at all.
    context.set_default_timeout(5000)
    return context


@pytest.fixture
def phone(browser) -> Iterator[object]:
    """A page in a phone-sized touch screen."""
    context = _context(browser)
    yield context.new_page()
    context.close()


def _box(locator) -> dict[str, float]:
    box = locator.bounding_box()
    assert box, f"{locator} is not shown"
    return box


def _assert_tappable(locator, *, button: bool = False) -> None:
    """Each element ``locator`` finds is at least 44 px high (and wide, for a button)."""
    assert locator.count(), f"nothing found for {locator}"
    for i in range(locator.count()):
        element = locator.nth(i)
        box = _box(element)
        name = element.inner_text().strip()
        assert box["height"] >= TARGET, f"{name!r} is {box['height']:.0f} px high"
        if button:
            assert box["width"] >= TARGET, f"{name!r} is {box['width']:.0f} px wide"


def _scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


# -- the campaign page --------------------------------------------------------------------


def _assert_table_in_a_focusable_region(page, name: str) -> None:
    """A table sits in a region named ``name`` that takes keyboard focus."""
    box = page.get_by_role("region", name=re.compile(name))
    assert box.get_attribute("tabindex") == "0"
    assert box.locator("table").count() == 1
    box.focus()
    assert page.evaluate("document.activeElement.getAttribute('role')") == "region"


def test_a_sign_link_in_the_first_screen_leads_to_the_form(live_server, phone):
    page = phone
    page.goto(f"{live_server}/en/zhanaozen/")
    link = page.get_by_role("link", name="Sign the petition")
    box = _box(link)
    assert box["y"] + box["height"] <= HEIGHT, "the sign link is below the first screen"
    assert box["height"] >= TARGET

    # By keyboard: a few stops from the top of the page, not the whole article.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "#sign":
            break
    else:
        pytest.fail("the sign link is not among the first six tab stops")
    page.keyboard.press("Enter")
    # Focus followed the link: the form's heading, shown on screen, and then its first field.
    assert page.evaluate("document.activeElement.textContent.trim()") == "Sign the petition"
    assert page.evaluate("document.activeElement.closest('.signing') !== null")
    heading = _box(page.locator("#sign"))
    # Scrolling stops on whole pixels, layout does not: the top may be a fraction above 0.
    assert -1 < heading["y"] < HEIGHT
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "name"


def test_a_tap_on_the_sign_link_shows_the_form(live_server, phone):
    page = phone
    page.goto(f"{live_server}/ru/zhanaozen/")
    page.get_by_role("link", name="Подписать петицию").tap()
    page.wait_for_function("() => location.hash === '#sign'")
    field = _box(page.get_by_label("Имя и фамилия", exact=True))
    assert 0 <= field["y"] < HEIGHT, "the first field is not on screen after the jump"


def test_links_and_buttons_are_big_enough_to_tap(live_server, phone):
    page = phone
    page.goto(f"{live_server}/en/zhanaozen/")
    _assert_tappable(page.locator("nav.languages a"), button=True)
    _assert_tappable(page.locator(".share li a"), button=True)
    _assert_tappable(page.get_by_role("button", name="Copy link"), button=True)
    _assert_tappable(page.get_by_role("link", name="SVG, for print"))
    _assert_tappable(page.get_by_role("link", name="PNG", exact=True), button=True)
    _assert_tappable(page.get_by_role("link", name="Signed but no email arrived?"))
    _assert_tappable(page.locator("footer.site").get_by_role("link", name="Privacy"))

    page.goto(f"{live_server}/en/zhanaozen/embed")
    _assert_tappable(page.get_by_role("link", name="Back to the campaign"))

    page.goto(f"{live_server}/en/embassies/?country=GB")
    _assert_tappable(page.get_by_role("link", name="Details and the other embassies"))
    websites = page.locator(".embassy-list").get_by_role("link", name="Website")
    assert websites.count() >= 3
    _assert_tappable(websites)


def test_the_share_link_field_keeps_the_width_of_the_page_in_russian(live_server, phone):
    page = phone
    page.goto(f"{live_server}/ru/zhanaozen/")
    button = page.get_by_role("button", name="Скопировать ссылку")
    assert button.is_visible()
    field = _box(page.locator("#share-url"))
    share = _box(page.locator("section.share"))
    assert field["width"] >= 0.7 * share["width"], (
        f"the address gets {field['width']:.0f} of {share['width']:.0f} px"
    )
    # The button went below the field rather than off the screen.
    assert _box(button)["x"] + _box(button)["width"] <= WIDTH
    assert _scroll_width(page) <= WIDTH


# -- the embassy directory ----------------------------------------------------------------


def test_the_embassy_directory_shows_whether_each_entry_was_checked(live_server, phone):
    page = phone
    page.goto(f"{live_server}/en/embassies/")
    assert _scroll_width(page) <= WIDTH
    rows = page.locator(".embassy-list tbody tr")
    assert rows.count() >= 3
    for i in range(3):
        checked = rows.nth(i).locator(".verified, .unverified")
        checked.scroll_into_view_if_needed()
        box = _box(checked)
        assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, (
            f"row {i}: 'Checked' lies at x={box['x']:.0f}..{box['x'] + box['width']:.0f}"
        )
        # Really seen, not cut off by the box that holds the table.
        seen = checked.evaluate(
            """element => {
              const r = element.getBoundingClientRect();
              const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
              return hit !== null && element.contains(hit);
            }"""
        )
        assert seen, f"row {i}: 'Checked' is hidden"
        # Each cell says which column it stands for, now that the headings are not above it.
        label = checked.evaluate("e => getComputedStyle(e.closest('td'), '::before').content")
        assert "Checked" in label
    # The list is named and takes focus, so a keyboard can scroll it where it must scroll.
    region = page.get_by_role("region", name="Embassies by country")
    assert region.get_attribute("tabindex") == "0"


# -- the organisers' pages ----------------------------------------------------------------


@pytest.fixture
def organiser_phone(live_server, browser, session) -> Iterator[object]:
    """A phone signed in as an organiser of a campaign with long names and addresses."""
    campaign = session.get(Campaign, 1)
    for i in range(5):
        make_signature(
            session,
            campaign,
            name=f"Aigerim Nurlanqyzy-Bekmukhambetova {i}",
            email=f"solidarity.committee.{i}@trade-union-federation.example.org",
        )
    organiser = make_organiser(session, email="phone-organiser@example.org")
    session.commit()
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{live_server}/organisers/login")
    page.get_by_label("Email address").fill(organiser.email)
    page.get_by_label("Password").fill(ORGANISER_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("**/login/code**")
    page.get_by_label("Six-digit code").fill(totp_code(organiser))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/organisers/$"))
    yield page
    context.close()


@pytest.mark.parametrize(
    ("path", "region"),
    [
        ("/organisers/", "Every campaign, its signatures and the languages its text lacks"),
        ("/organisers/audit", "Audit log"),
        ("/organisers/campaigns/zhanaozen/signatures", "Signatures"),
    ],
)
def test_organiser_pages_never_scroll_sideways(live_server, organiser_phone, path, region):
    page = organiser_phone
    page.goto(f"{live_server}{path}")
    assert _scroll_width(page) <= WIDTH, f"{path} is {_scroll_width(page)} px wide"
    # The table scrolls in a named box that a keyboard can reach, not the page.
    _assert_table_in_a_focusable_region(page, region)


def test_the_signatures_table_scrolls_within_its_box(live_server, organiser_phone):
    page = organiser_phone
    page.goto(f"{live_server}/organisers/campaigns/zhanaozen/signatures")
    box = page.get_by_role("region", name=re.compile("Signatures"))
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    box.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0", timeout=2000)
    assert _scroll_width(page) <= WIDTH


# -- the widget on other sites -------------------------------------------------------------


def test_the_widget_fits_the_height_its_code_gives_it(live_server, browser, session):
    campaign = session.get(Campaign, 1)
    # A count that takes room: seven digits and the separators of each language.
    counting.add(session, campaign.id, 1_234_567)
    session.commit()
    context = _context(browser)
    page = context.new_page()
    page.goto(f"{live_server}/en/zhanaozen/embed")
    snippet = page.locator("#embed-code").input_value()
    height = int(re.search(r'height="(\d+)"', snippet).group(1))
    context.close()

    for touch in (True, False):
        context = _context(browser, touch=touch)
        page = context.new_page()
        for lang in ("en", "ru", "kk"):
            for width in (280, 320, 600):
                page.set_viewport_size({"width": width, "height": height})
                page.goto(f"{live_server}/embed/{lang}/zhanaozen/")
                where = f"{lang} at {width} px{' (touch)' if touch else ''}"
                needed = page.evaluate("document.documentElement.scrollHeight")
                assert needed <= height, f"{where}: needs {needed} px of {height}"
                assert _scroll_width(page) <= width, where
                privacy = _box(page.locator("footer.site a"))
                assert privacy["y"] + privacy["height"] <= height, where
                assert page.locator(".widget a.button").is_visible(), where
        context.close()


def test_the_deliveries_page_fits_a_phone(live_server, organiser_phone):
    page = organiser_phone
    deliveries = f"{live_server}/organisers/campaigns/zhanaozen/deliveries"
    # A delivery recorded as an organiser records it: the page then says so, with its hash.
    page.goto(f"{deliveries}/record?embassy=gb-london&lang=ru")
    page.get_by_label("Дата передачи").fill("2026-06-01")
    page.get_by_label("Граничное время", exact=False).fill("2026-05-31 12:00:00")
    page.get_by_role("button", name="Записать передачу").click()
    page.wait_for_url(re.compile(r".*/deliveries$"))
    assert page.locator(".messages").count() == 1
    assert _scroll_width(page) <= WIDTH, f"the page is {_scroll_width(page)} px wide"
    for lang in ("en", "kk"):
        page.goto(f"{deliveries}?lang={lang}")
        assert _scroll_width(page) <= WIDTH, f"{lang}: the page is {_scroll_width(page)} px wide"
    # The wide tables scroll in named boxes that a keyboard can reach, not the page.
    _assert_table_in_a_focusable_region(page, "Әр елшілікке")


def test_the_dashboard_chart_keeps_readable_labels_on_a_phone(live_server, organiser_phone):
    page = organiser_phone
    page.goto(f"{live_server}/organisers/campaigns/zhanaozen/")
    assert _scroll_width(page) <= WIDTH
    chart = page.get_by_role("region", name=re.compile("Confirmed signatures per day"))
    assert chart.get_attribute("tabindex") == "0"
    # The axis labels keep a size that can be read (11 px in the chart's own units).
    label = chart.locator("svg text.tick").first
    assert _box(label)["height"] >= 10, _box(label)
    # The chart scrolls within its box, by keyboard too, while the page stays put.
    assert chart.evaluate("e => e.scrollWidth > e.clientWidth")
    chart.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.activeElement.scrollLeft > 0", timeout=2000)
    assert _scroll_width(page) <= WIDTH


def test_a_long_title_is_never_cut_in_a_widget_narrower_than_promised(live_server, browser):
    context = _context(browser, width=240, height=340)
    page = context.new_page()
    for lang, title in (
        ("kk", "Жаңаөзен мұнайшыларымен ынтымақтастық"),
        ("ru", "Солидарность с нефтяниками Жанаозена"),  # noqa: RUF001
        ("en", "Solidarity with the oil workers of Zhanaozen"),
    ):
        page.goto(f"{live_server}/embed/{lang}/zhanaozen/")
        heading = page.locator(".widget h1")
        assert heading.inner_text() == title
        # Nothing of the title is cut: it needs no more room than it has, either way.
        fits = heading.evaluate(
            "h => [h.scrollWidth <= h.clientWidth, h.scrollHeight <= h.clientHeight + 1]"
        )
        assert fits == [True, True], lang
        assert _scroll_width(page) <= 240, lang
        assert page.locator(".widget a.button").is_visible(), lang
    context.close()


_TAP_AREAS = """
() => [...document.querySelectorAll('input[type=checkbox], input[type=radio]')]
  .filter(box => box.getClientRects().length > 0)
  .map(box => {
    // The area that toggles the box: the box itself, and its label when it has one.
    const areas = [box, ...box.labels].map(e => e.getBoundingClientRect());
    const top = Math.min(...areas.map(r => r.top)), bottom = Math.max(...areas.map(r => r.bottom));
    return [box.name + '=' + box.value, bottom - top];
  })
"""


@pytest.mark.parametrize(
    "path",
    [
        "/organisers/campaigns/zhanaozen/export",
        "/organisers/campaigns/zhanaozen/deliveries",
        "/organisers/campaigns/zhanaozen/deliveries/record",
    ],
)
def test_every_organiser_checkbox_and_choice_is_big_enough_to_tap(
    live_server, organiser_phone, path
):
    page = organiser_phone
    response = page.goto(f"{live_server}{path}")
    assert response.status == 200, path
    areas = page.evaluate(_TAP_AREAS)
    assert areas, f"no checkbox or choice on {path}"
    small = [(name, round(height)) for name, height in areas if height < TARGET]
    assert small == [], (path, small)


def test_every_checkbox_and_choice_of_the_sign_form_is_big_enough_to_tap(live_server, phone):
    phone.goto(f"{live_server}/ru/zhanaozen/")
    areas = phone.evaluate(_TAP_AREAS)
    assert len(areas) >= 5  # how the name is shown, left out of lists, campaign updates
    small = [(name, round(height)) for name, height in areas if height < TARGET]
    assert small == [], small


def test_the_skip_link_is_big_enough_to_tap_when_it_shows(live_server, phone):
    page = phone
    page.goto(f"{live_server}/en/zhanaozen/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to content"
    box = _box(skip)
    assert box["height"] >= TARGET and box["width"] >= TARGET, box
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
