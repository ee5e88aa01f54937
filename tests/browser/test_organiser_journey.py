"""The organiser's journey in a real browser: second factor, moderation, a delivery pack."""

from __future__ import annotations

import re

import pyotp
import pytest
from pypdf import PdfReader
from sqlalchemy import select

from campaign.models import Campaign, Signature
from tests.browser.test_xss import PAYLOADS, _seed_payload_signers, assert_inert
from tests.factories import ORGANISER_PASSWORD, make_organiser, make_signature

pytestmark = pytest.mark.browser


def _sign_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/organisers/")
    page.wait_for_url("**/organisers/login**")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(ORGANISER_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def test_enrol_moderate_and_download_a_pack(live_server, page, session):
    campaign = session.get(Campaign, 1)
    organiser = make_organiser(session, email="org@example.org", enrolled=False)
    make_signature(
        session, campaign, name="Наталья Соколова", country="GB", comment="Свободу!"
    ).comment_status = "pending"
    spam = make_signature(session, campaign, name="Spam Bot", country="GB")
    session.commit()

    # First sign-in: password, then set up the authenticator from the key on the page.
    _sign_in(page, live_server, organiser.email)
    page.wait_for_url("**/login/enrol**")
    assert page.locator("figure.qr svg").count() == 1
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Finish setting up").click()
    page.wait_for_url(re.compile(r".*/organisers/.*"))
    assert "login" not in page.url

    # Moderate: approve the comment, invalidate the spam signature with a reason.
    page.goto(f"{live_server}/organisers/campaigns/zhanaozen/comments")
    page.get_by_role("button", name="Approve").first.click()
    page.goto(f"{live_server}/organisers/campaigns/zhanaozen/signatures")
    row = page.locator("tr", has_text="Spam Bot")
    row.get_by_label(re.compile("reason", re.I)).select_option("fake")
    row.get_by_role("button", name="Invalidate").click()
    session.expire_all()
    assert session.get(Signature, spam.id).status == "invalidated"
    public = page.context.new_page()
    public.goto(f"{live_server}/en/zhanaozen/")
    assert public.get_by_text("Свободу!").is_visible()
    assert "1 signature" in public.locator(".count").inner_text()
    public.close()

    # Deliver: the pack for the London embassy, as a PDF download.
    page.goto(f"{live_server}/organisers/campaigns/zhanaozen/deliveries")
    page.locator("#pack-heading ~ form select[name=embassy]").select_option("gb-london")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download the pack").click()
    pdf = PdfReader(download_info.value.path())
    text = "\n".join(p.extract_text() for p in pdf.pages)
    assert "Наталья" in text
    assert "Spam Bot" not in text
    assert "@" not in text


def test_second_sign_in_needs_the_code(live_server, page, session):
    organiser = make_organiser(session, email="again@example.org")
    session.commit()
    _sign_in(page, live_server, organiser.email)
    page.wait_for_url("**/login/code**")
    page.get_by_label("Six-digit code").fill("000000")
    page.get_by_role("button", name="Sign in").click()
    assert "login/code" in page.url
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(organiser.totp_secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/organisers/(?!login).*"))


def test_organiser_pages_show_payloads_as_text(live_server, page, session):
    _seed_payload_signers(session)
    organiser = make_organiser(session, email="xss@example.org")
    campaign = session.get(Campaign, 1)
    pending = make_signature(session, campaign, comment=PAYLOADS[1], name=PAYLOADS[2])
    pending.comment_status = "pending"
    session.commit()
    _sign_in(page, live_server, organiser.email)
    page.get_by_label("Six-digit code").fill(pyotp.TOTP(organiser.totp_secret).now())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/organisers/(?!login).*"))
    for path in (
        "/organisers/",
        "/organisers/campaigns/zhanaozen/",
        "/organisers/campaigns/zhanaozen/signatures",
        "/organisers/campaigns/zhanaozen/comments",
        "/organisers/audit",
        "/organisers/campaigns/zhanaozen/deliveries",
        "/organisers/campaigns/zhanaozen/links",
    ):
        assert_inert(page, live_server + path)
    page.goto(live_server + "/organisers/campaigns/zhanaozen/signatures")
    assert page.get_by_text(PAYLOADS[2]).first.is_visible()
    names = session.scalars(select(Signature.name)).all()
    assert any("<script>" in n for n in names)
