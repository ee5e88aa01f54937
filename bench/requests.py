"""Each request of a supporter's visit, timed one at a time inside the process.

    .venv/bin/python bench/requests.py [--count 300] [--backend sqlite] [--backend postgres]
                                       [--clock cpu]

Where bench/signing.py measures what gunicorn serves under load, this shows what each
request costs the app alone, without HTTP, other clients or workers: the campaign page,
the POST that signs (stored, email queued) and the thank-you page, as deployed (rate
limits and the mail queue on a private Redis) and in surge mode. The table shows the
median of --count requests of each, after a warm-up. With --clock cpu it counts the
process's processor time rather than the time on the wall: steadier on a shared machine,
and blind to waiting on the database, Redis or the disk.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from collections.abc import Callable
from unittest import mock

import harness

CAMPAIGN = "/en/zhanaozen/"
THANKS = "/en/zhanaozen/thanks?country=KZ"
WARM_UP = 50
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _timed(
    action: Callable[[], int], expected: int, count: int, clock: Callable[[], float]
) -> float:
    """Median milliseconds of ``action``, which must answer ``expected`` each time."""
    for _ in range(WARM_UP):
        assert action() == expected
    times = []
    for _ in range(count):
        start = clock()
        status = action()
        times.append((clock() - start) * 1000)
        assert status == expected, status
    return statistics.median(times)


def measure(
    backend: str, surge: bool, count: int, clock: Callable[[], float] = time.perf_counter
) -> list[float]:
    """Median ms of the page, the POST and the thank-you page on ``backend``."""
    with harness.scratch_database(backend) as url, harness.private_redis() as redis_url:
        env = harness.app_environment(url, redis_url)
        if surge:
            env["CAMPAIGN_SURGE_MODE"] = "true"
        # The app reads its settings from the environment, as deployed.
        with mock.patch.dict(os.environ, env, clear=True):
            from campaign import create_app

            app = create_app()
        client = app.test_client()
        headers = {"Cookie": "lang=en", "Sec-Fetch-Site": "same-origin"}
        page = client.get(CAMPAIGN, headers=headers).get_data(as_text=True)
        if surge:
            token = {"surge_token": re.search(r'name="surge_token" value="([^"]+)"', page)[1]}
        else:
            csrf = r'name="csrf_token" type="hidden" value="([^"]+)"'
            token = {"csrf_token": re.search(csrf, page)[1]}
        numbers = iter(range(10**9))

        def sign() -> int:
            data = {
                **token,
                "name": "Bench Signer",
                "email": f"r{next(numbers)}@example.org",
                "country": "KZ",
                "city": "Aktau",
                "display": "initial",
            }
            response = client.post(CAMPAIGN, data=data, headers=headers)
            # What a server does once the answer is sent: the email is queued then.
            response.close()
            return response.status_code

        timings = [
            _timed(lambda: client.get(CAMPAIGN, headers=headers).status_code, 200, count, clock),
            _timed(sign, 303, count, clock),
            _timed(lambda: client.get(THANKS, headers=headers).status_code, 200, count, clock),
        ]
        app.extensions["database"].dispose()
        return timings


def main() -> None:
    """Run the measurements and print their table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="requests of each kind")
    parser.add_argument(
        "--backend", action="append", choices=["sqlite", "postgres"], help="default: both"
    )
    parser.add_argument(
        "--clock", choices=sorted(CLOCKS), default="wall", help="what to time (default: wall)"
    )
    args = parser.parse_args()
    rows = []
    for backend in args.backend or ["sqlite", "postgres"]:
        for surge in (False, True):
            page, post, thanks = measure(backend, surge, args.count, CLOCKS[args.clock])
            mode = "surge mode" if surge else "as deployed"
            rows.append(
                [backend, mode, f"{page:.2f}", f"{post:.2f}", f"{thanks:.2f}",
                 f"{page + post + thanks:.2f}"]
            )  # fmt: skip
    print(
        f"Requests in process, {time.strftime('%Y-%m-%d %H:%M')}, median of {args.count}, "
        f"{args.clock} clock\n"
    )
    print(
        harness.table(["database", "mode", "page ms", "POST ms", "thank-you ms", "visit ms"], rows)
    )


if __name__ == "__main__":
    main()
