"""Campaign page latency with no signatures and with 1,000,000 of them.

    .venv/bin/python bench/page.py [--signatures 1000000] [--duration 15] [--backend sqlite]

For each database: a scratch database, the app under gunicorn (gunicorn.conf.py), and wrk
on one connection reading the campaign page for --duration seconds after a warm-up; then
the signatures are bulk-inserted (mostly confirmed, some shown by name, the count slices
set to match), the app restarted and the page measured again. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

import harness
from sqlalchemy import create_engine, func, select, text, update

WARM_UP = 3
COLUMNS = (
    "campaign_id",
    "email",
    "email_key",
    "name",
    "country",
    "city",
    "organisation",
    "comment",
    "comment_status",
    "display",
    "exclude_from_delivery",
    "wants_updates",
    "locale",
    "status",
    "source",
    "receipt",
    "emails_sent",
    "created_at",
    "confirmed_at",
    "invalid_reason",
)


def rows(count: int):
    """Signature rows for campaign 1: 95% confirmed, 40% of those shown by name."""
    rng = random.Random(2011)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(count):
        created = start + timedelta(seconds=i * 20)
        roll = rng.random()
        status = "confirmed" if roll < 0.95 else ("pending" if roll < 0.99 else "invalidated")
        shown = rng.random()
        display = "full" if shown < 0.15 else ("initial" if shown < 0.40 else "hidden")
        yield (
            1,
            f"bench{i}@example.org",
            f"{i:064x}",
            f"Bench Signer {i}",
            rng.choice(("KZ", "GB", "FR", "DE", "RU", "US")),
            "Aktau",
            "",
            "",
            "none",
            display,
            False,
            False,
            "en",
            status,
            "online",
            f"BENCH-{i:010d}",
            1,
            created,
            created + timedelta(minutes=5) if status != "pending" else None,
            "",
        )


def bulk_insert(url: str, count: int) -> int:
    """Insert ``count`` signatures fast and set the count slices; the confirmed count."""
    from campaign.models import Signature, SignatureCount

    engine = create_engine(url)
    if url.startswith("postgresql"):
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor:
                copy_sql = f"COPY signatures ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for row in rows(count):
                        copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
    else:
        marks = ", ".join("?" for _ in COLUMNS)
        insert = f"INSERT INTO signatures ({', '.join(COLUMNS)}) VALUES ({marks})"  # noqa: S608
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            batch: list[tuple] = []
            for row in rows(count):
                # SQLite stores the app's timestamps as ISO text.
                batch.append(
                    (*row[:17], row[17].isoformat(" "), row[18] and row[18].isoformat(" "), "")
                )
                if len(batch) == 50_000:
                    cursor.executemany(insert, batch)
                    batch.clear()
            cursor.executemany(insert, batch)
            raw.commit()
        finally:
            raw.close()
    with engine.begin() as conn:
        confirmed = conn.scalar(
            select(func.count(Signature.id)).where(Signature.status == "confirmed")
        )
        conn.execute(update(SignatureCount).values(confirmed=0))
        conn.execute(
            update(SignatureCount)
            .where(SignatureCount.campaign_id == 1, SignatureCount.shard == 0)
            .values(confirmed=confirmed)
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()
    return int(confirmed or 0)


def page_latency(env: dict[str, str], duration: int) -> dict[str, float]:
    """The campaign page's latency on one connection, after a warm-up."""
    with harness.gunicorn(env, harness.ROOT / "gunicorn.conf.py") as base:
        script = harness.BENCH / "get.lua"
        url = base + "/en/zhanaozen/"
        harness.wrk(script, url, connections=1, duration=WARM_UP)
        return harness.wrk(script, url, connections=1, duration=duration)


def measure(backend: str, signatures: int, duration: int) -> list[str]:
    """One row of the table."""
    with harness.scratch_database(backend) as url, harness.private_redis() as redis_url:
        env = harness.app_environment(url, redis_url)
        empty = page_latency(env, duration)
        started = time.monotonic()
        confirmed = bulk_insert(url, signatures)
        loaded = time.monotonic() - started
        full = page_latency(env, duration)
    return [
        backend,
        f"{empty['p50_ms']:.2f} / {empty['p99_ms']:.2f}",
        f"{full['p50_ms']:.2f} / {full['p99_ms']:.2f}",
        f"{full['p50_ms'] / empty['p50_ms']:.2f}x / {full['p99_ms'] / empty['p99_ms']:.2f}x",
        f"{confirmed:,}",
        f"{loaded:.0f} s",
        str(int(empty["errors"] + full["errors"])),
    ]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per run")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"], help="default: both"
    )
    args = parser.parse_args()
    harness.ensure_wrk()
    started = time.strftime("%Y-%m-%d %H:%M")
    table_rows = [
        measure(backend, args.signatures, args.duration)
        for backend in args.backend or ["sqlite", "postgres"]
    ]
    print(f"Campaign page, {started}, 1 connection, {args.duration} s per run\n")
    print(
        harness.table(
            [
                "database",
                "p50 / p99 ms, 0 signatures",
                f"p50 / p99 ms, {args.signatures:,} signatures",
                "ratio p50 / p99",
                "confirmed",
                "bulk load",
                "errors",
            ],
            table_rows,
        )
    )


if __name__ == "__main__":
    main()
