"""Security headers on every response; framing allowed only where a view asks for it."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.wrappers import Response

# Only what the pages need, all from this origin: no inline code, no third parties.
_POLICY = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "connect-src": "'self'",
    "manifest-src": "'self'",
    "form-action": "'self'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def frameable(view: Callable[..., Any]) -> Callable[..., Any]:
    """Let the sites named in EMBED_FRAME_ANCESTORS show this view in a frame."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g.frameable = True
        return view(*args, **kwargs)

    return wrapper


def shared_image(response: Response) -> Response:
    """Let other sites show this image with <img> (a QR code, a link preview)."""
    # Cross-Origin-Resource-Policy same-origin, right for everything else, would make
    # browsers refuse these images on the allied sites that are meant to show them.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def content_security_policy(frame_ancestors: str = "'none'") -> str:
    """The CSP header value, with the given frame-ancestors."""
    policy = dict(_POLICY, **{"frame-ancestors": frame_ancestors})
    return "; ".join(f"{name} {value}" for name, value in policy.items())


class _SessionOverHTTPS(SecureCookieSessionInterface):
    """Flask's signed-cookie session; its cookie is Secure when the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured so, or when this request came over HTTPS (proxy included)."""
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_app(app: Flask) -> None:
    """Add the headers to every response, error pages and static files included."""
    # Behind a TLS proxy (TRUSTED_PROXIES) request.is_secure holds, so the cookie cannot
    # leak over plain HTTP, while a local instance over http://127.0.0.1 keeps working.
    app.session_interface = _SessionOverHTTPS()

    @app.after_request
    def secure(response: Response) -> Response:
        ancestors = "'none'"
        if g.get("frameable"):
            ancestors = current_app.config["EMBED_FRAME_ANCESTORS"] or "'none'"
        headers = response.headers
        headers["Content-Security-Policy"] = content_security_policy(ancestors)
        if ancestors == "'none'":
            headers["X-Frame-Options"] = "DENY"
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Permissions-Policy"] = (
            "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
            "interest-cohort=(), browsing-topics=()"
        )
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        # Same-origin unless the view said otherwise (shared_image).
        headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if request.is_secure:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        return response
