"""Extensions, created unbound and bound to an app by ``create_app``."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_wtf import CSRFProtect
from sqlalchemy import ColumnElement, Engine, String, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

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
        engine = create_engine(url, **options)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _add_unicode_lower)
        app.extensions["database"] = engine
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


# SQLite's own lower() folds ASCII letters only, so "Мария" would never find "мария";
# each connection gets Python's lower() under this name (see ``lowered``).
_SQLITE_LOWER = "unicode_lower"


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _add_unicode_lower(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.create_function(_SQLITE_LOWER, 1, _lower, deterministic=True)


class _UnicodeLower(FunctionElement[str]):
    """SQL ``lower()`` that folds every script; compiled per database below."""

    type = String()
    name = "unicode_lower"
    inherit_cache = True


@compiles(_UnicodeLower)
def _compile_lower(element: _UnicodeLower, compiler: SQLCompiler, **kw: Any) -> str:
    # PostgreSQL's lower() folds every script in a UTF-8 database with a UTF-8 ctype.
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_UnicodeLower, "sqlite")
def _compile_lower_sqlite(element: _UnicodeLower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{_SQLITE_LOWER}({compiler.process(element.clauses, **kw)})"


def lowered(text: Any) -> ColumnElement[str]:
    """``text`` in lower case in any script (Қ, Ә, Ж as well as Q), on either database.

    Compare it with Python's ``str.lower()``, which folds the same way.
    """
    return _UnicodeLower(text)


db = Database()
csrf = CSRFProtect()
babel = Babel()
# Keyed on a hash of the client address, so the limiter's storage never holds an address.
# With Redis unreachable, limits fall back to process memory rather than failing requests.
limiter = Limiter(key_func=client_key, in_memory_fallback_enabled=True)
