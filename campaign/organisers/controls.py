"""A campaign's switches, a coordinator's: pausing signing and surge mode.

Both were commands for whoever runs the server (``flask campaign pause``, and surge mode a
setting followed by a reload). Here the coordinators who watch the count can throw them
when the moment comes; each change goes to the audit log, as from the command line.
"""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from campaign import campaigns
from campaign.extensions import db
from campaign.organisers import bp
from campaign.organisers.access import require_organiser
from campaign.organisers.forms import ActionForm

# What each switch changes, and to what.
_SWITCHES = {
    "pause": (campaigns.set_signing_paused, True),
    "resume": (campaigns.set_signing_paused, False),
    "surge-on": (campaigns.set_surge_mode, True),
    "surge-off": (campaigns.set_surge_mode, False),
}


@bp.post("/campaigns/<slug>/switch/<any(pause, resume, 'surge-on', 'surge-off'):switch>")
def switch_campaign(slug: str, switch: str) -> Response:
    """Throw one of the campaign's switches; back to its dashboard, which shows the state."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    if not ActionForm().validate():
        abort(400)
    change, on = _SWITCHES[switch]
    change(db.session, campaign, on, require_organiser())
    flash(_messages()[switch])
    return redirect(url_for(".campaign_dashboard", slug=campaign.slug) + "#switches", code=303)


def _messages() -> dict[str, str]:
    """What the organiser is told after each switch, in their language."""
    return {
        "pause": _("Signing is paused: the page stays up and asks visitors to come back later."),
        "resume": _("Signing is open again."),
        "surge-on": _(
            "Surge mode is on: the proxy now serves this campaign's pages from its cache."
        ),
        "surge-off": _("Surge mode is off: every page is made for its visitor again."),
    }
