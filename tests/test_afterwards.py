"""Work that follows an answer: done by the process's own threads, never lost at exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from campaign import afterwards
from tests.factories import csrf_token, sign_form

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def config_overrides(held_smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": held_smtp.port, "DEFERRED_WORK_THREADS": 2}


@pytest.mark.parametrize("repeated", [False, True])
def test_the_signing_email_is_sent_by_another_thread_after_the_answer(client, held_smtp, repeated):
    # The response is finished (as a server does after its last byte) while the mail
    # server still holds the email: the thread that answered did not wait for it.
    if repeated:
        page = client.get("/en/zhanaozen/")
        client.post("/en/zhanaozen/", data=sign_form(csrf_token=csrf_token(page.get_data(True))))
        held_smtp.release.set()
        held_smtp.wait_for(1)
        held_smtp.release.clear()
        held_smtp.arrived.clear()
    page = client.get("/en/zhanaozen/")
    response = client.post(
        "/en/zhanaozen/", data=sign_form(csrf_token=csrf_token(page.get_data(True)))
    )
    assert response.status_code == 303
    assert held_smtp.arrived.wait(30)
    assert len(held_smtp.messages) == int(repeated)
    held_smtp.release.set()
    messages = held_smtp.wait_for(1 + int(repeated))
    assert messages[-1]["To"] == "aigerim@example.org"


def test_a_full_backlog_holds_the_answering_thread_while_it_waits_for_room(monkeypatch):
    monkeypatch.setattr(afterwards, "BACKLOG", 1)
    monkeypatch.setattr(afterwards, "ROOM_WAIT", 30)  # longer than this test waits
    workers = afterwards._Workers()
    release = threading.Event()
    done: list[str] = []
    workers.submit(lambda: (release.wait(30), done.append("first")), 1)
    handed_over = threading.Event()

    def second() -> None:
        workers.submit(lambda: done.append("second"), 1)
        handed_over.set()

    thread = threading.Thread(target=second)
    thread.start()
    assert not handed_over.wait(0.3)  # waiting for room, not queued beyond the backlog
    release.set()
    assert handed_over.wait(30)
    thread.join()
    workers.wait()
    assert done == ["first", "second"]


def test_work_that_finds_no_room_in_time_is_dropped_not_waited_for(monkeypatch, caplog):
    # A mail server that takes emails and never answers: the backlog fills, and the
    # threads that answer must not hang with it (the whole site would stop).
    monkeypatch.setattr(afterwards, "BACKLOG", 1)
    monkeypatch.setattr(afterwards, "ROOM_WAIT", 0.2)
    workers = afterwards._Workers()
    release = threading.Event()
    done: list[str] = []
    workers.submit(lambda: (release.wait(30), done.append("stuck")), 1)
    started = time.monotonic()
    workers.submit(lambda: done.append("dropped"), 1)
    assert 0.2 <= time.monotonic() - started < 5
    assert "deferred work dropped" in caplog.text
    release.set()
    workers.wait()
    assert done == ["stuck"]


def test_work_handed_over_is_finished_when_the_process_exits(tmp_path):
    # A worker that stops (or is recycled) finishes the emails it still owes.
    marker = tmp_path / "done"
    script = (
        "import time\n"
        "from campaign import afterwards\n"
        "def work():\n"
        "    time.sleep(0.5)\n"
        f"    open({str(marker)!r}, 'w').write('sent')\n"
        "afterwards.workers.submit(work, 1)\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    assert marker.read_text() == "sent"


@pytest.mark.parametrize("value", ["-1", '"2"', "1.5"])
def test_a_thread_count_that_is_not_a_whole_number_is_refused(monkeypatch, tmp_path, value):
    from campaign import create_app

    monkeypatch.setenv("CAMPAIGN_DEVELOPMENT", "1")
    monkeypatch.setenv("CAMPAIGN_DEFERRED_WORK_THREADS", value)
    with pytest.raises(RuntimeError, match="DEFERRED_WORK_THREADS"):
        create_app(instance_path=str(tmp_path))
