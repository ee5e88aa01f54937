"""Keyed hashes that let the app recognise a value again without storing it."""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request


def keyed_hash(value: str, purpose: str, length: int = 64) -> str:
    """Hex HMAC-SHA256 of ``value`` under the app's secret, separated by ``purpose``."""
    key = hashlib.sha256(f"{purpose}:{current_app.config['SECRET_KEY']}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:length]


def client_key() -> str:
    """A stable pseudonym of the client's address (after trusted proxies), never the address."""
    return keyed_hash(request.remote_addr or "unknown", "client", 32)
