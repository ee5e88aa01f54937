"""What the load benchmarks share: scratch databases, a private Redis, gunicorn, wrk.

Everything runs on this machine and every request goes to 127.0.0.1; each run is bounded
in time by wrk's --duration.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# gunicorn of the environment the benchmark runs in, so another Python can be measured.
GUNICORN = Path(sys.executable).parent / "gunicorn"
POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "benchmark-secret-key-long-enough-for-hmac-use"  # noqa: S105 (a scratch app)

sys.path.insert(0, str(ROOT))


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_program(program: str, package: str) -> str:
    """The path of ``program``, installing Debian's ``package`` when it is missing (as root)."""
    found = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit(f"{program} is not installed: apt-get install -y {package}")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which(program, path="/usr/sbin:/usr/bin") or program


def ensure_wrk() -> str:
    """The path of wrk, installed from Debian's package when missing."""
    return ensure_program("wrk", "wrk")


# The caching part of README's nginx example, on plain HTTP and in a folder of its own.
_NGINX_CONF = """
worker_processes 1;
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    proxy_cache_path {folder}/cache keys_zone=campaign:10m max_size=100m inactive=10m;
    upstream app {{
        server {upstream};
        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_cache campaign;
            proxy_cache_key $scheme$host$request_uri;
            proxy_cache_use_stale error timeout http_502 http_503;
            proxy_cache_background_update on;
            proxy_cache_lock on;
        }}
    }}
}}
"""


@contextlib.contextmanager
def nginx(upstream: str) -> Iterator[str]:
    """nginx caching in front of ``upstream`` (a base URL); its own base URL."""
    program = ensure_program("nginx", "nginx-light")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="campaign-bench-nginx-") as folder:
        os.chmod(folder, 0o755)  # noqa: S103 (nginx's workers may run as another user)
        conf = Path(folder) / "nginx.conf"
        conf.write_text(
            _NGINX_CONF.format(folder=folder, upstream=upstream.removeprefix("http://"), port=port)
        )
        process = subprocess.Popen(
            [program, "-c", str(conf), "-p", folder], stderr=subprocess.DEVNULL
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(lambda: _answers(base), "nginx")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def _migrate_and_seed(url: str) -> None:
    from alembic import command

    from campaign import create_app, seeding
    from campaign.cli import alembic_config
    from campaign.extensions import db

    app = create_app({"TESTING": True, "SECRET_KEY": SECRET, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        seeding.load_all(db.session, app.config["SEEDS_DIR"], tuple(app.config["LANGUAGES"]))
        db.session.commit()
    app.extensions["database"].dispose()


@contextlib.contextmanager
def scratch_database(backend: str) -> Iterator[str]:
    """A migrated and seeded database that is gone afterwards."""
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="campaign-bench-") as folder:
            url = f"sqlite:///{folder}/campaign.sqlite3"
            _migrate_and_seed(url)
            yield url
        return
    name = f"campaign_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        _migrate_and_seed(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def create_baseline_table(url: str) -> None:
    """Create the table of bench/baseline.py (before gunicorn starts, so workers do not race)."""
    from sqlalchemy import create_engine, text

    scratch = create_engine(url)
    key = "INTEGER PRIMARY KEY" if url.startswith("sqlite") else "SERIAL PRIMARY KEY"
    with scratch.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS bench_rows (id {key}, body TEXT)"))
    scratch.dispose()


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of this run alone; its URL."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="campaign-bench-redis-") as folder:
        process = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", folder),
            ],
            stdout=subprocess.DEVNULL,
        )
        try:
            _wait(lambda: _redis_ping(port), "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


def _redis_ping(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _wait(check, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up")


def app_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """The app's settings for a run: production-like, limits too high to be reached."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
    env.update(
        {
            "CAMPAIGN_SECRET_KEY": SECRET,
            "CAMPAIGN_DATABASE_URL": database_url,
            "CAMPAIGN_RATELIMIT_STORAGE_URI": redis_url,
            # Every simulated signer comes from 127.0.0.1; the limiter still does its work.
            "CAMPAIGN_RATELIMIT_SIGN": "100000000 per minute",
            "CAMPAIGN_MAIL_QUEUE_URL": redis_url,
            # Production requires a mail server; the queue takes every email, and no
            # worker sends them, so nothing needs to listen there.
            "CAMPAIGN_MAIL_SERVER": "127.0.0.1",
            "CAMPAIGN_MAIL_PORT": "9",
            "CAMPAIGN_BASE_URL": "http://127.0.0.1",
        }
    )
    return env


@contextlib.contextmanager
def gunicorn(
    env: dict[str, str], config: Path, workers: int | None = None, app: str | None = None
) -> Iterator[str]:
    """gunicorn with ``config`` on a free port of 127.0.0.1; its base URL."""
    port = free_port()
    command = [str(GUNICORN), "-c", str(config), "-b", f"127.0.0.1:{port}"]
    if workers:
        command += ["-w", str(workers)]
    if app:
        command.append(app)
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait(lambda: _answers(base), "gunicorn")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=60)
            log.seek(0)
            text = log.read().decode(errors="replace")
            if "Traceback" in text:
                print(text[-3000:], file=sys.stderr)


def _answers(base: str) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2):  # noqa: S310 (loopback)
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def wrk(
    script: Path, url: str, *, connections: int, duration: int, env: dict[str, str] | None = None
) -> dict[str, float]:
    """Run wrk with ``script`` (one thread per connection); the JSON its done() prints."""
    command = [
        ensure_wrk(),
        f"-t{connections}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=False,
        timeout=duration + 120,
        env={**os.environ, **(env or {})},
    )
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    for line in reversed(result.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no result from wrk:\n{result.stdout}\n{result.stderr}")


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
