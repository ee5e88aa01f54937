"""gunicorn settings for the petition app: ``gunicorn -c gunicorn.conf.py``.

The app's own settings still come from CAMPAIGN_* variables (see README: Configuration).
These few can be changed from the environment too: GUNICORN_BIND (default
127.0.0.1:8000, for a reverse proxy on the same host), WEB_CONCURRENCY (worker processes,
default two per core plus one) and GUNICORN_THREADS (threads per worker, default 4).
Command-line options such as ``-w 8`` win over all of them.
"""

from __future__ import annotations

import multiprocessing
import os

wsgi_app = "campaign:create_app()"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threads let a worker take the next request while one waits on the database's fsync.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, staggered, so a slow leak can never take the site down.
max_requests = 20000
max_requests_jitter = 2000
proc_name = "campaign"

# No access log: its lines would hold every visitor's address. Errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = "warning"


def on_starting(server) -> None:
    """Tell the app how many workers share this host, before any worker builds it."""
    # The app refuses to start with rate limits in process memory and more than one
    # worker (campaign/config.py check). Set here rather than above, so that the final
    # worker count counts, command-line options included.
    os.environ["CAMPAIGN_WORKERS"] = str(server.cfg.workers)


def post_worker_init(worker) -> None:
    """Check the built app against the real worker count; give it its own connections."""
    from campaign import config

    app = worker.wsgi
    app.config["WORKERS"] = worker.cfg.workers
    # With --preload the app was built before on_starting ran: check it again here.
    config.check(app)
    # A preloaded app's pool was made in the master; a worker must not share its sockets.
    app.extensions["database"].dispose(close=False)
