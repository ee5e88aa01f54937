"""The health check a load balancer or monitor polls: the database must answer."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from campaign.extensions import db, limiter

bp = Blueprint("health", __name__)


def rate_limit_state() -> str:
    """ "memory", "ok", or "fallback" when Redis is down and limits are kept per process."""
    if current_app.config["RATELIMIT_STORAGE_URI"].startswith("memory"):
        return "memory"
    try:
        reachable = limiter.storage.check()
    except Exception:  # any storage error means the same thing here: not reachable
        reachable = False
    return "ok" if reachable else "fallback"


@bp.get("/healthz")
@limiter.exempt
def healthz() -> tuple[Response, int]:
    """200 while the database answers; Redis is reported, since the app works without it."""
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unreachable"
    queue_url = current_app.config["MAIL_QUEUE_URL"]
    mail_queue = "off"
    if queue_url:
        # Imported only when configured: Redis and RQ are an optional extra.
        from campaign import mailqueue

        mail_queue = mailqueue.state(queue_url)
    report = {"database": database, "rate_limits": rate_limit_state(), "mail_queue": mail_queue}
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response, 200 if database == "ok" else 503
