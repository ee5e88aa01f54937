"""The mail queue: signing enqueues, a worker delivers and retries, a dead queue falls back."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller
from rq.registry import FailedJobRegistry
from sqlalchemy import select

from campaign import mailqueue
from campaign.models import Signature
from tests.conftest import _Collector, free_port
from tests.factories import csrf_token, sign_form
from tests.redis_server import PrivateRedis, require_redis_server

pytestmark = pytest.mark.services

CAMPAIGN = "/en/zhanaozen/"


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateRedis]:
    """A redis-server for this module alone, durable as the README asks of the queue's."""
    require_redis_server()
    server = PrivateRedis(tmp_path_factory.mktemp("redis"), durable=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue_url(private_redis: PrivateRedis) -> str:
    """The queue's Redis, emptied for each test."""
    private_redis.client().flushdb()
    return private_redis.url


@pytest.fixture
def config_overrides(smtp, queue_url):
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_QUEUE_URL": queue_url,
        "MAIL_QUEUE_RETRY_INTERVALS": [0, 0, 0],
    }


def sign(client, **overrides) -> int:
    page = client.get(CAMPAIGN)
    data = sign_form(csrf_token=csrf_token(page.get_data(as_text=True)), **overrides)
    return client.post(CAMPAIGN, data=data).status_code


def run_worker(app, queue_url: str) -> None:
    with app.app_context():
        mailqueue.work(queue_url, burst=True)


def signatures(app) -> list[Signature]:
    from campaign.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(Signature)))


def test_signing_enqueues_and_the_worker_delivers(app, client, smtp, queue_url):
    assert sign(client) == 303
    # Nothing left the site during the request: the email waits in the queue.
    assert smtp.messages == []
    queue = mailqueue.queue(queue_url)
    (job,) = queue.get_jobs()
    # What rq's tools show of a job says nothing about its recipient or link.
    assert "aigerim" not in job.description
    assert "token" not in job.description
    run_worker(app, queue_url)
    assert len(smtp.messages) == 1
    message = smtp.messages[0]
    assert message["To"] == "aigerim@example.org"
    assert re.search(r"/en/confirm\?token=\S+", message.get_content())
    assert queue.count == 0


def test_the_process_threads_hand_the_email_to_the_queue_with_no_context(
    app, client, smtp, queue_url
):
    # As served: the answering thread hands a plain enqueue to the process's threads; it
    # runs with no app or request context of its own, and falls back the same way.
    from campaign import afterwards

    app.config["DEFERRED_WORK_THREADS"] = 2
    assert sign(client) == 303
    afterwards.workers.wait()
    (job,) = mailqueue.queue(queue_url).get_jobs()
    assert job.args[0] == signatures(app)[0].id
    run_worker(app, queue_url)
    assert [m["To"] for m in smtp.messages] == ["aigerim@example.org"]

    app.config["MAIL_QUEUE_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    assert sign(client, email="second@example.org") == 303
    afterwards.workers.wait()
    assert [m["To"] for m in smtp.messages] == ["aigerim@example.org", "second@example.org"]


def test_the_queue_holds_no_address_link_or_password(app, client, private_redis, queue_url):
    app.config["MAIL_PASSWORD"] = "smtp-password-in-config"
    app.config["MAIL_USERNAME"] = "petition"
    assert sign(client) == 303
    (job,) = mailqueue.queue(queue_url).get_jobs()
    (signature,) = signatures(app)
    assert job.args == (signature.id, False)
    stored = b"".join(
        zlib.decompress(value) if key == b"data" else value
        for key, value in private_redis.client().hgetall(f"rq:job:{job.id}").items()
    )
    for secret in (b"aigerim", b"Aigerim", b"token", b"smtp-password-in-config"):
        assert secret not in stored


def test_a_signature_erased_before_the_worker_runs_gets_no_email(app, client, smtp, queue_url):
    from campaign import erasure
    from campaign.extensions import db

    assert sign(client) == 303
    with app.app_context():
        erasure.erase(db.session, db.session.scalars(select(Signature)).one())
        db.session.commit()
    run_worker(app, queue_url)
    assert smtp.messages == []
    assert mailqueue.queue(queue_url).count == 0
    assert FailedJobRegistry(queue=mailqueue.queue(queue_url)).count == 0


def test_the_worker_writes_the_email_in_the_signers_language(app, client, smtp, queue_url):
    page = client.get("/ru/zhanaozen/")
    data = sign_form(csrf_token=csrf_token(page.get_data(as_text=True)))
    assert client.post("/ru/zhanaozen/", data=data).status_code == 303
    run_worker(app, queue_url)
    (message,) = smtp.messages
    assert re.search(r"/ru/confirm\?token=\S+", message.get_content())
    assert str(message["Subject"]).startswith("Подтвердите вашу подпись: ")


class _FlakySMTP(_Collector):
    """Refuses the first ``failures`` messages with a temporary error, then accepts."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.refused = 0

    async def handle_DATA(self, server, smtp_session, envelope) -> str:
        if self.refused < self.failures:
            self.refused += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, smtp_session, envelope)


@pytest.fixture
def flaky_smtp() -> Iterator[_FlakySMTP]:
    handler = _FlakySMTP(failures=2)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    try:
        yield handler
    finally:
        controller.stop()


def test_a_failed_send_is_retried_until_it_goes_through(app, client, flaky_smtp, queue_url):
    app.config["MAIL_PORT"] = flaky_smtp.port
    assert sign(client) == 303
    run_worker(app, queue_url)
    assert flaky_smtp.refused == 2
    assert len(flaky_smtp.messages) == 1
    assert FailedJobRegistry(queue=mailqueue.queue(queue_url)).count == 0


def test_a_send_that_keeps_failing_is_kept_as_failed_and_the_signature_stays(
    app, client, queue_url
):
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    assert sign(client) == 303
    run_worker(app, queue_url)
    queue = mailqueue.queue(queue_url)
    failed = FailedJobRegistry(queue=queue)
    assert failed.count == 1
    (job_id,) = failed.get_job_ids()
    assert queue.fetch_job(job_id).retries_left == 0
    assert len(signatures(app)) == 1


def test_unreachable_queue_falls_back_to_sending_inline(app, client, smtp):
    app.config["MAIL_QUEUE_URL"] = f"redis://127.0.0.1:{free_port()}/0"
    assert sign(client) == 303
    assert len(smtp.messages) == 1
    assert smtp.messages[0]["To"] == "aigerim@example.org"
    assert len(signatures(app)) == 1


def test_queue_stopped_and_started_again(app, client, smtp, private_redis, queue_url):
    private_redis.stop()
    try:
        assert sign(client, email="during@example.org") == 303
        assert [m["To"] for m in smtp.messages] == ["during@example.org"]
        health = client.get("/healthz")
        assert health.status_code == 200
        assert health.json["mail_queue"] == "unreachable"
    finally:
        private_redis.start()
    assert sign(client, email="after@example.org") == 303
    assert len(smtp.messages) == 1  # queued again, not sent inline
    assert client.get("/healthz").json["mail_queue"] == "ok"
    run_worker(app, queue_url)
    assert [m["To"] for m in smtp.messages] == ["during@example.org", "after@example.org"]


def test_mail_worker_command_delivers(app, client, runner, smtp):
    assert sign(client) == 303
    result = runner.invoke(args=["mail-worker", "--burst"])
    assert result.exit_code == 0, result.output
    assert len(smtp.messages) == 1


def test_mail_worker_command_needs_a_queue(app, runner):
    app.config["MAIL_QUEUE_URL"] = ""
    result = runner.invoke(args=["mail-worker", "--burst"])
    assert result.exit_code != 0
    assert "MAIL_QUEUE_URL" in result.output


def test_queued_email_survives_a_redis_crash_and_restart(
    app, client, smtp, private_redis, queue_url
):
    assert sign(client, email="survivor@example.org") == 303
    assert smtp.messages == []
    private_redis.crash()
    private_redis.start()
    run_worker(app, queue_url)
    assert [m["To"] for m in smtp.messages] == ["survivor@example.org"]
    assert re.search(r"/confirm\?token=", smtp.messages[0].get_content())


def test_health_check_warns_when_the_queue_would_forget(app, client, tmp_path):
    volatile = PrivateRedis(tmp_path, durable=False)
    volatile.start()
    try:
        app.config["MAIL_QUEUE_URL"] = volatile.url
        report = client.get("/healthz")
        assert report.status_code == 200
        assert report.json["mail_queue"] == "not durable"
    finally:
        volatile.stop()


class _RefusingSMTP(_Collector):
    """Refuses every recipient for good, as a server does for an unknown mailbox."""

    async def handle_RCPT(self, server, smtp_session, envelope, address, rcpt_options) -> str:
        return "550 5.1.1 No such user here"


def test_a_failed_job_keeps_no_address_in_redis(app, client, private_redis, queue_url):
    handler = _RefusingSMTP()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        app.config["MAIL_PORT"] = controller.port
        assert sign(client) == 303
        run_worker(app, queue_url)
    finally:
        controller.stop()
    failed = FailedJobRegistry(queue=mailqueue.queue(queue_url))
    assert failed.count == 1
    # Everything Redis holds now, the failed job's error included, names nobody.
    redis = private_redis.client()
    for key in redis.keys("*"):
        kind = redis.type(key)
        if kind == b"hash":
            values = [
                zlib.decompress(v) if k == b"data" else v for k, v in redis.hgetall(key).items()
            ]
        elif kind == b"string":
            values = [redis.get(key)]
        elif kind == b"stream":
            values = [str(redis.xrange(key)).encode()]
        else:
            continue
        for value in values:
            assert b"aigerim" not in value, key
    (job_id,) = failed.get_job_ids()
    assert "NotSent" in mailqueue.queue(queue_url).fetch_job(job_id).latest_result().exc_string
