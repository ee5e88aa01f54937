"""Work that runs once the response has gone out, so its cost never shows in the answer.

Signing and the re-send page use it: whether the address has signed decides whether a
database write and an email follow, and doing them before answering would let the
answer's timing tell.

Once the answer is sent, the work (an enqueue with a mail queue, else composing the email
and sending it by SMTP, seconds at worst) is handed to a few threads of the process's own
(DEFERRED_WORK_THREADS), so the thread that answered is free at once. Nothing the client
can see waits for it: not its next request on the same kept-alive connection, and not the
server's closing of the connection either, which a server such as gunicorn does only once
the thread that answered is done with the request. A worker that stops finishes the work
handed over (at the interpreter's exit), within gunicorn's graceful timeout; an email still
owed when a worker is killed is lost, never the signature, and the signer can ask for it
again on the re-send page.

DEFERRED_WORK_THREADS=0 has the thread that answered do the work, so that tests see it
done when their request returns. Production refuses it (campaign/config.py): the
connection's close would wait for the email, and its delay tell whether the address had
signed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Any

from flask import copy_current_request_context, current_app
from werkzeug.wrappers import Response

from campaign import mail
from campaign.extensions import db

if TYPE_CHECKING:
    from campaign.confirming import Notice

log = logging.getLogger(__name__)

# Work waiting for a thread, per process, at most. Beyond it the thread that answered
# waits for room, at most ROOM_WAIT seconds, and then drops the work (logged): what fills
# the backlog is everyone's work, so neither the wait nor the drop tells anything about one
# signer. A mail server that falls behind cannot fill the memory, and one that stops
# answering holds each request thread a second, not until it answers: the site stays up.
# What is dropped is an email, never a signature; the signer can ask for it again (the
# email dropped was counted against the per-signature cap all the same).
BACKLOG = 256
ROOM_WAIT = 1.0


class _Workers:
    """The process's threads for deferred work, made on first use in each process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = 0
        self._pool: ThreadPoolExecutor | None = None
        self._room = threading.BoundedSemaphore(BACKLOG)

    def submit(self, work: Callable[[], None], threads: int) -> None:
        """Queue ``work``; wait a moment while the backlog is full, then give it up."""
        pool, room = self._current(threads)
        if not room.acquire(timeout=ROOM_WAIT):
            log.warning("deferred work dropped: %d tasks already wait", BACKLOG)
            return
        try:
            future = pool.submit(work)
        except RuntimeError:
            # The interpreter is shutting down and takes no new work: do it here.
            room.release()
            work()
            return
        future.add_done_callback(lambda _future: room.release())

    def _current(self, threads: int) -> tuple[ThreadPoolExecutor, threading.BoundedSemaphore]:
        with self._lock:
            # A forked worker (gunicorn) inherits this object but not the threads.
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(threads, thread_name_prefix="afterwards")
                self._room = threading.BoundedSemaphore(BACKLOG)
                self._pid = os.getpid()
            return self._pool, self._room

    def wait(self) -> None:
        """Finish the work handed over so far; the next hand-over starts new threads."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None and self._pid == os.getpid():
            pool.shutdown(wait=True)


# At the interpreter's exit (a worker stopping or recycled) the pool finishes its queue.
workers = _Workers()


def send_after(response: Response, notice: Notice | None) -> Response:
    """Send or queue the email ``notice`` calls for once ``response`` is sent; None: none.

    Called alike whether or not an email is owed, so that what follows the answer is the
    same for both. With a mail queue the thread is handed a plain enqueue, with no copy of
    the request's context to push and pop: a signing POST's costliest step otherwise.
    """
    queue_url = current_app.config["MAIL_QUEUE_URL"]
    if not queue_url:
        return run_after(response, (lambda: mail.queue(notice)) if notice else _nothing)
    from campaign import mailqueue

    handover = mailqueue.Handover.current(queue_url)
    return _run_plain_after(response, partial(handover.enqueue, notice) if notice else _nothing)


def _nothing() -> None:
    """The work owed when no email is."""


def _run_plain_after(response: Response, work: Callable[[], None]) -> Response:
    """Run ``work``, which needs no context, after ``response`` is sent."""

    def guarded() -> None:
        try:
            work()
        except Exception as error:  # nobody is waiting for an answer any more
            log.warning("deferred work failed: %s", type(error).__name__)

    return _when_closed(response, guarded)


def run_after(response: Response, task: Callable[[], None]) -> Response:
    """Run ``task`` after ``response`` is sent, with this request's context; commit, mail."""

    @copy_current_request_context
    def in_context() -> None:
        try:
            task()
            db.session.commit()
            mail.deliver_queued()
        except Exception as error:  # nobody is waiting for an answer any more
            db.session.rollback()
            log.warning("deferred work failed: %s", type(error).__name__)

    return _when_closed(response, in_context)


def _when_closed(response: Response, work: Callable[[], None]) -> Response:
    """``response``, handing ``work`` to the process's threads once it is sent."""
    threads = current_app.config["DEFERRED_WORK_THREADS"]
    if threads > 0:
        response.call_on_close(lambda: workers.submit(work, threads))
    else:
        # The thread that answered does it (tests only: production refuses 0).
        response.call_on_close(work)
    return response


def finished_when_sent(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterator[bytes]]:
    """``wsgi_app`` with each response finished (its close run) right after its last byte.

    gunicorn does so. Werkzeug's development server first drains the connection, which
    can wait on the browser for a long time, and the work deferred to then with it: the
    signing email printed to the console would come late.
    """

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterator[bytes]:
        body = wsgi_app(environ, start_response)

        def chunks() -> Iterator[bytes]:
            try:
                yield from body
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()

        return chunks()

    return app
