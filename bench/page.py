"""Campaign page latency with no signatures and with 1,000,000 of them.

    .venv/bin/python bench/page.py [--signatures 1000000] [--duration 15] [--backend sqlite]

For each database: two scratch databases, one left empty and one given the signatures in
bulk (95% confirmed, 40% of those shown by name, 1% invalidated, the count slices set to
match), each served by the app under gunicorn (gunicorn.conf.py); wrk reads the campaign
page on one connection, --rounds times --duration seconds each, taking turns between the
two. Prints a Markdown table of the medians.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

import harness
from sqlalchemy import create_engine, func, select, text, update

WARM_UP = 3
CONFIG = harness.ROOT / "gunicorn.conf.py"
PAGE = "/en/zhanaozen/"
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
    """Insert ``count`` signatures fast, set the count slices and removals; the confirmed count."""
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
        # The removals by reason, as moderation would have kept them (migration 0005).
        conn.execute(text("DELETE FROM removal_counts"))
        conn.execute(
            text(
                "INSERT INTO removal_counts (campaign_id, reason, removed) "
                "SELECT campaign_id, invalid_reason, count(*) FROM signatures "
                "WHERE status = 'invalidated' GROUP BY campaign_id, invalid_reason"
            )
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()
    return int(confirmed or 0)


def measure(backend: str, signatures: int, duration: int, rounds: int) -> list[str]:
    """One row of the table.

    An empty database and one holding the signatures are served side by side and measured
    in turns, so that whatever else the machine does weighs on both alike; the table shows
    the median over the rounds.
    """
    with (
        harness.scratch_database(backend) as empty_url,
        harness.scratch_database(backend) as full_url,
        harness.private_redis() as redis_url,
    ):
        started = time.monotonic()
        confirmed = bulk_insert(full_url, signatures)
        loaded = time.monotonic() - started
        script = harness.BENCH / "get.lua"
        results: dict[str, list[dict[str, float]]] = {"empty": [], "full": []}
        with (
            harness.gunicorn(harness.app_environment(empty_url, redis_url), CONFIG) as empty,
            harness.gunicorn(harness.app_environment(full_url, redis_url), CONFIG) as full,
        ):
            for base in (empty, full):
                harness.wrk(script, base + PAGE, connections=1, duration=WARM_UP)
            for _ in range(rounds):
                for name, base in (("empty", empty), ("full", full)):
                    run = harness.wrk(script, base + PAGE, connections=1, duration=duration)
                    results[name].append(run)
    empty_p50 = statistics.median(r["p50_ms"] for r in results["empty"])
    empty_p99 = statistics.median(r["p99_ms"] for r in results["empty"])
    full_p50 = statistics.median(r["p50_ms"] for r in results["full"])
    full_p99 = statistics.median(r["p99_ms"] for r in results["full"])
    errors = sum(r["errors"] for runs in results.values() for r in runs)
    return [
        backend,
        f"{empty_p50:.2f} / {empty_p99:.2f}",
        f"{full_p50:.2f} / {full_p99:.2f}",
        f"{full_p50 / empty_p50:.2f}x / {full_p99 / empty_p99:.2f}x",
        f"{confirmed:,}",
        f"{loaded:.0f} s",
        str(int(errors)),
    ]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signatures", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=5, help="runs per database, alternating")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"], help="default: both"
    )
    args = parser.parse_args()
    harness.ensure_wrk()
    started = time.strftime("%Y-%m-%d %H:%M")
    table_rows = [
        measure(backend, args.signatures, args.duration, args.rounds)
        for backend in args.backend or ["sqlite", "postgres"]
    ]
    print(
        f"Campaign page, {started}, 1 connection, median of {args.rounds} runs "
        f"of {args.duration} s\n"
    )
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
