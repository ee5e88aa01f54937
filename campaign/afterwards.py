"""Work that runs once the response has gone out, so its cost never shows in the answer.

Signing and the re-send page use it: whether the address has signed decides whether a
database write and an email follow, and doing them before answering would let the
answer's timing tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import copy_current_request_context
from werkzeug.wrappers import Response

from campaign import mail
from campaign.extensions import db

log = logging.getLogger(__name__)


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

    response.call_on_close(in_context)
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
