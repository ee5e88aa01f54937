"""Set up and run the project: `python3 dev.py serve` or `python3 dev.py test [pytest args]`.

Both create `.venv` and install the project when `pyproject.toml` changed, compile the
message catalogs, and then either serve the app on the embedded default (SQLite, in-process
rate limits, mail printed to the console) or run the linters and the whole test suite.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def run(*args: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command from the project folder; stop on failure."""
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def install(extras: str) -> None:
    """Create the virtual environment and install the project, unless already current."""
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    stamp = VENV / f".installed-{extras or 'base'}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"Installing the project{f' with [{extras}]' if extras else ''} ...", flush=True)
    target = f".[{extras}]" if extras else "."
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(digest)


def compile_catalogs() -> None:
    """Build the .mo files from the .po catalogs (the .mo files are not in git)."""
    translations = ROOT / "campaign" / "translations"
    if any(translations.glob("*/LC_MESSAGES/messages.po")):
        run(BIN / "pybabel", "-q", "compile", "--use-fuzzy", "-d", translations)


def instance_secret() -> None:
    """Give the local instance a secret key of its own on first run."""
    instance = ROOT / "instance"
    instance.mkdir(exist_ok=True)
    path = instance / "config.py"
    if not path.exists():
        path.write_text(
            "# Generated at set-up. Keep this file private.\n"
            f"SECRET_KEY = {secrets.token_urlsafe(48)!r}\n"
        )


def flask(*args: str, env: dict[str, str]) -> None:
    """Run a flask command of this app."""
    run(BIN / "flask", "--app", "campaign", *args, env=env)


def serve() -> None:
    """Set up and serve at http://127.0.0.1:5000."""
    install("")
    compile_catalogs()
    instance_secret()
    env = {**os.environ, "CAMPAIGN_DEVELOPMENT": "1"}
    flask("migrate", env=env)
    flask("seed", env=env)
    flask("run", "--host", "127.0.0.1", "--port", "5000", env=env)


def test(pytest_args: list[str]) -> None:
    """Set up and run the linters and every test."""
    install("test")
    compile_catalogs()
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    run(PYTHON, "-m", "pytest", *pytest_args)


def main() -> None:
    """Dispatch to serve or test."""
    if len(sys.argv) < 2 or sys.argv[1] not in {"serve", "test"}:
        sys.exit(__doc__)
    if sys.argv[1] == "serve":
        serve()
    else:
        test(sys.argv[2:])


if __name__ == "__main__":
    main()
