"""Surge mode: campaign pages a proxy can cache, and a form check that needs no session.

A page that a shared cache hands to many visitors must not carry anything of one visitor:
no session cookie, no CSRF token bound to a session. So in surge mode the signature form
carries instead a *form token* that is the same for every visitor: an HMAC of the current
time window under the app's secret. It proves the form came from this site recently, but
since anyone can fetch it, it does not by itself stop cross-site forgery. That is done by
the browser's own statement of where the POST comes from:

* ``Sec-Fetch-Site: same-origin`` (sent by every current browser, not forgeable from a
  page, and unaffected by our ``Referrer-Policy: no-referrer``) is accepted; any other value
  (``cross-site``, ``same-site``, ``none``) is refused;
* without it, an ``Origin`` header naming this site is accepted (``Origin: null``, which the
  no-referrer policy makes browsers send, proves nothing and is not);
* with neither, the POST falls back to the ordinary check: the form is shown again, with
  what the person typed and a session-bound token, and the second press goes through.

A refused POST is never cached and never loses what was typed.
"""

from __future__ import annotations

import hmac
import time
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from werkzeug.wrappers import Response

from campaign.models import Campaign
from campaign.privacy import keyed_hash

FIELD = "surge_token"


def enabled(campaign: Campaign) -> bool:
    """True when ``campaign``'s pages are served in surge mode: its own switch, or the site's.

    Its coordinators switch it on the organisers' dashboard (or ``flask campaign surge``);
    CAMPAIGN_SURGE_MODE turns it on for every campaign. A form sent from a page cached
    before it was switched off is shown again with a session token, and signs on the
    second press (see the module's doc), so switching loses no signature.
    """
    return bool(current_app.config["SURGE_MODE"]) or campaign.surge_mode


def _window(offset: int = 0) -> int:
    return int(time.time() // int(current_app.config["SURGE_TOKEN_WINDOW"])) - offset


def _token_for(window: int) -> str:
    return f"{window}.{keyed_hash(str(window), 'surge-form', 32)}"


def form_token() -> str:
    """The form token of the current window, the same for every visitor."""
    return _token_for(_window())


def token_valid(token: str) -> bool:
    """True for the token of the current or the previous window."""
    given = token.encode()
    return any(hmac.compare_digest(given, _token_for(_window(age)).encode()) for age in (0, 1))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def same_origin() -> bool:
    """True when the browser says the request comes from a page of this site."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    origin = request.headers.get("Origin", "").lower()
    if not origin or origin == "null":
        return False
    return origin in {_origin(current_app.config["BASE_URL"]), _origin(request.host_url)}


def post_accepted(campaign: Campaign) -> bool:
    """True for a surge-mode POST with a current form token from a page of this site."""
    return enabled(campaign) and same_origin() and token_valid(request.form.get(FIELD, ""))


def cacheable_for(campaign: Campaign, response: Response) -> Response:
    """``response``, cacheable if ``campaign`` is in surge mode: a page the same for all."""
    return cacheable(response) if enabled(campaign) else response


def cacheable(response: Response) -> Response:
    """Let shared caches keep ``response`` briefly and serve it stale while refreshing."""
    g.cacheable = True
    config = current_app.config
    response.headers["Cache-Control"] = (
        f"public, max-age={int(config['SURGE_MAX_AGE'])}, "
        f"stale-while-revalidate={int(config['SURGE_STALE_SECONDS'])}"
    )
    return response


def init_app(app: Flask) -> None:
    """Keep cookies off cacheable responses, whatever else ran during the request."""

    @app.after_request
    def no_cookies_on_cacheable(response: Response) -> Response:
        # Registered before the blueprints and the other hooks, so it runs after them
        # (Flask runs these hooks in reverse). The session cookie is set later still: a
        # cacheable view must never touch the session, and the surge tests check it.
        if g.get("cacheable"):
            response.headers.remove("Set-Cookie")
        return response
