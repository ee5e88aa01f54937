"""The bare baseline: a WSGI app that stores one row per request and does nothing else.

Same database, same durability settings and same gunicorn settings as the app, so that
the benchmark's ratio shows what the app itself costs.
"""

from __future__ import annotations

import os
from typing import Any

from sqlalchemy import create_engine, event, text

from campaign import SQLITE_PRAGMAS

# Read from the environment here because this is not the app: it has no configuration.
URL = os.environ["BENCH_DATABASE_URL"]
ROW = "x" * 300  # about the size of a signature row

engine = create_engine(URL, pool_pre_ping=True)

if URL.startswith("sqlite"):

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # The app's own SQLite settings (campaign/__init__.py), durability included.
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Insert one row, commit, answer."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_rows (body) VALUES (:body)"), {"body": ROW})
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
