"""The embeddable widget: a campaign's count and a sign button, framed by allied sites."""

from __future__ import annotations

from flask import Blueprint, current_app, g, make_response, render_template, request
from werkzeug.wrappers import Response

from campaign import campaigns, counting, surge
from campaign.extensions import db
from campaign.headers import frameable

bp = Blueprint("embed", __name__, url_prefix="/embed")


@bp.url_value_preprocessor
def _pull_language(endpoint: str | None, values: dict | None) -> None:
    # The widget speaks the language its address names; it never sets the language cookie,
    # which inside another site's frame would be a third-party cookie.
    g.lang = (values or {}).pop("lang", None) or current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.get("/<lang:lang>/<slug>/")
@frameable
def widget(slug: str) -> Response | str:
    """The widget: title, count, progress and a button that opens the petition."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    via = request.args.get("via", "")[:32]
    response = make_response(
        render_template(
            "embed/widget.html",
            campaign=campaign,
            text=campaigns.text_for(campaign, g.lang),
            count=counting.confirmed_count(db.session, campaign.id),
            via=via,
        )
    )
    # Every allied page that shows it asks for it: in a surge the proxy answers them too.
    return surge.cacheable_for(campaign, response)
