"""A petition app for solidarity campaigns."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_decimal, format_percent
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import BadRequest, HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map
from werkzeug.wrappers import Response

from campaign import config, languages


def create_app(
    overrides: Mapping[str, Any] | None = None, instance_path: str | None = None
) -> Flask:
    """Build the application: configuration, extensions, blueprints, commands, errors."""
    root = __path__[0].rsplit("/", 1)[0]
    app = Flask(
        __name__,
        instance_path=instance_path,
        instance_relative_config=True,
        template_folder=f"{root}/templates",
        static_folder=f"{root}/static",
    )
    config.load(app, overrides)

    app.wsgi_app = _query_string_as_browsers_send_it(app.wsgi_app)
    if app.config["DEVELOPMENT"]:
        # Served by Werkzeug's development server (dev.py serve): see finished_when_sent.
        from campaign.afterwards import finished_when_sent

        app.wsgi_app = finished_when_sent(app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.url_map.converters["lang"] = languages.converter(tuple(app.config["LANGUAGES"]))
    app.url_map.converters["id"] = RowId
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = f"{app.root_path}/translations"

    from campaign.extensions import babel, csrf, db, limiter

    db.init_app(app)
    # The limiter goes first so requests that fail the CSRF check still count.
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=languages.current)
    _sqlite_durability(app, db)

    from campaign import surge
    from campaign.embed import bp as embed
    from campaign.health import bp as health
    from campaign.public.views import bp as public

    # Before the blueprints: its hook then runs after theirs and can drop their cookies.
    surge.init_app(app)

    app.register_blueprint(public)
    app.register_blueprint(health)
    app.register_blueprint(embed)
    app.register_blueprint(_organisers_blueprint())

    from campaign import cli, headers

    cli.init_app(app)
    headers.init_app(app)
    _refuse_nul_bytes(app)
    _commit_at_the_edge(app, db)
    _error_pages(app)
    _template_helpers(app)
    _quiet_secrets_in_logs()
    return app


def _query_string_as_browsers_send_it(wsgi_app: Callable[..., Any]) -> Callable[..., Any]:
    """``wsgi_app`` with raw bytes in a query string percent-encoded, as browsers send them.

    Werkzeug reads a query string as UTF-8 and fails on a raw byte that is not, which only
    a hand-made request sends (gunicorn refuses such a request line; Werkzeug's
    development server passes it on). Percent-encoded, an invalid byte stays as it is in
    the value (%FF) and a valid sequence reads as its letter, as when a browser sends it.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            # WSGI gives the bytes as a latin-1 string: one character per byte.
            environ["QUERY_STRING"] = "".join(
                ch if ch.isascii() else f"%{ord(ch):02X}" for ch in query
            )
        return wsgi_app(environ, start_response)

    return app


class RowId(IntegerConverter):
    """A row's id in a URL: a number every database takes, so a bigger one is simply not found."""

    def __init__(self, url_map: Map) -> None:
        super().__init__(url_map, min=1, max=2**31 - 1)


def _organisers_blueprint() -> Any:
    """The organisers' blueprint with its guard and every module of its routes loaded."""
    # Imported for the routes they add.
    from campaign.organisers import (  # noqa: F401
        access,
        bp,
        controls,
        deliveries,
        share_links,
        signin,
        views,
    )

    return bp


def _refuse_nul_bytes(app: Flask) -> None:
    """Refuse text with NUL characters: no form needs them and PostgreSQL cannot store them."""

    @app.before_request
    def refuse() -> None:
        sources = [request.args]
        # Bodies over the site-wide limit are left to the view: a few (the paper import)
        # allow more, and reading the form here would refuse them before the view could.
        # A body of unknown length (sent in chunks, which no browser does) is read here
        # under the site-wide limit.
        length = request.content_length
        if length is None or length <= current_app.config["MAX_CONTENT_LENGTH"]:
            sources.append(request.form)
        for fields in sources:
            for key, values in fields.lists():
                if "\x00" in key or any("\x00" in value for value in values):
                    abort(400)


def _commit_at_the_edge(app: Flask, db: Any) -> None:
    """One commit per request, after the view; mail leaves only once data is stored."""
    from campaign import mail

    @app.after_request
    def commit(response: Response) -> Response:
        if response.status_code < 500:
            db.session.commit()
            mail.deliver_queued()
        else:
            db.session.rollback()
            mail.discard_queued()
        return response


# Every SQLite connection's settings: a write-ahead log synced on every commit, foreign
# keys enforced, erased rows overwritten, and writers that wait for each other.
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=FULL",
    "foreign_keys=ON",
    "secure_delete=ON",
    "busy_timeout=10000",
)


def _sqlite_durability(app: Flask, db: Any) -> None:
    """WAL with full sync on SQLite: an acknowledged signature survives a crash."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        return
    from sqlalchemy import event

    @event.listens_for(app.extensions["database"], "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def _error_pages(app: Flask) -> None:
    """Friendly, localized pages for every error, never a bare traceback."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        from flask.globals import request_ctx

        if request_ctx.url_adapter is None:
            # No address can be built for the host the request named (Werkzeug's BadHost),
            # so no page with links can answer it. Browsers never send such a request.
            return f"{error.code} {error.name}\n", error.code or 400, {"Content-Type": "text/plain"}
        headers = {}
        retry_after = None
        if error.code == 429:
            from campaign.extensions import limiter

            current = limiter.current_limit
            if current is not None:
                import time

                retry_after = max(1, int(current.reset_at - time.time()))
                headers["Retry-After"] = str(retry_after)
            from campaign.public.views import REFUSED_FORMS

            again = REFUSED_FORMS.get(request.endpoint or "")
            if again is not None and request.method == "POST":
                # A refused form keeps what was typed: it comes back filled in, unless what
                # was sent cannot be read as a form (too large, malformed): then the plain
                # page says to wait.
                try:
                    refused = again(retry_after)
                except HTTPException:
                    refused = None
                if refused is not None:
                    refused.headers.update(headers)
                    return refused
            return _with_fields_to_send_again(error, retry_after, headers)
        page = render_template("errors/error.html", error=error, retry_after=retry_after)
        return page, error.code or 500, headers

    @app.errorhandler(OperationalError)
    def database_unavailable(error: OperationalError) -> tuple[str, int, dict[str, str]]:
        # The database is down or overloaded: say so, and when to come back.
        app.logger.warning("database unavailable: %s", type(error.orig).__name__)
        from campaign.extensions import db

        db.session.rollback()
        return _with_fields_to_send_again(ServiceUnavailable(), 30, {"Retry-After": "30"})

    @app.errorhandler(DataError)
    def unstorable(error: DataError) -> tuple[str, int]:
        # A value the database refuses (too long, malformed) is the request's fault.
        from campaign.extensions import db

        db.session.rollback()
        return render_template("errors/error.html", error=BadRequest(), retry_after=None), 400

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[str, int]:
        app.logger.exception("unhandled error on %s", request.endpoint)
        from campaign.extensions import db

        db.session.rollback()
        return render_template("errors/error.html", error=None, retry_after=None), 500


def _with_fields_to_send_again(
    error: HTTPException, retry_after: int | None, headers: dict[str, str]
) -> tuple[str, int, dict[str, str]]:
    """The error page of a refused POST, holding what a public form sent, to send again.

    The database busy or a limit reached: the supporter should not have to type it all
    again. Never for the organisers' forms (a password has no place in a page), nor for a
    body that cannot be read as a form. A page holding what someone typed is never stored.
    """
    again_fields: list[tuple[str, str]] = []
    if request.method == "POST" and request.blueprint == "public":
        with contextlib.suppress(HTTPException):
            again_fields = list(request.form.items(multi=True))
    if again_fields:
        headers = {**headers, "Cache-Control": "no-store"}
    page = render_template(
        "errors/error.html", error=error, retry_after=retry_after, again_fields=again_fields
    )
    return page, error.code or 500, headers


def _template_helpers(app: Flask) -> None:
    """Functions the templates need for numbers and languages."""
    from flask_babel import format_date, format_timedelta, get_locale

    from campaign import countries, embassies

    app.jinja_env.globals.update(
        format_number=format_decimal,
        format_percent=format_percent,
        format_timedelta=format_timedelta,
        country_name=lambda code: countries.name(code, str(get_locale())),
        current_language=lambda: str(get_locale()),
        format_date=format_date,
        alternates=languages.alternates,
        canonical_url=languages.canonical_url,
        lang_attr=languages.lang_attr,
        language_name=languages.name,
        embassy_name=embassies.display_name,
    )


_REDACTIONS = (
    (re.compile(r"\?[^\s\"]*"), "?…"),
    # Every character an address's local part may hold (RFC 5322's atext and dots).
    # The @ may come percent-encoded, as in a path that a request log line shows.
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+(@|%40)[\w-]+(\.[\w-]+)+", re.IGNORECASE), "<email>"),
    (re.compile(r"\b\d{1,3}(\.\d{1,3}){3}\b"), "<address>"),
    (
        re.compile(r"(?<![\w:])(?=[0-9a-fA-F:]*::|(?:[0-9a-fA-F]{1,4}:){5})[0-9a-fA-F:]{2,39}"),
        "<address>",
    ),
)


def _redact(text: str) -> str:
    """Text with addresses, email addresses and query strings (tokens travel there) removed."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _redacting_factory(make: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    """A log record factory that redacts every record as it is made, tracebacks included."""

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make(*args, **kwargs)
        message = record.getMessage()
        if message.startswith(" * "):
            return record  # the development server's own banner ("Running on ..."), no visitor
        record.msg, record.args = _redact(message), ()
        if record.exc_info:
            record.exc_text = _redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = _redact(record.stack_info)
        return record

    factory.redacting = True  # type: ignore[attr-defined]
    return factory


def _quiet_secrets_in_logs() -> None:
    # Made process-wide at record creation, so no logger or handler added later (gunicorn's,
    # a library's, a child of ours) can write a visitor's address, email or token.
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacting", False):
        logging.setLogRecordFactory(_redacting_factory(current))
