"""Who may open an organiser page: the signed-in session, its expiry, and the guard.

Every route on the organisers' blueprint passes the guard below, so a view added later
cannot forget it. Only the sign-in steps are open. Every view of the module that hands the
signers' data over (lists, packs, deliveries, paper signatures), and of the one that
switches a campaign (pausing signing, surge mode), is a coordinator's, so a view added
there later is one too.

An organiser whose session ended (idle, too old, signed out elsewhere, or its cookie gone)
is sent to sign in again, told why, and brought back to the page they were on.
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import Forbidden
from werkzeug.wrappers import Response

from campaign.extensions import db
from campaign.models import Organiser, Role
from campaign.organisers import bp

# The steps of signing in: password, then enrolling a second factor or entering a code.
OPEN_ENDPOINTS = frozenset({"organisers.login", "organisers.second_factor", "organisers.enrol"})

# The module whose views hand data over; only coordinators open them.
HANDING_OVER = "campaign.organisers.deliveries"
# Every module whose views are a coordinator's: those, and the campaign's switches.
COORDINATORS_ONLY = frozenset({HANDING_OVER, "campaign.organisers.controls"})

# A password accepted this long ago without the code that follows is forgotten.
PENDING_SECONDS = 5 * 60

_ID, _VERSION, _SEEN, _SINCE = (
    "organiser_id",
    "organiser_version",
    "organiser_seen",
    "organiser_since",
)
_PENDING_ID, _PENDING_VERSION, _PENDING_AT = "pending_id", "pending_version", "pending_at"

# Actions whose form sits on another page: after signing in again the organiser goes back
# to that page (what the form sent is gone with the session, so it is not sent again).
FORM_PAGES = {
    "organisers.pack_download": "organisers.deliveries_page",
    "organisers.delivery_pack": "organisers.deliveries_page",
    "organisers.paper_import": "organisers.paper_upload",
    "organisers.invalidate_signature": "organisers.signatures",
    "organisers.restore_signature": "organisers.signatures",
    "organisers.invalidate_matching": "organisers.signatures",
    "organisers.restore_matching": "organisers.signatures",
    "organisers.decide_comment": "organisers.comments",
    "organisers.switch_campaign": "organisers.campaign_dashboard",
}


class CoordinatorsOnly(Forbidden):
    """A page for coordinators, opened by a moderator; the error page says which role it needs."""

    needs_coordinator = True


def current_organiser() -> Organiser | None:
    """The organiser signed in on this request, or None."""
    return g.get("organiser")


def require_organiser() -> Organiser:
    """The signed-in organiser; a 403 when there is none (the guard lets no one through)."""
    organiser = current_organiser()
    if organiser is None:
        abort(403)
    return organiser


def may_hand_over(organiser: Organiser | None) -> bool:
    """Whether this organiser may export, deliver and import: a coordinator."""
    return organiser is not None and organiser.role == Role.COORDINATOR


def may_open(organiser: Organiser, endpoint: str) -> bool:
    """Whether this signed-in organiser may open the page at ``endpoint``."""
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "__module__", "") not in COORDINATORS_ONLY or may_hand_over(organiser)


def _now() -> int:
    return int(time.time())


def _fresh_session() -> None:
    """Empty the session, and drop this request's CSRF token that belonged to it."""
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def begin_sign_in(organiser: Organiser) -> None:
    """Remember, for a few minutes, that this organiser's password was right."""
    _fresh_session()
    session[_PENDING_ID] = organiser.id
    session[_PENDING_VERSION] = organiser.session_version
    session[_PENDING_AT] = _now()


def pending_organiser() -> Organiser | None:
    """The organiser whose password was accepted and who still owes a code, if any."""
    organiser_id = session.get(_PENDING_ID)
    started = session.get(_PENDING_AT, 0)
    if not isinstance(organiser_id, int) or _now() - started > PENDING_SECONDS:
        return None
    organiser = db.session.get(Organiser, organiser_id)
    if (
        organiser is None
        or not organiser.active
        or organiser.session_version != session.get(_PENDING_VERSION)
    ):
        return None
    return organiser


def finish_sign_in(organiser: Organiser) -> None:
    """Start a fresh signed-in session (a new cookie, nothing of the old one kept)."""
    _fresh_session()
    now = _now()
    session[_ID] = organiser.id
    session[_VERSION] = organiser.session_version
    session[_SEEN] = now
    session[_SINCE] = now


def forget() -> None:
    """Drop whatever this browser's session held."""
    _fresh_session()


def _signed_in() -> Organiser | None:
    """The organiser this session belongs to, if it is still valid; refreshes its idle clock."""
    organiser_id = session.get(_ID)
    if not isinstance(organiser_id, int):
        return None
    now = _now()
    idle = int(current_app.config["ORGANISER_IDLE_MINUTES"]) * 60
    longest = int(current_app.config["ORGANISER_SESSION_HOURS"]) * 3600
    if now - session.get(_SEEN, 0) > idle or now - session.get(_SINCE, 0) > longest:
        return None
    organiser = db.session.get(Organiser, organiser_id)
    if (
        organiser is None
        or not organiser.active
        or not organiser.totp_enrolled
        or organiser.session_version != session.get(_VERSION)
    ):
        return None
    session[_SEEN] = now
    return organiser


@bp.before_request
def _guard() -> Response | None:
    """Refuse anyone not fully signed in: to the sign-in page, or a 403 for a stranger's form."""
    g.organiser = organiser = _signed_in()
    if organiser is not None:
        if not may_open(organiser, request.endpoint or ""):
            raise CoordinatorsOnly()
        return None
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if request.method not in ("GET", "HEAD") and not _session_ended():
        # A form without a token of ours and no session behind it: no page of ours sent it.
        abort(403)
    return _sign_in_again()


@bp.errorhandler(CSRFError)
def _stale_form(error: CSRFError) -> Response | tuple[str, int]:
    """A form refused because the session behind its token ended: sign in again, then back.

    Forms with a token of a session still signed in (or of none ever) get the error page.
    """
    if request.endpoint not in OPEN_ENDPOINTS and _signed_in() is None and _session_ended():
        return _sign_in_again()
    page = render_template("errors/error.html", error=error, retry_after=None)
    return page, error.code or 400


def _session_ended() -> bool:
    """Whether this request comes from an organiser whose session ended meanwhile.

    Either the session still names them, or a form carries the token one of our pages gave
    (a session cookie that expired with the browser leaves nothing else behind).
    """
    if session.get(_ID) is not None:
        return True
    if request.method in ("GET", "HEAD"):
        return False
    length = request.content_length
    if length is not None and length > current_app.config["MAX_CONTENT_LENGTH"]:
        # Only the paper forms send this much; their body is read by the view, not here.
        return True
    return bool(request.form.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")))


def _sign_in_again() -> Response:
    """To the sign-in page: saying why when a session ended, and the way back to this page."""
    ended = _session_ended()
    if session.get(_ID) is not None:
        # Forget the ended session, so the next sign-in starts clean.
        forget()
    signing_out = request.endpoint == "organisers.logout"
    if signing_out:
        flash(_("You have signed out."))
    elif ended:
        flash(_("Your session has ended. Please sign in again."))
    back = None if signing_out else _page_to_return_to()
    code = 302 if request.method in ("GET", "HEAD") else 303
    return redirect(url_for("organisers.login", next=back), code=code)


def _page_to_return_to() -> str | None:
    """The organiser page this request came from: itself, or the page of the form sent."""
    rule = request.url_rule
    if rule is not None and "GET" in (rule.methods or ()):
        return _local_path(request.full_path)
    page = FORM_PAGES.get(request.endpoint or "")
    if page is None:
        return None
    path = url_for(page, slug=(request.view_args or {}).get("slug"))
    query = request.query_string.decode()
    return _local_path(f"{path}?{query}" if query else path)


@bp.context_processor
def _organiser_in_templates() -> dict[str, Any]:
    """Templates see who is signed in (already loaded by the guard, no query), and what
    they may do: hand data over, open a page (by endpoint)."""
    organiser = g.get("organiser")
    return {
        "organiser": organiser,
        "may_hand_over": may_hand_over(organiser),
        "may_open": lambda endpoint: organiser is not None and may_open(organiser, endpoint),
    }


@bp.after_request
def _no_store(response: Response) -> Response:
    """Organiser pages hold signers' data: no cache anywhere may keep them."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    return response


def _local_path(target: str | None) -> str | None:
    """``target`` when it is a path on this site's organiser pages, else None."""
    if not target:
        return None
    target = target.rstrip("?")
    if (
        not target.startswith(bp.url_prefix + "/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 for ch in target)
    ):
        return None
    return target


def after_sign_in_target(target: str | None) -> str:
    """Where to go once signed in: the page first asked for, if it was an organiser page."""
    return _local_path(target) or url_for("organisers.index")
