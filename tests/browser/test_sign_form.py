"""The sign form in a browser: the name as it will appear, language, large text."""

from __future__ import annotations

import itertools

import pytest

from campaign.extensions import db
from campaign.models import Display, Signature
from campaign.signing import clean_text

pytestmark = pytest.mark.browser

NAMES = [
    "Aigerim Nurlanqyzy",
    "Сәрсенова Айгүл Болатқызы",
    "  Наталья   Соколова ",
    "Zhanar",
    "Ерлан\u200b Ахметов",
    "\U0001d504lma \U0001d505ekova",  # letters outside the Basic Multilingual Plane
]


def _server_shows(name: str, display: Display) -> str | None:
    """The name as the site shows it: the same cleaning and rule as a stored signature."""
    return Signature(name=clean_text(name), display=display).public_name()


@pytest.mark.parametrize("name", NAMES)
def test_the_preview_shows_the_name_as_the_site_will(live_server, page, name):
    page.goto(f"{live_server}/en/zhanaozen/")
    preview = page.locator("#name-preview")
    page.get_by_label("Full name", exact=True).fill(name)
    assert preview.inner_text() == "Your name will not appear."
    choices = [(Display.INITIAL, "First name and initial"), (Display.FULL, "My full name")]
    for display, label in choices:
        page.get_by_label(label).check()
        assert preview.inner_text() == f"Your name will appear as: {_server_shows(name, display)}"
    page.get_by_label("Do not show my name").check()
    assert preview.inner_text() == "Your name will not appear."
    # Read out with the choices, for those who hear the page.
    described = page.get_by_label("First name and initial").get_attribute("aria-describedby")
    assert described.split() == ["display-hint", "name-preview"]


def test_the_preview_follows_the_name_in_russian(live_server, page):
    page.goto(f"{live_server}/ru/zhanaozen/")
    page.get_by_label("Имя и первая буква фамилии").check()
    preview = page.locator("#name-preview")
    assert preview.is_hidden()  # nothing typed yet: nothing to show
    page.get_by_label("Имя и фамилия", exact=True).fill("Сәрсенова Айгүл")
    assert preview.inner_text() == "Ваше имя будет показано так: Сәрсенова А."  # noqa: RUF001
    page.get_by_label("Имя и фамилия", exact=True).fill("Айгүл Сәрсенова")
    assert preview.inner_text() == "Ваше имя будет показано так: Айгүл С."  # noqa: RUF001


def test_without_javascript_the_rule_is_told_in_words(live_server, page_without_js):
    page = page_without_js
    page.goto(f"{live_server}/en/zhanaozen/")
    assert page.locator("#name-preview").is_hidden()
    hint = page.locator("#display-hint").inner_text()
    assert "first word of the name you typed" in hint and "“Aigul S.”" in hint


def test_switching_language_after_a_mistake_keeps_what_was_typed(app, live_server, page):
    page.goto(f"{live_server}/en/zhanaozen/?via=")
    page.get_by_label("Full name", exact=True).fill("Айгүл Сәрсенова")
    page.get_by_label("Email", exact=True).fill("not an address")
    page.get_by_label("City (optional)").fill("Ақтау")
    page.get_by_label("First name and initial").check()
    page.get_by_role("button", name="Sign the petition").click()
    assert page.get_by_text("Please enter a valid email address.", exact=True).is_visible()
    # A correction made since is carried too, not only what was sent.
    page.get_by_label("Organisation or trade union (optional)").fill("Кәсіподақ")

    page.locator("nav.languages").get_by_role("button", name="Қазақша").click()
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.lang") == "kk"
    assert page.url.endswith("/kk/zhanaozen/")
    assert page.locator("#name").input_value() == "Айгүл Сәрсенова"
    assert page.locator("#email").input_value() == "not an address"
    assert page.locator("#city").input_value() == "Ақтау"
    assert page.locator("#organisation").input_value() == "Кәсіподақ"
    assert page.locator("#display-1").is_checked()
    # Nothing was checked, so nothing is marked wrong yet; and nothing was signed.
    assert page.locator(".error-summary").count() == 0
    with app.app_context():
        assert db.session.query(Signature).count() == 0

    # The language is remembered, and the form signs from there as usual.
    page.locator("#email").fill("aigul@example.org")
    page.locator("#country").select_option("KZ")
    page.get_by_role("button", name="Петицияға қол қою").click()
    page.wait_for_url("**/kk/zhanaozen/thanks?country=KZ")
    with app.app_context():
        assert db.session.query(Signature.name, Signature.locale).all() == [
            ("Айгүл Сәрсенова", "kk")
        ]


def test_after_a_mistake_enter_in_a_field_signs(app, live_server, page):
    # The language choices after a POST are buttons too; Enter must press the sign form's.
    page.goto(f"{live_server}/en/zhanaozen/")
    page.get_by_label("Full name", exact=True).fill("Aigerim Nurlanqyzy")
    page.get_by_label("Email", exact=True).fill("aigerim@")
    page.get_by_label("Country").select_option("KZ")
    page.get_by_role("button", name="Sign the petition").click()
    assert page.get_by_text("Please enter a valid email address.", exact=True).is_visible()
    page.get_by_label("Email", exact=True).fill("aigerim@example.org")
    page.get_by_label("Email", exact=True).press("Enter")
    page.wait_for_url("**/en/zhanaozen/thanks?country=KZ")
    with app.app_context():
        assert db.session.query(Signature.email).all() == [("aigerim@example.org",)]


@pytest.mark.parametrize("path", ["/ru/zhanaozen/", "/kk/zhanaozen/", "/ru/privacy", "/kk/privacy"])
@pytest.mark.parametrize(("width", "text_size"), [(320, "100%"), (360, "200%")])
def test_pages_fit_a_small_phone_with_large_text(browser, live_server, path, width, text_size):
    context = browser.new_context(viewport={"width": width, "height": 740}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{live_server}{path}")
        # As a browser's text size setting does: the root size grows, and every rem with it.
        page.evaluate(f"document.documentElement.style.fontSize = '{text_size}'")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"{path} is {wide} px wide at {width} px with {text_size} text"
        # The language links keep apart, each on its own ground.
        boxes = [link.bounding_box() for link in page.locator("nav.languages > *").all()]
        for left, right in itertools.pairwise(boxes):
            same_line = abs(left["y"] - right["y"]) < left["height"] / 2
            assert not same_line or left["x"] + left["width"] <= right["x"], boxes
    finally:
        context.close()
