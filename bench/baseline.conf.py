"""gunicorn settings of the bare baseline: the app's own settings, without its hooks."""

from __future__ import annotations

import runpy
from pathlib import Path

_app_settings = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
for _name in (
    "bind",
    "workers",
    "worker_class",
    "threads",
    "timeout",
    "graceful_timeout",
    "keepalive",
    "max_requests",
    "max_requests_jitter",
    "accesslog",
    "errorlog",
    "loglevel",
):
    globals()[_name] = _app_settings[_name]

wsgi_app = "bench.baseline:app"
