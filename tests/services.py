"""The outside services some tests need, and what to do when one is missing.

Outside CI a missing service skips the tests that need it, naming it; under CI=true it
fails them, so a run that did not exercise PostgreSQL, Redis or the browser cannot pass.
"""

from __future__ import annotations

import os
import shutil
import socket

import pytest

POSTGRES_HOST = os.environ.get("CAMPAIGN_TEST_POSTGRES_HOST", "127.0.0.1")
POSTGRES_ADMIN_URL = f"postgresql+psycopg://postgres@{POSTGRES_HOST}:5432/postgres"
REDIS_URL = os.environ.get("CAMPAIGN_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("CAMPAIGN_TEST_CHROMIUM", "/usr/bin/chromium")


def postgres_url(database: str) -> str:
    """Address of a test database on the local server."""
    return f"postgresql+psycopg://postgres@{POSTGRES_HOST}:5432/{database}"


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is required under CI=true", pytrace=False)
    pytest.skip(f"{what} (start it, or see README: Tests)")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip (or fail under CI) unless PostgreSQL answers on 127.0.0.1:5432."""
    if not _listening(POSTGRES_HOST, 5432):
        _missing("PostgreSQL is not running on 127.0.0.1:5432")


def require_redis() -> None:
    """Skip (or fail under CI) unless Redis answers."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_timeout=1).ping()
    except redis.RedisError:
        _missing("Redis is not running on 127.0.0.1:6379")


def require_chromium() -> str:
    """Path of Debian's chromium; skip (or fail under CI) without it."""
    if not shutil.which(CHROMIUM):
        _missing(f"chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM
