"""Outgoing mail through an RQ queue on Redis, so a slow mail server never slows signing.

The web process only enqueues; ``flask mail-worker`` sends. A failed send is retried with
growing pauses. When Redis cannot take the job, the message is sent inline instead, so a
confirmation email is never dropped because the queue is down.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import redis
from flask import Flask, current_app
from rq import Queue, Retry

from campaign import mail

if TYPE_CHECKING:
    from campaign.confirming import Notice

log = logging.getLogger(__name__)

QUEUE_NAME = "mail"
# Short, so a Redis that does not answer costs a signer about a second, not a minute.
_SOCKET_TIMEOUTS = {"socket_timeout": 2, "socket_connect_timeout": 2}


@cache
def connection(queue_url: str) -> redis.Redis:
    """The Redis client for the queue at ``queue_url``, shared by the process's threads."""
    # One client per process keeps its connections open between requests; redis-py's pool
    # is thread-safe and starts afresh in a forked process.
    return redis.Redis.from_url(queue_url, **_SOCKET_TIMEOUTS)


@cache
def queue(queue_url: str) -> Queue:
    """The mail queue at ``queue_url``."""
    return Queue(QUEUE_NAME, connection=connection(queue_url))


def enqueue(queue_url: str, notice: Notice) -> None:
    """Hand ``notice`` to the queue, or send its email inline when the queue cannot take it."""
    Handover.current(queue_url).enqueue(notice)


@dataclass(frozen=True)
class Handover:
    """What handing an email to the queue needs, read in the request.

    Its ``enqueue`` then needs no request or app context, so a thread can run it without
    copying the request's (which costs a signing POST more than the enqueue itself).
    """

    app: Flask
    queue_url: str
    retry_intervals: tuple[int, ...]
    failure_ttl: int

    @classmethod
    def current(cls, queue_url: str) -> Handover:
        """The hand-over to the queue at ``queue_url`` with the current app's settings."""
        config = current_app.config
        return cls(
            app=current_app._get_current_object(),  # type: ignore[attr-defined]
            queue_url=queue_url,
            retry_intervals=tuple(config["MAIL_QUEUE_RETRY_INTERVALS"]),
            failure_ttl=int(config["CONFIRM_MAX_AGE"]),
        )

    def enqueue(self, notice: Notice) -> None:
        """Queue ``notice``, or send its email inline when the queue cannot take it."""
        intervals = list(self.retry_intervals)
        try:
            # One transaction and one round trip: on its own, RQ sends the queue's name
            # and the job in two.
            with connection(self.queue_url).pipeline() as pipe:
                queue(self.queue_url).enqueue(
                    deliver,
                    notice.signature_id,
                    notice.repeated,
                    retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
                    # A job's description is stored in Redis and shown by rq's tools; the
                    # default one would spell out the call.
                    description="campaign email",
                    # Nothing to keep after a send; a job that failed for good is kept as
                    # long as its confirmation link would have stayed valid, then forgotten.
                    result_ttl=0,
                    failure_ttl=self.failure_ttl,
                    pipeline=pipe,
                )
                pipe.execute()
        except redis.RedisError as error:
            log.warning("mail queue unreachable (%s); sending inline", type(error).__name__)
            # Composing the email builds its links as a request to the site would.
            with self.app.test_request_context():
                mail.send_now(notice)


class NotSent(Exception):
    """A queued email the mail server did not take; RQ tries it again later."""


def deliver(signature_id: int | mail.Message, repeated: bool = False) -> None:
    """Compose and send one queued email in the worker; an error makes RQ retry."""
    from campaign.confirming import Notice, compose
    from campaign.extensions import db

    if isinstance(signature_id, mail.Message):
        # Queued by an earlier version, which wrote the email in the request.
        message: mail.Message | None = signature_id
    else:
        # The worker's app context lasts as long as the worker: each job reads the
        # signature afresh and gives its connection back before it talks to the mail
        # server. Links are built as in a request to the site (mail.absolute puts BASE_URL
        # in front). The mail settings are the worker's own, so the SMTP password never
        # travels through Redis, and neither does anyone's address.
        try:
            with current_app.test_request_context():
                message = compose(db.session, Notice(signature_id, repeated))
        finally:
            db.session.close()
    if message is None:
        return
    try:
        mail.send(mail.smtp_settings(current_app.config), message)
    except (OSError, smtplib.SMTPException) as error:
        # RQ keeps a failed job's error in Redis; an SMTP error's text can name the
        # recipient, so only its kind goes there.
        raise NotSent(type(error).__name__) from None


def work(queue_url: str, *, burst: bool = False) -> bool:
    """Run a worker on the mail queue in this process, inside the current app context."""
    from rq import SimpleWorker

    # SimpleWorker runs each job in this process, where the app context is already pushed;
    # the forking worker would also do, but buys nothing for a job that waits on SMTP.
    worker = SimpleWorker([queue(queue_url)], connection=connection(queue_url))
    return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")


def state(queue_url: str) -> str:
    """How the mail queue stands, for the health check.

    "ok"; "unreachable"; or "not durable" when Redis keeps no append-only file, so a
    restart would lose the emails waiting in the queue.
    """
    client = connection(queue_url)
    try:
        client.ping()
    except redis.RedisError:
        return "unreachable"
    try:
        durable = client.config_get("appendonly").get("appendonly") == "yes"
    except redis.RedisError:
        # Hosted Redis often refuses CONFIG; it is then the host's word on persistence.
        return "ok"
    return "ok" if durable else "not durable"
