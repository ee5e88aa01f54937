"""The baseline again, as a Flask view: one row per request, nothing else.

Beside bench/baseline.py it shows what Flask's own request handling costs, so that the
rest of the gap between the bare baseline and the app is the app's own work.
"""

from __future__ import annotations

from flask import Flask
from sqlalchemy import text

from bench.baseline import ROW, engine

app = Flask(__name__)


@app.post("/")
@app.get("/")
def insert() -> str:
    """Insert one row, commit, answer."""
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO bench_rows (body) VALUES (:body)"), {"body": ROW})
    return "ok"
