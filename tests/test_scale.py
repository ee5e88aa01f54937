"""Several gunicorn workers on real services: exact counts, limits that hold, Redis outages.

Each backend gets a real gunicorn (the repository's gunicorn.conf.py, four workers) on a
fresh database and a private redis-server, driven by threads with a real HTTP client that
take their CSRF tokens from the pages, as browsers do. Distinct signers are told apart by
X-Forwarded-For (the server trusts one proxy); every request goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from campaign import confirming, counting
from campaign.models import Campaign, Signature, SignatureStatus
from tests import services
from tests.conftest import SECRET, _migrate_and_seed, free_port
from tests.factories import csrf_token, make_signature, sign_form
from tests.redis_server import PrivateRedis, require_redis_server, wait_for

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
CAMPAIGN = "/en/zhanaozen/"
WORKERS = 4
SIGN_LIMIT = 5


@dataclass
class Server:
    """A running gunicorn and what the tests need to reach and inspect it."""

    base: str
    database_url: str
    redis: PrivateRedis
    log: Path

    def count_signatures(self, **where: Any) -> int:
        """Signatures in the database, optionally filtered by column values."""
        engine = create_engine(self.database_url)
        try:
            with Session(engine) as session:
                query = select(func.count(Signature.id)).filter_by(**where)
                return session.scalar(query) or 0
        finally:
            engine.dispose()

    def confirmed_count(self) -> tuple[int, int]:
        """The count the site shows, and the confirmed rows it should equal."""
        engine = create_engine(self.database_url)
        try:
            with Session(engine) as session:
                rows = session.scalar(
                    select(func.count(Signature.id)).where(
                        Signature.status == SignatureStatus.CONFIRMED
                    )
                )
                return counting.confirmed_count(session, 1), rows or 0
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server for this module's gunicorn: rate limits and the mail queue."""
    require_redis_server()
    # Durable, as README asks of the mail queue's Redis (rate limits share it here).
    server = PrivateRedis(tmp_path_factory.mktemp("redis"), durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def scale_database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated and seeded database for this module's gunicorn."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("scale") / "campaign.sqlite3"
        url = f"sqlite:///{path}"
        _migrate_and_seed(url)
        yield url
        return
    services.require_postgres()
    name = f"campaign_scale_{uuid.uuid4().hex[:10]}"
    admin = create_engine(services.POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = services.postgres_url(name)
    _migrate_and_seed(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def server_environment(database_url: str, redis_url: str, base: str) -> dict[str, str]:
    """The environment of a production-like app: no test or development relaxations."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        {
            "CAMPAIGN_SECRET_KEY": SECRET,
            "CAMPAIGN_DATABASE_URL": database_url,
            "CAMPAIGN_RATELIMIT_STORAGE_URI": redis_url,
            "CAMPAIGN_RATELIMIT_SIGN": f"{SIGN_LIMIT} per minute",
            "CAMPAIGN_RATELIMIT_CONFIRM": "1000 per minute",
            "CAMPAIGN_TRUSTED_PROXIES": "1",
            "CAMPAIGN_MAIL_QUEUE_URL": redis_url,
            # Production requires a mail server; nothing listens there, and the queue takes
            # the emails (the mail worker gets a real one, see run_mail_worker).
            "CAMPAIGN_MAIL_SERVER": "127.0.0.1",
            "CAMPAIGN_MAIL_PORT": "9",
            "CAMPAIGN_BASE_URL": base,
            # Four threads per worker need four connections; a few spare for bursts.
            "CAMPAIGN_SQLALCHEMY_ENGINE_OPTIONS": '{"pool_size": 4, "max_overflow": 2}',
        }
    )
    return env


@contextlib.contextmanager
def running_gunicorn(
    database_url: str, redis_url: str, log: Path, workers: int, **settings: str
) -> Iterator[str]:
    """gunicorn with the repository's configuration and ``workers`` workers; its base URL.

    ``settings`` are environment variables that change the production-like defaults.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_environment(database_url, redis_url, base)
    env.update(settings)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "-c",
                "gunicorn.conf.py",
                "-w",
                str(workers),
                "-b",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: requests.get(f"{base}/healthz", timeout=2).ok, "gunicorn")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "Traceback" not in log.read_text(), log.read_text()


@pytest.fixture(scope="module")
def server(
    scale_database: str,
    private_redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """gunicorn with the repository's configuration and several workers."""
    private_redis.client().flushdb()  # shared by the backends' servers; each starts empty
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with running_gunicorn(scale_database, private_redis.url, log, WORKERS) as base:
        yield Server(base, scale_database, private_redis, log)


def visitor(client_address: str) -> requests.Session:
    """A browser of its own (cookie jar and connection) at ``client_address``."""
    session = requests.Session()
    session.headers["X-Forwarded-For"] = client_address
    return session


def open_form(session: requests.Session, base: str) -> str:
    """Load the campaign page; the CSRF token of its form."""
    page = session.get(base + CAMPAIGN, timeout=60)
    assert page.status_code == 200
    return csrf_token(page.text)


def submit(session: requests.Session, base: str, token: str, **fields: str) -> int:
    """Post the signature form; the status code."""
    response = session.post(
        base + CAMPAIGN,
        data=sign_form(csrf_token=token, **fields),
        allow_redirects=False,
        timeout=60,
    )
    return response.status_code


def all_at_once(count: int, prepare: Callable[[int], Any], act: Callable[[int, Any], Any]):
    """Prepare ``count`` clients one thread each, then let them all act at the same moment."""
    barrier = threading.Barrier(count, timeout=120)

    def run(index: int) -> Any:
        state = prepare(index)
        barrier.wait()
        return act(index, state)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def address(group: int, index: int) -> str:
    """A client address for X-Forwarded-For, from the documentation range (a header only)."""
    return f"2001:db8::{group:x}:{index:x}"


def test_simultaneous_different_signers_are_all_stored_once(server: Server):
    def prepare(i: int) -> tuple[requests.Session, str]:
        session = visitor(address(1, i))
        return session, open_form(session, server.base)

    def act(i: int, state: tuple[requests.Session, str]) -> int:
        session, token = state
        return submit(session, server.base, token, email=f"crowd{i}@example.org")

    statuses = all_at_once(200, prepare, act)
    assert Counter(statuses) == {303: 200}
    assert server.count_signatures() == 200
    # One confirmation email each, waiting in the queue for the mail worker.
    assert server.redis.client().llen("rq:queue:mail") == 200


def test_simultaneous_signings_with_one_address_make_one_signature(server: Server):
    def prepare(i: int) -> tuple[requests.Session, str]:
        session = visitor(address(2, i))
        return session, open_form(session, server.base)

    def act(i: int, state: tuple[requests.Session, str]) -> int:
        session, token = state
        return submit(session, server.base, token, email="same.person@example.org")

    statuses = all_at_once(50, prepare, act)
    # Every submission gets the same answer, so none reveals that the address had signed.
    assert Counter(statuses) == {303: 50}
    assert server.count_signatures(email="same.person@example.org") == 1


def run_mail_worker(server: Server, smtp_port: int) -> None:
    """The README's mail worker, once through the queue, sending to ``smtp_port``."""
    env = server_environment(server.database_url, server.redis.url, server.base)
    env.update({"CAMPAIGN_MAIL_SERVER": "127.0.0.1", "CAMPAIGN_MAIL_PORT": str(smtp_port)})
    subprocess.run(
        [str(GUNICORN.parent / "flask"), "--app", "campaign", "mail-worker", "--burst"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


def test_simultaneous_confirmations_count_each_signature_once(server: Server, smtp):
    run_mail_worker(server, smtp.port)
    links = [
        re.search(r"(/en/confirm\?token=\S+)", message.get_content()).group(1)
        for message in smtp.messages
        if "crowd" in message["To"]
    ]
    assert len(links) == 200
    # Every link is pressed twice at once, as an impatient person on two devices would.
    presses = links[:100] * 2

    def prepare(i: int) -> tuple[requests.Session, str]:
        session = visitor(address(3, i))
        page = session.get(server.base + presses[i], timeout=60)
        return session, csrf_token(page.text)

    def act(i: int, state: tuple[requests.Session, str]) -> int:
        session, token = state
        form = {"csrf_token": token, "token": presses[i].split("token=", 1)[1]}
        return session.post(server.base + "/en/confirm", data=form, timeout=60).status_code

    statuses = all_at_once(len(presses), prepare, act)
    assert Counter(statuses) == {200: 200}
    assert server.confirmed_count() == (100, 100)


def test_a_signers_next_request_never_waits_for_the_signing_email(
    scale_database: str, private_redis: PrivateRedis, held_smtp, tmp_path: Path
):
    # The signing email follows the answer. Had the thread that answered sent it, the
    # signer's next request on the same kept-alive connection would wait for it, and how
    # long it waited would tell whether the address had signed before. The mail server
    # here holds the email until the next request has been answered.
    # Sent from the web process, so that the mail server can hold it (with a mail queue the
    # work is an enqueue, too quick to hold, handed to the same threads).
    mail = {"CAMPAIGN_MAIL_QUEUE_URL": "", "CAMPAIGN_MAIL_PORT": str(held_smtp.port)}
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(scale_database, private_redis.url, log, 1, **mail) as base:
        session = visitor(address(5, 1))
        try:
            response = session.post(
                base + CAMPAIGN,
                data=sign_form(csrf_token=open_form(session, base), email="keeping@example.org"),
                allow_redirects=False,
                timeout=60,
            )
            assert response.status_code == 303
            assert response.headers.get("Connection", "keep-alive").lower() != "close"
            assert held_smtp.arrived.wait(30)  # the email is on its way, and held
            page = session.get(base + CAMPAIGN, timeout=30)
            assert page.status_code == 200
            assert held_smtp.messages == []  # answered while the email was still held
            # All three requests went over one connection.
            pools = session.get_adapter(base).poolmanager.pools
            # urllib3's pool container refuses plain iteration; its keys() is a copy.
            keys = pools.keys()
            assert [pools[key].num_connections for key in keys] == [1]
        finally:
            # Else the worker would wait for the email as it stops.
            held_smtp.release.set()
        assert held_smtp.wait_for(1)[0]["To"] == "keeping@example.org"
        session.close()


def test_the_server_closes_a_connection_without_waiting_for_the_signing_email(
    scale_database: str, private_redis: PrivateRedis, held_smtp, tmp_path: Path
):
    # gunicorn closes a connection once the thread that answered is done with the request.
    # Had that thread sent the email (a signature, or a re-send for an address that has
    # signed), the close would come only after it, and its delay would tell whether the
    # address had signed. The mail server holds every email until the test ends: each
    # close must come while it still holds them.
    mail = {"CAMPAIGN_MAIL_QUEUE_URL": "", "CAMPAIGN_MAIL_PORT": str(held_smtp.port)}
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(scale_database, private_redis.url, log, 1, **mail) as base:
        session = visitor(address(5, 2))
        try:
            fields = sign_form(csrf_token=open_form(session, base), email="closing@example.org")
            answer = post_until_closed(base, CAMPAIGN, fields, session)
            assert answer.startswith(b"HTTP/1.1 303 ")
            assert held_smtp.arrived.wait(30)
            page = session.get(base + CAMPAIGN + "resend", timeout=30)
            fields = {"csrf_token": csrf_token(page.text), "email": "closing@example.org"}
            answer = post_until_closed(base, CAMPAIGN + "resend", fields, session)
            assert answer.startswith(b"HTTP/1.1 200 ")
            assert held_smtp.messages == []  # both closes came while the emails were held
        finally:
            held_smtp.release.set()
        assert (
            sorted(held_smtp.wait_for(2)[i]["To"] for i in range(2)) == ["closing@example.org"] * 2
        )
        session.close()


def post_until_closed(
    base: str, path: str, fields: dict[str, str], session: requests.Session
) -> bytes:
    """POST ``fields`` with ``session``'s cookies on a connection asked to close; all it got.

    Read until the server closes the connection; a close that does not come within 20
    seconds fails the test.
    """
    host, port = base.removeprefix("http://").split(":")
    body = urlencode(fields).encode()
    cookies = "; ".join(f"{cookie.name}={cookie.value}" for cookie in session.cookies)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n"
        f"Cookie: {cookies}\r\nX-Forwarded-For: {session.headers['X-Forwarded-For']}\r\n\r\n"
    )
    received = b""
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        sock.sendall(head.encode() + body)
        while chunk := sock.recv(65536):
            received += chunk
    return received


def test_rate_limit_holds_across_workers(server: Server):
    # One client address, SIGN_LIMIT + 1 fresh connections at once: the workers that
    # answer them share one count in Redis, so exactly one is refused.
    def prepare(i: int) -> tuple[requests.Session, str]:
        session = visitor(address(4, 1))
        return session, open_form(session, server.base)

    def act(i: int, state: tuple[requests.Session, str]) -> int:
        session, token = state
        return submit(session, server.base, token, email=f"limited{i}@example.org")

    statuses = all_at_once(SIGN_LIMIT + 1, prepare, act)
    assert Counter(statuses) == {303: SIGN_LIMIT, 429: 1}
    # Sequentially too, on new connections that land on any worker: still refused.
    for _ in range(WORKERS * 2):
        session = visitor(address(4, 1))
        assert submit(session, server.base, open_form(session, server.base)) == 429


def test_redis_outage_never_gives_a_500_and_loses_no_signature(server: Server):
    health = requests.get(f"{server.base}/healthz", timeout=10).json()
    assert health == {"database": "ok", "rate_limits": "ok", "mail_queue": "ok"}
    before = server.count_signatures()

    def sign_some(group: int, count: int) -> Counter[int]:
        def prepare(i: int) -> tuple[requests.Session, str]:
            session = visitor(address(group, i))
            return session, open_form(session, server.base)

        def act(i: int, state: tuple[requests.Session, str]) -> int:
            session, token = state
            return submit(session, server.base, token, email=f"outage{group}-{i}@example.org")

        return Counter(all_at_once(count, prepare, act))

    assert sign_some(5, 20) == {303: 20}
    server.redis.stop()
    try:
        assert sign_some(6, 20) == {303: 20}
        health = requests.get(f"{server.base}/healthz", timeout=10)
        assert health.status_code == 200
        assert health.json() == {
            "database": "ok",
            "rate_limits": "fallback",
            "mail_queue": "unreachable",
        }
    finally:
        server.redis.start()
    assert sign_some(7, 20) == {303: 20}
    assert server.count_signatures() == before + 60
    assert requests.get(f"{server.base}/healthz", timeout=10).json()["rate_limits"] == "ok"


def test_several_workers_with_limits_in_memory_refuse_to_start(scale_database: str):
    env = server_environment(scale_database, "memory://", "http://127.0.0.1")
    port = free_port()
    result = subprocess.run(
        [str(GUNICORN), "-c", "gunicorn.conf.py", "-w", "2", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "Rate limits kept in process memory do not hold across workers" in result.stderr


def test_confirmations_racing_each_other_and_a_moderator_keep_the_count_exact(app, session):
    from campaign.extensions import db

    campaign = session.get(Campaign, 1)
    signature = make_signature(session, campaign, confirmed=False)
    session.commit()
    with Session(db.engine) as first, Session(db.engine) as second:
        # Both have read the signature as pending before either confirms it.
        mine, theirs = first.get(Signature, signature.id), second.get(Signature, signature.id)
        assert mine.status == theirs.status == SignatureStatus.PENDING
        assert confirming.confirm(first, mine) is True
        first.commit()
        assert confirming.confirm(second, theirs) is False
        second.commit()
    assert counting.confirmed_count(session, campaign.id) == 1


def test_concurrent_confirmations_on_many_threads_are_exact(app, backend):
    # Many sessions confirm (some the same signatures) at once; the slices add up exactly.
    from campaign.extensions import db

    with app.app_context():
        campaign = db.session.get(Campaign, 1)
        ids = [make_signature(db.session, campaign, confirmed=False).id for _ in range(60)]
        db.session.commit()
        engine = db.engine

    def confirm(signature_id: int) -> bool:
        with app.app_context(), Session(engine) as session:
            done = confirming.confirm(session, session.get(Signature, signature_id))
            session.commit()
            return done

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(confirm, ids + ids[:30]))
    assert sum(results) == 60
    with app.app_context():
        assert counting.confirmed_count(db.session, 1) == 60


def test_a_moderator_acting_on_a_stale_read_keeps_the_count_exact(app, session):
    # The moderator's page loaded the signature while it was pending; the signer confirmed
    # it before the moderator pressed "invalidate". The count must lose it again.
    from campaign import moderation
    from campaign.extensions import db

    campaign = session.get(Campaign, 1)
    signature = make_signature(session, campaign, confirmed=False)
    session.commit()
    with Session(db.engine) as moderator, Session(db.engine) as signer:
        stale = moderator.get(Signature, signature.id)
        assert stale.status == SignatureStatus.PENDING
        assert confirming.confirm(signer, signer.get(Signature, signature.id)) is True
        signer.commit()
        assert moderation.invalidate(moderator, None, stale, moderation.InvalidReason.DUPLICATE)
        moderator.commit()
    assert counting.confirmed_count(session, campaign.id) == 0
    session.expire_all()
    assert session.get(Signature, signature.id).status == SignatureStatus.INVALIDATED


def test_confirmations_and_invalidations_at_once_keep_the_count_exact(app, backend):
    # Signers confirm while a moderator invalidates some of the same signatures; whatever
    # order the database puts them in, the count equals the confirmed rows.
    from campaign import moderation
    from campaign.extensions import db

    with app.app_context():
        campaign = db.session.get(Campaign, 1)
        ids = [make_signature(db.session, campaign, confirmed=False).id for _ in range(60)]
        db.session.commit()
        engine = db.engine

    def confirm(signature_id: int) -> None:
        with app.app_context(), Session(engine) as session:
            confirming.confirm(session, session.get(Signature, signature_id))
            session.commit()

    def invalidate(signature_id: int) -> None:
        with app.app_context(), Session(engine) as session:
            signature = session.get(Signature, signature_id)
            moderation.invalidate(session, None, signature, moderation.InvalidReason.DUPLICATE)
            session.commit()

    work = [(confirm, i) for i in ids] + [(invalidate, i) for i in ids[::3]]
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda job: job[0](job[1]), work))
    with app.app_context():
        shown = counting.confirmed_count(db.session, 1)
        rows = db.session.scalar(
            select(func.count(Signature.id)).where(Signature.status == SignatureStatus.CONFIRMED)
        )
        assert shown == rows == 40
