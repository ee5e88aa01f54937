"""Organisers' leaderboard of share links: which links brought the most confirmed signatures."""

from __future__ import annotations

from flask import render_template

from campaign import campaigns, languages, sharing
from campaign.extensions import db
from campaign.organisers import bp

# Enough for every active group of a campaign on one page.
LEADERBOARD_SIZE = 100


@bp.get("/campaigns/<slug>/links")
def share_links(slug: str) -> str:
    """The share links of a campaign ranked by what they brought; personal links stay nameless."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    return render_template(
        "organisers/share_links.html",
        campaign=campaign,
        title=campaigns.text_for(campaign, languages.current()).title,
        rows=sharing.leaderboard(db.session, campaign.id, LEADERBOARD_SIZE),
    )
