"""Configuration in layers: defaults here, the instance file, CAMPAIGN_* variables, a test mapping.

Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from campaign import catalogs

# A placeholder that marks "no secret configured"; the app refuses to run outside
# development or tests while it is in place.
UNSET_SECRET = "change-me"  # noqa: S105


class Defaults:
    """Settings that hold when nothing else says otherwise (the embedded default)."""

    SECRET_KEY = UNSET_SECRET
    # Set by the serve command; relaxes the production checks (secret key, mail server,
    # rate limits shared between workers).
    DEVELOPMENT = False

    # SQLite in the instance folder unless CAMPAIGN_DATABASE_URL says otherwise.
    DATABASE_URL: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}

    # Rate limits (flask-limiter). Storage in process memory unless a Redis URI is set.
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_SIGN = "5 per minute;50 per day"
    # The sign form sent again only to be shown in another language (after a mistake).
    RATELIMIT_LANGUAGE_SWITCH = "30 per minute"
    RATELIMIT_RESEND = "3 per hour"
    RATELIMIT_CONFIRM = "30 per hour"
    RATELIMIT_LOGIN = "10 per 15 minutes"
    # Failed sign-ins per account (known or not), in fixed windows: a stranger who uses
    # them up locks the account out only until the window ends.
    RATELIMIT_LOGIN_ACCOUNT = "5 per 15 minutes"
    # Second-factor attempts per half-finished sign-in and per client address.
    RATELIMIT_SECOND_FACTOR = "5 per 5 minutes"
    # Named share links anyone may create, per client address.
    RATELIMIT_LINKS = "10 per hour"
    # Look-ups of a receipt code (was my signature delivered?), per client address.
    RATELIMIT_RECEIPT = "10 per hour"
    # No X-RateLimit-* headers: people read pages, not quotas, and each set of headers
    # cost every limited request one more round trip to Redis. A refusal still says when
    # to come back (Retry-After, and the error page).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_ENABLED = True
    # A Redis that stops answering must not hold requests up, nor ever turn into a 500.
    RATELIMIT_STORAGE_OPTIONS: dict[str, Any] = {"socket_timeout": 1, "socket_connect_timeout": 1}
    RATELIMIT_SWALLOW_ERRORS = True
    # Workers per host; more than one in production requires shared rate-limit storage.
    WORKERS = 1

    # Number of reverse proxies in front of the app whose X-Forwarded-* headers are trusted.
    TRUSTED_PROXIES = 0

    # Outgoing mail: printed to the console when MAIL_SERVER is empty, which only
    # development and tests allow.
    MAIL_SERVER = ""
    MAIL_PORT = 25
    MAIL_USERNAME = ""
    MAIL_PASSWORD = ""
    MAIL_USE_TLS = False
    MAIL_DEFAULT_SENDER = "Zhanaozen solidarity <petition@localhost>"
    # Redis URL of an RQ queue for outgoing mail; empty sends inline.
    MAIL_QUEUE_URL = ""
    # Seconds between attempts when a queued email fails; one retry per entry.
    MAIL_QUEUE_RETRY_INTERVALS: list[int] = [30, 120, 600, 1800, 3600, 7200]

    # Surge mode: campaign pages become cacheable by the proxy for SURGE_MAX_AGE seconds
    # (served stale for SURGE_STALE_SECONDS while one request refreshes them), carry no
    # session-bound token and set no cookie. See README: Surge mode.
    SURGE_MODE = False
    SURGE_MAX_AGE = 10
    SURGE_STALE_SECONDS = 60
    # The shared form token of surge mode changes every SURGE_TOKEN_WINDOW seconds and is
    # accepted for two windows, so a form stays valid for at least that long.
    SURGE_TOKEN_WINDOW = 3 * 3600

    # A share link's private page shows no number below this: a link given to one person
    # must not tell whether that person signed.
    SHARE_STATS_SMALLEST = 5

    # Threads per process that do the work following an answer (the signing email), so
    # the thread that answered is free at once; 0, for tests only, has that thread do it
    # (see campaign/afterwards.py).
    DEFERRED_WORK_THREADS = 2

    # Absolute address of the site, used in emails and share links.
    BASE_URL = "http://127.0.0.1:5000"

    # Email checks: DNS look-ups only when asked for.
    EMAIL_CHECK_DELIVERABILITY = False
    # Whether the mail server takes addresses with letters other than ASCII before the @
    # (SMTPUTF8). Without it such an address is refused when typed, not left unconfirmed.
    MAIL_SMTPUTF8 = False
    # How long a confirmation link stays valid, in seconds (7 days).
    CONFIRM_MAX_AGE = 7 * 24 * 3600
    # At most this many confirmation emails per signature, the first included.
    MAX_EMAILS_PER_SIGNATURE = 4

    # Unconfirmed signatures are deleted after this many days (flask privacy purge-pending).
    PENDING_MAX_AGE_DAYS = 14
    # Address hashes (kept to spot surges) are dropped after this many days.
    CLIENT_KEY_MAX_AGE_DAYS = 2
    # Delivered signatures lose their personal data this many days after the campaign's
    # delivery (flask privacy anonymise).
    RETENTION_DAYS = 90

    LANGUAGES = ("en", "ru", "kk")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_TRANSLATION_DIRECTORIES = "translations"

    # Where campaign content and the embassy directory are read from.
    SEEDS_DIR: str | None = None

    # Sources allowed to frame the embeddable widget (CSP frame-ancestors), e.g.
    # "https://union.example https://allies.example"; every other page refuses framing.
    EMBED_FRAME_ANCESTORS = ""
    # Seconds a campaign's link-preview image is kept before it is drawn again with the
    # current count.
    PREVIEW_REFRESH = 300

    # Organisers: password length, and how long a session lives idle and at most.
    ORGANISER_PASSWORD_MIN_LENGTH = 12
    ORGANISER_IDLE_MINUTES = 30
    ORGANISER_SESSION_HOURS = 12
    # Dashboard: days in the signatures-per-day chart; a surge worth a look is this many
    # signatures from one address hash or one email domain within the last hours given.
    DASHBOARD_DAYS = 30
    DASHBOARD_SURGE_HOURS = 24
    DASHBOARD_SURGE_PER_ADDRESS = 10
    DASHBOARD_SURGE_PER_DOMAIN = 50
    # Paper signatures: the largest CSV file accepted, its most rows, and how many seconds
    # a checked file may wait for the organiser to confirm its import.
    PAPER_IMPORT_MAX_BYTES = 1024 * 1024
    PAPER_IMPORT_MAX_ROWS = 5000
    PAPER_IMPORT_MAX_AGE = 3600

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    MAX_CONTENT_LENGTH = 64 * 1024


_BOOL_KEYS = {
    "DEVELOPMENT",
    "MAIL_USE_TLS",
    "EMAIL_CHECK_DELIVERABILITY",
    "MAIL_SMTPUTF8",
    "RATELIMIT_ENABLED",
    "SURGE_MODE",
}


def load(app: Flask, overrides: Mapping[str, Any] | None = None) -> None:
    """Fill ``app.config`` from the layers, in order, and derive dependent settings."""
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CAMPAIGN")
    if overrides:
        app.config.update(overrides)
    for key in _BOOL_KEYS:
        app.config[key] = _as_bool(app.config[key])

    root = os.path.dirname(app.root_path)
    if not app.config["SEEDS_DIR"]:
        app.config["SEEDS_DIR"] = os.path.join(root, "seeds")
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        url = app.config["DATABASE_URL"]
        if not url:
            os.makedirs(app.instance_path, exist_ok=True)
            url = "sqlite:///" + os.path.join(app.instance_path, "campaign.sqlite3")
        app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_DATABASE_URI"] = _normalise_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
    check(app)


def check(app: Flask) -> None:
    """Refuse settings that would be unsafe in production."""
    relaxed = app.config["DEVELOPMENT"] or app.testing or app.debug
    if not relaxed and app.config["SECRET_KEY"] in (None, "", UNSET_SECRET):
        raise RuntimeError("CAMPAIGN_SECRET_KEY must be set to a long random value in production.")
    if not relaxed and not app.config["MAIL_SERVER"]:
        # Without a mail server, emails are printed: signers' addresses and their
        # confirmation links would end up in the server's log.
        raise RuntimeError("CAMPAIGN_MAIL_SERVER must be set in production.")
    threads = app.config["DEFERRED_WORK_THREADS"]
    if type(threads) is not int or threads < 0:
        raise RuntimeError("CAMPAIGN_DEFERRED_WORK_THREADS must be a whole number, 0 or more.")
    translated = [lang for lang in app.config["LANGUAGES"] if lang != "en"]
    if not relaxed and (uncompiled := catalogs.missing(translated)):
        raise RuntimeError(
            f"No compiled catalog for {', '.join(uncompiled)}: in the repository folder, run "
            "pybabel compile --use-fuzzy -d campaign/translations."
        )
    if not relaxed and threads == 0:
        # The thread that answered would send the email, and the server would close the
        # connection only after it: how long that took would tell whether the address
        # had signed (campaign/afterwards.py).
        raise RuntimeError("CAMPAIGN_DEFERRED_WORK_THREADS=0 is for tests; use 1 or more.")
    if (
        not relaxed
        and int(app.config["WORKERS"]) > 1
        and app.config["RATELIMIT_STORAGE_URI"].startswith("memory")
    ):
        raise RuntimeError(
            "Rate limits kept in process memory do not hold across workers: "
            "set CAMPAIGN_RATELIMIT_STORAGE_URI to a Redis URI."
        )


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def _normalise_db_url(url: str) -> str:
    # Plain postgres URLs select psycopg 3, the driver the project installs.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
