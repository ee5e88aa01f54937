"""Extensions, created unbound and bound to an app by ``create_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf import CSRFProtect
from sqlalchemy import Engine, create_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from campaign.privacy import client_key


class Database:
    """An engine per app and a session per app context, closed when the context ends."""

    def init_app(self, app: Flask) -> None:
        """Create the app's engine from SQLALCHEMY_DATABASE_URI."""
        # hide_parameters: errors never print the values of a statement (addresses, names).
        # pool_pre_ping: a server-side database may have dropped an idle connection; a
        # SQLite file cannot, so it is spared the extra statement on every request.
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        options: dict[str, Any] = {
            "pool_pre_ping": not url.startswith("sqlite"),
            "hide_parameters": True,
        }
        options.update(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        app.extensions["database"] = create_engine(url, **options)
        app.teardown_appcontext(self._close)

    @property
    def engine(self) -> Engine:
        """The current app's engine."""
        return current_app.extensions["database"]

    @property
    def session(self) -> Session:
        """The session of the current app context."""
        if "db_session" not in g:
            g.db_session = Session(self.engine, expire_on_commit=False)
        return g.db_session

    @staticmethod
    def _close(_error: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def insert_for(session: Session) -> Any:
    """The INSERT construct of the session's database, the one with ON CONFLICT clauses."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


db = Database()
csrf = CSRFProtect()
babel = Babel()
# Keyed on a hash of the client address, so the limiter's storage never holds an address.
# With Redis unreachable, limits fall back to process memory rather than failing requests.
limiter = Limiter(key_func=client_key, in_memory_fallback_enabled=True)
