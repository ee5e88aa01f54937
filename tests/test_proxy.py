"""The README's nginx configuration, run for real in front of the app.

Operators copy that block; these tests read it from README.md, so what they check is what
is deployed: surge-mode pages cached for everyone, nothing that sets a cookie cached, the
static files cached, and a page cached in surge mode given up soon after surge mode goes
off (with ``proxy_cache_use_stale updating`` it was served for as long as visitors came).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from campaign import campaigns
from campaign.models import Campaign
from tests import services
from tests.conftest import free_port, serving

pytestmark = pytest.mark.services

README = Path(__file__).resolve().parent.parent / "README.md"
CAMPAIGN = "/en/zhanaozen/"


@pytest.fixture
def config_overrides():
    # Short cache times, so that a stale page's end comes within the test.
    return {"SURGE_MODE": False, "SURGE_MAX_AGE": 1, "SURGE_STALE_SECONDS": 2}


def readme_nginx(upstream: str, port: int, folder: str) -> str:
    """The README's nginx block on plain HTTP at ``port``, in front of ``upstream``."""
    block = re.search(r"```nginx\n(.*?)```", README.read_text(), re.S)
    assert block, "README.md has no nginx block"
    text = block.group(1)
    # The cache zone and the TLS server; the redirect from port 80 is left out.
    cache_path = re.search(r"^proxy_cache_path .*$", text, re.M).group(0)
    server = text[text.index("server {") : text.index("server {", text.index("server {") + 1)]
    # Whether the cache answered, for the tests only: in public it would tell a visitor
    # whether someone else had just fetched the same address.
    server = server.replace(
        "listen 443 ssl http2;",
        f"listen 127.0.0.1:{port};\n    add_header X-Cache-Status $upstream_cache_status always;",
    )
    server = re.sub(r"\n\s*ssl_certificate\S*\s+\S+;", "", server)
    server = server.replace("http://127.0.0.1:8000", upstream)
    server = server.replace("/var/log/nginx/", f"{folder}/")
    cache_path = cache_path.replace("/var/cache/nginx/", f"{folder}/")
    temp = " ".join(f"{kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy"))
    return (
        f"daemon off; worker_processes 1; pid {folder}/nginx.pid;\n"
        f"error_log {folder}/error.log warn;\nevents {{ worker_connections 64; }}\n"
        f"http {{\n access_log off; {temp}\n fastcgi_temp_path {folder}/fastcgi;\n"
        f" uwsgi_temp_path {folder}/uwsgi; scgi_temp_path {folder}/scgi;\n"
        f" {cache_path}\n{server}}}\n"
    )


@contextlib.contextmanager
def nginx_in_front_of(upstream: str) -> Iterator[str]:
    """nginx with the README's block in front of ``upstream``; its base URL."""
    program = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if program is None:
        services._missing("nginx is not installed (apt-get install nginx-light)")
    # Its workers may run as another user: the folder must be theirs to read.
    folder = tempfile.mkdtemp(prefix="campaign-nginx-")
    os.chmod(folder, 0o755)  # noqa: S103
    port = free_port()
    conf = Path(folder) / "nginx.conf"
    conf.write_text(readme_nginx(upstream, port, folder))
    checked = subprocess.run([program, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([program, "-c", str(conf)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not services._listening("127.0.0.1", port):
            assert time.monotonic() < deadline, "nginx did not start"
            time.sleep(0.05)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)


def fetch(url: str) -> tuple[str | None, str | None, str]:
    """Whether the proxy's cache answered (X-Cache-Status), the cookie set, Cache-Control."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
        headers = response.headers
        return headers["X-Cache-Status"], headers["Set-Cookie"], headers["Cache-Control"]


@pytest.fixture
def proxied(app) -> Iterator[str]:
    with serving(app) as upstream, nginx_in_front_of(upstream) as base:
        yield base


def switch_surge(session, on: bool) -> None:
    campaigns.set_surge_mode(session, session.get(Campaign, 1), on)
    session.commit()


def test_surge_pages_and_static_files_are_cached_and_nothing_with_a_cookie(proxied, session):
    # Without surge mode the page is one visitor's (a session and its token): never cached.
    for _ in range(2):
        status, cookie, cache = fetch(proxied + CAMPAIGN)
        assert status != "HIT" and cookie and cache == "private"
    switch_surge(session, True)
    statuses = []
    for _ in range(3):
        status, cookie, cache = fetch(proxied + CAMPAIGN)
        statuses.append(status)
        assert cookie is None and cache.startswith("public")
    assert "HIT" in statuses
    assert [fetch(proxied + "/static/site.css")[0] for _ in range(2)] == ["MISS", "HIT"]
    assert [fetch(proxied + "/en/zhanaozen/qr.png")[0] for _ in range(2)] == ["MISS", "HIT"]


def test_a_page_cached_in_surge_mode_is_given_up_soon_after_surge_mode_goes_off(proxied, session):
    switch_surge(session, True)
    fetch(proxied + CAMPAIGN)
    assert fetch(proxied + CAMPAIGN)[0] == "HIT"
    switch_surge(session, False)
    # Served stale for max-age and stale-while-revalidate (3 seconds here) at most; the
    # visitors who keep coming meanwhile must not keep the stale page alive.
    deadline = time.monotonic() + 20
    while True:
        status, cookie, cache = fetch(proxied + CAMPAIGN)
        if cache == "private":
            break
        assert time.monotonic() < deadline, f"still {status} with {cache} after 20 seconds"
        time.sleep(0.2)
    assert cookie  # the visitor's own page again, with its session
