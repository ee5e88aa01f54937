"""Migrations build the schema from nothing, match the models, and come back down."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from campaign import create_app
from campaign.cli import alembic_config
from campaign.models import Base
from tests.conftest import base_config


def _empty_database(backend: str, tmp_path, request) -> str:
    """The URL of a database with no tables at all, on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return _empty_postgres(request)


def test_upgrade_from_empty_matches_models_and_downgrades(backend, tmp_path, request):
    url = _empty_database(backend, tmp_path, request)
    app = create_app(base_config(url))
    with app.app_context():
        cfg = alembic_config()
        command.upgrade(cfg, "head")
        engine = create_engine(url)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")
        engine.dispose()
    app.extensions["database"].dispose()


def _empty_postgres(request) -> str:
    import uuid

    from sqlalchemy import text

    from tests import services

    services.require_postgres()
    name = f"campaign_migr_{uuid.uuid4().hex[:8]}"
    admin = create_engine(services.POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return services.postgres_url(name)


def test_removal_counts_are_filled_from_the_signatures_already_invalidated(
    backend, tmp_path, request
):
    from sqlalchemy.orm import Session

    from campaign import counting
    from campaign.models import SignatureStatus
    from tests.factories import make_campaign, make_signature

    url = _empty_database(backend, tmp_path, request)
    app = create_app(base_config(url))
    with app.app_context():
        cfg = alembic_config()
        command.upgrade(cfg, "0004")
        engine = create_engine(url)
        with Session(engine) as session:
            first, second = make_campaign(session), make_campaign(session)
            reasons = {first.id: ["fake", "fake", "duplicate", ""], second.id: ["fake"]}
            for campaign in (first, second):
                make_signature(session, campaign)  # counted, stays so
                for reason in reasons[campaign.id]:
                    signature = make_signature(session, campaign)
                    signature.status = SignatureStatus.INVALIDATED
                    signature.invalid_reason = reason
            session.commit()
            ids = (first.id, second.id)
        command.upgrade(cfg, "head")
        with Session(engine) as session:
            assert sorted(counting.removed_by_reason(session, ids[0])) == [
                ("", 1),
                ("duplicate", 1),
                ("fake", 2),
            ]
            assert counting.removed_by_reason(session, ids[1]) == [("fake", 1)]
        engine.dispose()
    app.extensions["database"].dispose()
