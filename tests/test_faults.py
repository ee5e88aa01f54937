"""Faults: gunicorn killed outright under signing load loses no acknowledged signature.

Every signature whose POST got its success answer (the 303 to the thank-you page) must be
in the database after ``kill -9`` of the master and all workers and a restart: the commit
happens before the answer, and SQLite runs with WAL and ``synchronous=FULL``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from campaign.models import Signature
from tests.conftest import free_port
from tests.redis_server import wait_for
from tests.test_scale import (
    GUNICORN,
    ROOT,
    open_form,
    private_redis,  # noqa: F401  (a fixture this module uses)
    scale_database,  # noqa: F401  (a fixture this module uses)
    server_environment,
    submit,
    visitor,
)

pytestmark = pytest.mark.services

CLIENTS = 8
# Bounds on the load: each client signs at most this often, for at most this long.
MAX_PER_CLIENT = 150
MAX_SECONDS = 60


def _start(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(GUNICORN), "-c", "gunicorn.conf.py", "-w", "3", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group, so one signal reaches the master and every worker.
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).ok, "gunicorn")
    return process


def test_kill_9_under_load_loses_no_acknowledged_signature(
    scale_database: str,  # noqa: F811
    private_redis,  # noqa: F811
    tmp_path: Path,
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_environment(scale_database, private_redis.url, base)
    env["CAMPAIGN_RATELIMIT_SIGN"] = "100000 per minute"
    log = tmp_path / "gunicorn.log"
    process = _start(env, port, log)

    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + MAX_SECONDS

    def sign_until_stopped(client: int) -> None:
        session = visitor(f"10.77.{client}.1")
        for n in range(MAX_PER_CLIENT):
            if stop.is_set() or time.monotonic() > deadline:
                return
            email = f"kill{client}-{n}@example.org"
            try:
                status = submit(session, base, open_form(session, base), email=email)
            except requests.RequestException:
                return  # the server is gone
            if status == 303:
                with lock:
                    acknowledged.append(email)

    threads = [threading.Thread(target=sign_until_stopped, args=(c,)) for c in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        wait_for(lambda: len(acknowledged) >= 60, "signing load", seconds=MAX_SECONDS)
        # Mid-load, without warning: the master and every worker at once.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)

    restarted = _start(env, port, log)
    try:
        engine = create_engine(scale_database)
        with Session(engine) as session:
            stored = set(
                session.scalars(select(Signature.email).where(Signature.email.in_(acknowledged)))
            )
        engine.dispose()
        missing = sorted(set(acknowledged) - stored)
        assert len(acknowledged) >= 60
        assert missing == []
    finally:
        restarted.terminate()
        restarted.wait(timeout=30)


def test_sqlite_runs_with_a_write_ahead_log_synced_on_every_commit(tmp_path) -> None:
    from campaign import create_app
    from campaign.extensions import db
    from tests.conftest import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'durable.sqlite3'}"))
    with app.app_context(), db.engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA synchronous").scalar() == 2  # FULL
        assert pragma("PRAGMA secure_delete").scalar() == 1
        assert pragma("PRAGMA foreign_keys").scalar() == 1
    app.extensions["database"].dispose()
