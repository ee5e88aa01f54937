"""Signing under load: a supporter's whole visit against gunicorn, beside a bare baseline.

    .venv/bin/python bench/signing.py [--duration 10] [--rounds 3] [--connections 8]
                                      [--backend sqlite] [--backend postgres]

For each database it makes a scratch database and a private Redis and starts, side by side
and under the same gunicorn settings (gunicorn.conf.py):

* the bare baseline, a WSGI app doing one INSERT per request (bench/baseline.py);
* the same as a Flask view (bench/flask_baseline.py), to show what Flask itself costs;
* the app as deployed by default, reached directly;
* the app in surge mode behind nginx with README's cache settings, so the campaign and
  thank-you pages mostly come from nginx's cache.

wrk drives each in turn, --rounds times for --duration seconds, with --connections clients.
A visit is three requests: the campaign page, the POST with its token, the thank-you page
(bench/sign.lua). The table shows medians over the rounds; the ratio is signatures per
second over the baseline's rows per second. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import statistics
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


def measure(backend: str, duration: int, rounds: int, connections: int) -> list[list[str]]:
    """Rows of the table for ``backend``: the baseline, the app, the app in surge mode."""
    sign, get = harness.BENCH / "sign.lua", harness.BENCH / "get.lua"
    runs: dict[str, list[dict[str, float]]] = {
        "baseline": [],
        "flask": [],
        "app": [],
        "surge": [],
    }
    with harness.scratch_database(backend) as url, harness.private_redis() as redis_url:
        harness.create_baseline_table(url)
        env = {**harness.app_environment(url, redis_url), "BENCH_DATABASE_URL": url}
        surge_env = {**env, "CAMPAIGN_SURGE_MODE": "true", "CAMPAIGN_TRUSTED_PROXIES": "1"}
        with (
            harness.gunicorn(env, harness.BENCH / "baseline.conf.py") as bare,
            harness.gunicorn(
                env, harness.BENCH / "baseline.conf.py", app="bench.flask_baseline:app"
            ) as flask_bare,
            harness.gunicorn(env, harness.ROOT / "gunicorn.conf.py") as app,
            harness.gunicorn(surge_env, harness.ROOT / "gunicorn.conf.py") as surge_app,
            harness.nginx(surge_app) as surge,
        ):
            targets = {
                "baseline": (get, bare + "/"),
                "flask": (get, flask_bare + "/"),
                "app": (sign, app),
                "surge": (sign, surge),
            }
            for name, (script, url_) in targets.items():
                harness.wrk(
                    script,
                    url_,
                    connections=connections,
                    duration=WARM_UP,
                    env={"BENCH_RUN": f"w{name}"},
                )
            for number in range(rounds):
                for name, (script, url_) in targets.items():
                    before = stored_signatures(url)
                    run = harness.wrk(
                        script,
                        url_,
                        connections=connections,
                        duration=duration,
                        env={"BENCH_RUN": f"{name}{number}"},
                    )
                    run["stored"] = stored_signatures(url) - before
                    runs[name].append(run)

    def median(name: str, key: str) -> float:
        return statistics.median(r[key] for r in runs[name])

    def per_second(name: str, key: str) -> float:
        return statistics.median(r[key] / r["seconds"] for r in runs[name])

    def latency(name: str) -> str:
        return f"{median(name, 'p50_ms'):.1f} / {median(name, 'p99_ms'):.1f}"

    rows_per_second = per_second("baseline", "requests")
    table = []
    for name, label in (
        ("baseline", "bare baseline: one INSERT per request"),
        ("flask", "the same INSERT as a Flask view"),
    ):
        rows = per_second(name, "requests")
        table.append(
            [
                backend,
                label,
                f"{rows:.0f} rows",
                f"{rows:.0f}",
                latency(name),
                "" if name == "baseline" else f"{rows / rows_per_second:.0%}",
                str(int(sum(r["errors"] for r in runs[name]))),
            ]
        )
    for name, label in (("app", "app, whole visit"), ("surge", "app in surge mode behind nginx")):
        signed = per_second(name, "stored")
        failures = sum(r["errors"] + r["failures"] for r in runs[name])
        table.append(
            [
                backend,
                label,
                f"{signed:.0f} signatures",
                f"{per_second(name, 'requests'):.0f}",
                latency(name),
                f"{signed / rows_per_second:.0%}",
                str(int(failures)),
            ]
        )
    return table


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, in turns")
    parser.add_argument("--connections", type=int, default=8, help="simultaneous clients")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"], help="default: both"
    )
    args = parser.parse_args()
    harness.ensure_wrk()
    started = time.strftime("%Y-%m-%d %H:%M")
    rows = [
        row
        for backend in args.backend or ["sqlite", "postgres"]
        for row in measure(backend, args.duration, args.rounds, args.connections)
    ]
    print(
        f"Signing, {started}, {args.connections} connections, "
        f"median of {args.rounds} runs of {args.duration} s\n"
    )
    print(
        harness.table(
            [
                "database",
                "what",
                "per second",
                "requests/s",
                "p50 / p99 ms",
                "of baseline",
                "errors",
            ],
            rows,
        )
    )


if __name__ == "__main__":
    main()
