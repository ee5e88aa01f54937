"""Script payloads typed into any field stay inert text on every page that shows them."""

from __future__ import annotations

import pytest

from campaign.models import Campaign, CommentStatus
from tests.factories import make_signature

pytestmark = pytest.mark.browser

PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img src=x onerror="window.__xss=1;alert(2)">',
    "<svg onload=alert(3)>",
    "javascript:alert(4)",
    "{{7*7}}<b>bold</b>",
]


def _seed_payload_signers(session) -> None:
    campaign = session.get(Campaign, 1)
    for n, payload in enumerate(PAYLOADS):
        signature = make_signature(
            session,
            campaign,
            name=f"{payload} Name",
            city=payload,
            organisation=payload,
            comment=payload,
            display="full",
            email=f"xss{n}@example.org",
        )
        signature.comment_status = CommentStatus.APPROVED
    session.commit()


def assert_inert(page, url: str) -> None:
    """Load ``url`` and check no payload ran or became markup."""
    page.goto(url)
    assert page.evaluate("window.__xss === undefined")
    assert page.dialogs == []
    assert page.locator("img[src='x'], svg[onload], b:text('bold')").count() == 0


def test_public_pages_show_payloads_as_text(live_server, page, session):
    _seed_payload_signers(session)
    for path in ("/en/zhanaozen/", "/ru/zhanaozen/", "/en/zhanaozen/thanks"):
        assert_inert(page, live_server + path)
    page.goto(live_server + "/en/zhanaozen/")
    assert page.get_by_text("<svg onload=alert(3)> Name").first.is_visible()
