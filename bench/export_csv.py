"""Benchmark: the organisers' CSV export against a plain csv.writer dump, and a PDF pack.

Run from the repository root (SQLite only, or SQLite and then PostgreSQL):

    .venv/bin/python bench/export_csv.py
    .venv/bin/python bench/export_csv.py --database-url postgresql://postgres@127.0.0.1:5432/postgres

It fills a scratch database with 1,000,000 confirmed signatures in bulk (SQLite: batched
``executemany``; PostgreSQL: ``COPY`` into a scratch database made on that server and
dropped at the end), then runs each variant in a process of its own, so that the peak
memory it reports (``ru_maxrss``) is that variant's alone:

* ``idle``: the app created, nothing exported (the floor under every other figure);
* ``plain``: ``csv.writer`` over a raw DB-API cursor of the same columns, same order;
* ``export``: the generator behind the organisers' CSV download
  (``downloads.signature_list(...).chunks``), consumed to the end;
* ``pdf``: the delivery pack of one embassy with 100,000 listed signatures.

Output goes to /dev/null (CSV) or a temporary file (PDF). Each CSV variant runs three
times and the fastest run is kept; CPU seconds (this process's, not the database
server's) are printed beside wall-clock seconds, as a check on a busy machine. Prints a
table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECRET = "benchmark-secret-key-long-enough-for-hmac-use"  # noqa: S105 (a scratch app)
TOTAL = 1_000_000
# Every tenth signature comes from Austria: the embassy in Vienna gets a 100,000-row pack.
PACK_EMBASSY = "at-vienna"
COLUMNS = (
    "id, name, country, city, organisation, display, exclude_from_delivery, source, "
    "created_at, confirmed_at"
)

FIRST = ["Aigerim", "Әсел", "Наталья", "John", "Marie", "Ерлан", "Dmitri", "Fatima", "Ұлан"]
LAST = ["Sokolova", "Қайратқызы", "Smith", "Петров", "Dupont", "Нұрланұлы", "Okafor", "Müller"]
CITIES = ["London", "Berlin", "Алматы", "Ақтау", "Paris", "Москва", "Wien", ""]
ORGANISATIONS = ["", "", "Unite", "ver.di", "Профсоюз", "=cmd|' /C calc'!A0", "ÖGB"]
COUNTRIES = ["GB", "DE", "KZ", "FR", "RU", "US", "SE", "PL", "IT"]


def app_for(url: str):
    """The app on the scratch database."""
    from campaign import create_app

    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_STORAGE_URI": "memory://",
        }
    )


def prepare(url: str, total: int) -> None:
    """Migrate and seed the scratch database, then bulk-insert the signatures."""
    from alembic import command
    from sqlalchemy import text

    from campaign import seeding
    from campaign.cli import alembic_config
    from campaign.extensions import db

    app = app_for(url)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        seeding.load_all(db.session, app.config["SEEDS_DIR"], tuple(app.config["LANGUAGES"]))
        db.session.commit()
        campaign_id = db.session.scalar(text("SELECT id FROM campaigns ORDER BY id LIMIT 1"))
        started = time.perf_counter()
        raw = db.engine.raw_connection()
        try:
            if url.startswith("sqlite"):
                _fill_sqlite(raw, campaign_id, total)
            else:
                _fill_postgres(raw, campaign_id, total)
            raw.commit()
        finally:
            raw.close()
        print(f"  filled {total:,} signatures in {time.perf_counter() - started:.1f} s")
    app.extensions["database"].dispose()


def _rows(campaign_id: int, total: int):
    rng = random.Random(2011)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(total):
        austrian = i % 10 == 0
        signed = start + timedelta(seconds=i * 5)
        yield (
            campaign_id,
            f"signer{i}@example.org",
            f"key-{i:07d}",
            f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}",
            "AT" if austrian else rng.choice(COUNTRIES),
            rng.choice(CITIES),
            rng.choice(ORGANISATIONS),
            rng.choice(("full", "initial", "hidden")),
            (not austrian) and rng.random() < 0.05,
            "paper" if rng.random() < 0.02 else "online",
            f"R{i:011d}",
            signed,
            signed + timedelta(minutes=3),
        )


_INSERT_COLUMNS = (
    "campaign_id, email, email_key, name, country, city, organisation, display, "
    "exclude_from_delivery, source, receipt, created_at, confirmed_at"
)
_FIXED = {
    "comment": "",
    "comment_status": "none",
    "wants_updates": False,
    "locale": "en",
    "status": "confirmed",
    "emails_sent": 1,
    "invalid_reason": "",
}


def _fill_sqlite(raw, campaign_id: int, total: int) -> None:
    fixed_names = ", ".join(_FIXED)
    marks = ", ".join("?" for _ in range(13 + len(_FIXED)))
    sql = f"INSERT INTO signatures ({_INSERT_COLUMNS}, {fixed_names}) VALUES ({marks})"  # noqa: S608
    cursor = raw.cursor()
    batch = []
    for row in _rows(campaign_id, total):
        signed, confirmed = row[-2], row[-1]
        # SQLAlchemy's SQLite storage format for timestamps, in UTC.
        batch.append(
            (
                *row[:-2],
                signed.strftime("%Y-%m-%d %H:%M:%S.%f"),
                confirmed.strftime("%Y-%m-%d %H:%M:%S.%f"),
                *_FIXED.values(),
            )
        )
        if len(batch) == 50_000:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def _fill_postgres(raw, campaign_id: int, total: int) -> None:
    fixed_names = ", ".join(_FIXED)
    cursor = raw.cursor()
    with cursor.copy(f"COPY signatures ({_INSERT_COLUMNS}, {fixed_names}) FROM STDIN") as copy:
        for row in _rows(campaign_id, total):
            copy.write_row((*row, *_FIXED.values()))
    cursor.execute("ANALYZE signatures")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_mb() -> float:
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_variant(variant: str, url: str) -> dict:
    """Run one variant in this process and measure it."""
    from sqlalchemy import select

    from campaign import downloads, packs  # noqa: F401  (imported before timing)
    from campaign.extensions import db
    from campaign.models import Campaign

    app = app_for(url)
    result = {"variant": variant, "rows": 0, "bytes": 0, "seconds": None}
    with app.test_request_context():
        session = db.session
        campaign = session.scalar(select(Campaign).limit(1))
        started, cpu_started = time.perf_counter(), _cpu()
        if variant == "plain":
            result["rows"], result["bytes"] = _plain_dump(session, campaign.id, url)
        elif variant == "export":
            download = downloads.signature_list(session, campaign, downloads.ListRequest(), None)
            with open(os.devnull, "wb") as sink:
                for chunk in download.chunks:
                    sink.write(chunk)
                    result["bytes"] += len(chunk)
            result["rows"] = download.count
        elif variant == "pdf":
            from campaign import deliveries

            embassy = deliveries.embassy_by_key(session, PACK_EMBASSY)
            download = downloads.pack(
                session, campaign, downloads.PackRequest(language="ru", embassy=embassy), None
            )
            download.file.seek(0, os.SEEK_END)
            result["bytes"] = download.file.tell()
            result["rows"] = download.count
        if variant != "idle":
            result["seconds"] = time.perf_counter() - started
            result["cpu"] = _cpu() - cpu_started
        session.rollback()
    result["peak_mb"] = _peak_mb()
    return result


def _plain_dump(session, campaign_id: int, url: str) -> tuple[int, int]:
    """csv.writer over the driver's own cursor: no SQLAlchemy rows, no formatting, no guard."""
    raw = session.connection().connection.dbapi_connection
    query = (
        f"SELECT {COLUMNS} FROM signatures WHERE campaign_id = {int(campaign_id)} "  # noqa: S608
        "AND status = 'confirmed' ORDER BY confirmed_at, id"
    )
    if url.startswith("sqlite"):
        cursor = raw.cursor()
        cursor.execute(query)
    else:
        # A server-side cursor, as the export uses, or the driver would load every row.
        cursor = raw.cursor(name="plain_dump")
        cursor.itersize = 1000
        cursor.execute(query)
    counted = _Counter()
    writer = csv.writer(counted)
    rows = 0
    for row in cursor:
        writer.writerow(row)
        rows += 1
    cursor.close()
    return rows, counted.size


class _Counter:
    """A text sink that only counts what it is given, encoded."""

    def __init__(self) -> None:
        self.size = 0
        self._sink = open(os.devnull, "wb")  # noqa: SIM115

    def write(self, text: str) -> None:
        data = text.encode()
        self.size += len(data)
        self._sink.write(data)


def _scratch_postgres(admin_url: str) -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    name = f"bench_exports_{uuid.uuid4().hex[:8]}"
    engine = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = _psycopg(admin_url).rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_postgres(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_psycopg(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _psycopg(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def measure(url: str, label: str, repeats: int) -> list[dict]:
    """Each variant in its own process, on the database at ``url``; the CSV ones best of N."""
    results = []
    for variant in ("idle", "plain", "export", "pdf"):
        runs = []
        for _ in range(repeats if variant in ("plain", "export") else 1):
            done = subprocess.run(
                [sys.executable, __file__, "--variant", variant, "--url", url],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        # The fastest run is the one least disturbed by whatever else the machine did;
        # memory is the highest seen in any run.
        result = min(runs, key=lambda r: r["seconds"] or 0)
        result["peak_mb"] = max(r["peak_mb"] for r in runs)
        result["database"] = label
        results.append(result)
        seconds, cpu = result["seconds"] or 0, result.get("cpu", 0)
        print(
            f"  {label:10} {variant:7} {seconds:6.1f} s  cpu {cpu:6.1f} s  "
            f"{result['peak_mb']:4.0f} MB",
            flush=True,
        )
    return results


def table(results: list[dict]) -> str:
    """The results as a Markdown table, with the export's time against the plain dump's."""
    lines = [
        "| database | variant | rows | output | seconds | CPU seconds | vs plain | peak memory |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    plain = {r["database"]: r["seconds"] for r in results if r["variant"] == "plain"}
    for r in results:
        seconds, cpu = r["seconds"], r.get("cpu")
        ratio = ""
        if r["variant"] == "export" and plain.get(r["database"]):
            ratio = f"{seconds / plain[r['database']]:.2f}x"
        lines.append(
            f"| {r['database']} | {r['variant']} | {r['rows']:,} | {r['bytes'] / 1e6:.0f} MB "
            f"| {'' if seconds is None else f'{seconds:.1f}'} "
            f"| {'' if cpu is None else f'{cpu:.1f}'} | {ratio} | {r['peak_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def main() -> None:
    """Fill the scratch databases, measure every variant, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server to bench on as well")
    parser.add_argument(
        "--signatures", type=int, default=TOTAL, help="how many to insert (default 1,000,000)"
    )
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs of each CSV variant, best kept (default 3)"
    )
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(run_variant(args.variant, args.url)))
        return

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-exports-") as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        print("SQLite:")
        prepare(url, args.signatures)
        results += measure(url, "SQLite", args.repeats)
    if args.database_url:
        name, url = _scratch_postgres(args.database_url)
        try:
            print("PostgreSQL:")
            prepare(url, args.signatures)
            results += measure(url, "PostgreSQL", args.repeats)
        finally:
            _drop_postgres(args.database_url, name)
    print()
    print(table(results))


if __name__ == "__main__":
    main()
