"""Configuration layers, the production checks, and where mail goes."""

from __future__ import annotations

import pytest

from campaign import create_app, mail


def test_environment_overrides_the_instance_file(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text(
        "SECRET_KEY = 'from-instance-file'\nBASE_URL = 'https://instance.example'\n"
        "MAIL_PORT = 2525\nMAIL_SERVER = 'smtp.instance.example'\n"
    )
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "from-environment")
    monkeypatch.setenv("CAMPAIGN_MAIL_PORT", "587")
    monkeypatch.setenv("CAMPAIGN_MAIL_USE_TLS", "true")
    monkeypatch.setenv("CAMPAIGN_DATABASE_URL", "postgres://u@db.example/petition")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "from-environment"
    assert app.config["BASE_URL"] == "https://instance.example"
    assert app.config["MAIL_PORT"] == 587
    assert app.config["MAIL_USE_TLS"] is True
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/petition"


def test_embedded_default_is_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_DEVELOPMENT", "1")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/campaign.sqlite3"
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert app.config["MAIL_SERVER"] == ""


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(RuntimeError, match="CAMPAIGN_SECRET_KEY"):
        create_app(instance_path=str(tmp_path))


def test_production_refuses_to_start_without_a_mail_server(tmp_path, monkeypatch):
    # Else every email, with its address and links, would be printed into the server's log.
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "x" * 40)
    with pytest.raises(RuntimeError, match="CAMPAIGN_MAIL_SERVER"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("CAMPAIGN_MAIL_SERVER", "smtp.example.org")
    assert create_app(instance_path=str(tmp_path)).config["MAIL_SERVER"] == "smtp.example.org"


def test_development_starts_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_DEVELOPMENT", "1")
    assert create_app(instance_path=str(tmp_path)).config["DEVELOPMENT"] is True


@pytest.fixture
def production(monkeypatch):
    """The environment of production with what it requires set: a secret key, a mail server."""
    monkeypatch.setenv("CAMPAIGN_SECRET_KEY", "x" * 40)
    monkeypatch.setenv("CAMPAIGN_MAIL_SERVER", "smtp.example.org")
    return monkeypatch


def test_several_workers_need_shared_rate_limit_storage(tmp_path, production):
    monkeypatch = production
    monkeypatch.setenv("CAMPAIGN_WORKERS", "4")
    with pytest.raises(RuntimeError, match="RATELIMIT_STORAGE_URI"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.setenv("CAMPAIGN_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    assert create_app(instance_path=str(tmp_path)).config["WORKERS"] == 4


def test_production_refuses_to_have_the_answering_thread_send_the_email(tmp_path, production):
    # The server closes a connection once the thread that answered is done: had that
    # thread sent the email, the close's delay would tell whether the address had signed.
    monkeypatch = production
    monkeypatch.setenv("CAMPAIGN_DEFERRED_WORK_THREADS", "0")
    with pytest.raises(RuntimeError, match="DEFERRED_WORK_THREADS=0 is for tests"):
        create_app(instance_path=str(tmp_path))
    monkeypatch.delenv("CAMPAIGN_DEFERRED_WORK_THREADS")
    assert create_app(instance_path=str(tmp_path)).config["DEFERRED_WORK_THREADS"] == 2


def test_production_refuses_to_start_without_compiled_catalogs(tmp_path, production):
    # The .mo files are built, not kept in the repository: without them Russian and Kazakh
    # readers would be shown the English words.
    from campaign import catalogs

    production.setattr(catalogs, "TRANSLATIONS", tmp_path / "translations")
    with pytest.raises(RuntimeError, match="No compiled catalog for ru, kk"):
        create_app(instance_path=str(tmp_path))
    assert catalogs.missing(["ru", "kk"], tmp_path / "translations") == ["ru", "kk"]
    production.undo()
    assert catalogs.missing(["ru", "kk"]) == []


def test_without_a_mail_server_mail_is_printed(app, capsys):
    with app.app_context():
        settings = mail.smtp_settings(app.config)
        mail.send(settings, mail.Message("a@example.org", "Subject here", "Body with link"))
    out = capsys.readouterr().out
    assert "To: a@example.org" in out
    assert "Subject here" in out
    assert "Body with link" in out


def test_unreachable_mail_server_loses_no_signature(app, client):
    from sqlalchemy import func, select

    from campaign.extensions import db
    from campaign.models import Signature
    from tests.conftest import free_port
    from tests.factories import csrf_token, sign_form

    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    page = client.get("/en/zhanaozen/")
    data = sign_form(csrf_token=csrf_token(page.get_data(as_text=True)))
    response = client.post("/en/zhanaozen/", data=data)
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(select(func.count(Signature.id))) == 1


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder/campaign.sqlite3",
        "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2",
    ],
)
def test_unreachable_database_gives_a_503_page_not_a_500(url):
    from tests.conftest import base_config

    app = create_app(base_config(url))
    for path in ("/en/zhanaozen/", "/"):
        response = app.test_client().get(path)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "very busy" in response.get_data(as_text=True)


def test_responses_are_finished_right_after_their_last_byte():
    # As gunicorn does; Werkzeug's development server would first drain the connection,
    # and the signing email printed to the console would wait for the browser.
    from campaign import afterwards

    closed: list[int] = []
    sent: list[bytes] = []

    class Body(list):
        def close(self) -> None:
            closed.append(len(sent))

    def inner(environ, start_response):
        start_response("200 OK", [])
        return Body([b"first", b"last"])

    for chunk in afterwards.finished_when_sent(inner)({}, lambda *args: None):
        sent.append(chunk)
        assert closed == []  # never before the last byte has gone
    assert closed == [2]


def test_development_serves_through_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_DEVELOPMENT", "1")
    app = create_app(instance_path=str(tmp_path))
    assert app.wsgi_app.__qualname__ == "finished_when_sent.<locals>.app"
