"""Fixtures: an app per test on each database backend, clients, a real SMTP server."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from campaign import afterwards, create_app
from campaign.cli import alembic_config
from campaign.extensions import db, limiter
from campaign.models import Base
from tests import services

SECRET = "test-secret-key-that-is-long-enough-for-hmac"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        action="append",
        choices=["sqlite", "postgres"],
        help="database backends to run against (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("backend") or ["sqlite", "postgres"]
        metafunc.parametrize("backend", chosen, scope="session")


def base_config(database_url: str, **extra: object) -> dict[str, object]:
    """Settings every test app starts from."""
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": SECRET,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_SIGN": "1000 per minute",
        "RATELIMIT_RESEND": "1000 per minute",
        "RATELIMIT_CONFIRM": "1000 per minute",
        "RATELIMIT_LOGIN": "1000 per minute",
        "BASE_URL": "http://petition.test",
        # The thread that answered does the work that follows (the signing email), so a
        # test reads its outcome as soon as the response is closed (see ClosingClient).
        "DEFERRED_WORK_THREADS": 0,
    }
    config.update(extra)
    return config


def _migrate_and_seed(url: str) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        from alembic import command

        command.upgrade(alembic_config(), "head")
    _seed(app)
    # Closing every connection folds SQLite's write-ahead log into the file to be copied.
    app.extensions["database"].dispose()


def _seed(app) -> None:
    from campaign import seeding

    with app.app_context():
        seeding.load_all(db.session, app.config["SEEDS_DIR"], tuple(app.config["LANGUAGES"]))
        db.session.commit()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated and seeded SQLite file that each test copies."""
    path = tmp_path_factory.mktemp("template") / "campaign.sqlite3"
    _migrate_and_seed(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database of this test run, migrated, dropped at the end."""
    services.require_postgres()
    name = f"campaign_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(services.POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = services.postgres_url(name)
    _migrate_and_seed(url)
    yield url
    create_engine(url).dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated and seeded database for one test."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "campaign.sqlite3"
        shutil.copyfile(template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    _seed(create_app(base_config(url)))
    return url


@pytest.fixture
def config_overrides() -> dict[str, object]:
    """Extra settings a test module can override."""
    return {}


class ClosingClient(FlaskClient):
    """A test client that finishes each response as a server does once it has sent it.

    A server closes the response after the last byte, which runs the work deferred to
    then (campaign/afterwards.py). Downloads stay open, so a test can read them as a stream.
    """

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if "Content-Disposition" not in response.headers:
            response.get_data()
            response.close()
        return response


@pytest.fixture
def app(backend: str, database_url: str, config_overrides: dict[str, object]):
    """The app under test, on the backend of this parametrization."""
    extra: dict[str, object] = {}
    if backend == "postgres":
        services.require_redis()
        extra = {
            "RATELIMIT_STORAGE_URI": services.REDIS_URL,
            "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        }
    # Flask-Limiter keeps the first app's key prefix for the process; each test app gets
    # its own, so counters in the shared Redis never carry over from one test to the next.
    limiter._key_prefix = ""
    application = create_app(base_config(database_url, **extra, **config_overrides))
    application.test_client_class = ClosingClient
    yield application
    application.extensions["database"].dispose()


@pytest.fixture
def client(app):
    """A test client of the app."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """A CLI runner of the app."""
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """The app's database session, inside an app context."""
    with app.app_context():
        yield db.session


class _Collector:
    """aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.recipients: list[str] = []
        self.port = 0

    async def handle_DATA(self, server, smtp_session, envelope) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.recipients.extend(envelope.rcpt_tos)
        self.messages.append(message)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = 10) -> list[EmailMessage]:
        """The messages, once there are ``count`` of them: a live server sends after answering."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"{len(self.messages)} of {count} emails arrived"
            time.sleep(0.01)
        return self.messages


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """``app`` served over HTTP from a thread, on a free port of 127.0.0.1; its base URL."""
    # As served by gunicorn: each response finished right after its last byte.
    server = make_server("127.0.0.1", 0, afterwards.finished_when_sent(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp() -> Iterator[_Collector]:
    """A real SMTP server on localhost; ``.messages`` holds what it received, ``.port`` where."""
    handler = _Collector()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


class HeldMail(_Collector):
    """aiosmtpd handler that holds each message until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, smtp_session, envelope) -> str:
        self.arrived.set()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.release.wait, 60)
        return await super().handle_DATA(server, smtp_session, envelope)


@pytest.fixture
def held_smtp() -> Iterator[HeldMail]:
    """A real SMTP server that takes each message only once ``.release`` is set."""
    handler = HeldMail()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        handler.release.set()
        # Work still holding a message finishes before the next test's app is made.
        afterwards.workers.wait()
        controller.stop()
