"""Signing under load: a supporter's whole visit against gunicorn, beside a bare baseline.

    .venv/bin/python bench/signing.py [--duration 20] [--connections 8] [--backend sqlite]

For each database it starts a scratch database and a private Redis, then, under the same
gunicorn settings (gunicorn.conf.py): the bare baseline (one INSERT per request, bench/
baseline.py) and the app, each driven by wrk for --duration seconds after a short warm-up.
A visit is three requests: the campaign page, the POST with its CSRF token, the thank-you
page. It prints a Markdown table; the ratio is signatures per second over baseline rows
per second.
"""

from __future__ import annotations

import argparse
import time

import harness
from sqlalchemy import create_engine, func, select

WARM_UP = 3


def stored_signatures(url: str) -> int:
    """Signatures in the database."""
    from campaign.models import Signature

    engine = create_engine(url)
    with engine.connect() as conn:
        count = conn.scalar(select(func.count(Signature.id)))
    engine.dispose()
    return int(count or 0)


def measure(backend: str, duration: int, connections: int) -> list[str]:
    """One row of the table: baseline and app on ``backend``."""
    with harness.scratch_database(backend) as url, harness.private_redis() as redis_url:
        harness.create_baseline_table(url)
        env = {**harness.app_environment(url, redis_url), "BENCH_DATABASE_URL": url}
        with harness.gunicorn(env, harness.BENCH / "baseline.conf.py") as base:
            script = harness.BENCH / "get.lua"
            harness.wrk(script, base + "/", connections=connections, duration=WARM_UP)
            bare = harness.wrk(script, base + "/", connections=connections, duration=duration)
        with harness.gunicorn(env, harness.ROOT / "gunicorn.conf.py") as base:
            script = harness.BENCH / "sign.lua"
            harness.wrk(
                script, base, connections=connections, duration=WARM_UP, env={"BENCH_RUN": "w"}
            )
            before = stored_signatures(url)
            app = harness.wrk(
                script, base, connections=connections, duration=duration, env={"BENCH_RUN": "m"}
            )
            signed = stored_signatures(url) - before
    rows_per_second = bare["requests"] / bare["seconds"]
    signatures_per_second = signed / app["seconds"]
    return [
        backend,
        f"{rows_per_second:.0f}",
        f"{bare['p50_ms']:.1f} / {bare['p99_ms']:.1f}",
        f"{signatures_per_second:.0f}",
        f"{app['requests'] / app['seconds']:.0f}",
        f"{app['p50_ms']:.1f} / {app['p99_ms']:.1f}",
        f"{signatures_per_second / rows_per_second:.0%}",
        str(app["failures"] + app["errors"] + bare["errors"]),
    ]


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per run")
    parser.add_argument("--connections", type=int, default=8, help="simultaneous clients")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"], help="default: both"
    )
    args = parser.parse_args()
    harness.ensure_wrk()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = [
        measure(b, args.duration, args.connections) for b in args.backend or ["sqlite", "postgres"]
    ]
    print(
        f"Signing under load, {started}, {args.connections} connections, {args.duration} s each\n"
    )
    print(
        harness.table(
            [
                "database",
                "baseline rows/s",
                "baseline p50 / p99 ms",
                "signatures/s",
                "app requests/s",
                "app p50 / p99 ms",
                "ratio",
                "errors",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
