"""Migrations build the schema from nothing, match the models, and come back down."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect

from campaign import create_app
from campaign.cli import alembic_config
from campaign.models import Base
from tests.conftest import base_config


def _empty_database(backend: str, tmp_path, request) -> str:
    """The URL of a database with no tables at all, on ``backend``."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return _empty_postgres(request)


@contextlib.contextmanager
def _migrated(backend: str, tmp_path, request, revision: str) -> Iterator[tuple[Config, Engine]]:
    """A new database on ``backend`` migrated to ``revision``: Alembic's config and an engine.

    The app's context stays pushed meanwhile, as the migration commands need it.
    """
    url = _empty_database(backend, tmp_path, request)
    app = create_app(base_config(url))
    with app.app_context():
        cfg = alembic_config()
        command.upgrade(cfg, revision)
        engine = create_engine(url)
        try:
            yield cfg, engine
        finally:
            engine.dispose()
    app.extensions["database"].dispose()


def test_upgrade_from_empty_matches_models_and_downgrades(backend, tmp_path, request):
    with _migrated(backend, tmp_path, request, "head") as (cfg, engine):
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())

        command.downgrade(cfg, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(cfg, "head")


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


def _insert(conn, table, **values) -> int:
    """A row in ``table`` as the schema stands, with a plain value in each column it needs."""
    from datetime import UTC, datetime

    from sqlalchemy import Boolean, DateTime, Integer

    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        if column.server_default is not None:
            continue
        if isinstance(column.type, Boolean):
            values[column.name] = False
        elif isinstance(column.type, Integer):
            values[column.name] = 0
        elif isinstance(column.type, DateTime):
            values[column.name] = datetime.now(UTC).replace(tzinfo=None)
        else:
            values[column.name] = ""
    return conn.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_removal_counts_are_filled_from_the_signatures_already_invalidated(
    backend, tmp_path, request
):
    from datetime import UTC, datetime

    from sqlalchemy import MetaData
    from sqlalchemy.orm import Session

    from campaign import counting

    with _migrated(backend, tmp_path, request, "0004") as (cfg, engine):
        # Rows written as the schema stood then, not through today's models.
        old = MetaData()
        old.reflect(engine)
        campaigns, signatures = old.tables["campaigns"], old.tables["signatures"]
        numbers = iter(range(1, 100))
        with engine.begin() as conn:
            ids = []
            # (reason, whether confirmed before it was taken out): one never confirmed was
            # never in the count, so it was never removed from it (migration 0011).
            for slug, reasons in (
                ("first", [("fake", True), ("fake", True), ("duplicate", True), ("", True)]),
                ("second", [("fake", True), ("fake", False), ("duplicate", False)]),
            ):
                campaign_id = _insert(conn, campaigns, slug=slug, goal=100)
                ids.append(campaign_id)
                rows = [("confirmed", "", True), *(("invalidated", *r) for r in reasons)]
                for status, reason, was_confirmed in rows:
                    n = next(numbers)
                    _insert(
                        conn,
                        signatures,
                        campaign_id=campaign_id,
                        email=f"s{n}@example.org",
                        email_key=f"key-{n}",
                        receipt=f"R-{n}",
                        name=f"Signer {n}",
                        country="GB",
                        status=status,
                        invalid_reason=reason,
                        confirmed_at=datetime(2026, 1, 2, tzinfo=UTC) if was_confirmed else None,
                    )
        command.upgrade(cfg, "head")
        with Session(engine) as session:
            assert sorted(counting.removed_by_reason(session, ids[0])) == [
                ("", 1),
                ("duplicate", 1),
                ("fake", 2),
            ]
            assert counting.removed_by_reason(session, ids[1]) == [("fake", 1)]


def test_embassy_deliveries_made_before_keep_their_embassys_countries(backend, tmp_path, request):
    from sqlalchemy import MetaData, select

    with _migrated(backend, tmp_path, request, "0007") as (cfg, engine):
        old = MetaData()
        old.reflect(engine)
        tables = old.tables
        with engine.begin() as conn:
            campaign_id = _insert(conn, tables["campaigns"], slug="first", goal=100)
            embassy_id = _insert(conn, tables["embassies"], key="at-vienna", country="AT")
            for country in ("AT", "SI"):
                conn.execute(
                    tables["embassy_countries"]
                    .insert()
                    .values(country=country, embassy_id=embassy_id)
                )
            to_embassy = _insert(
                conn, tables["deliveries"], campaign_id=campaign_id, embassy_id=embassy_id
            )
            to_body = _insert(conn, tables["deliveries"], campaign_id=campaign_id, recipient="ITUC")
        command.upgrade(cfg, "head")
        countries = MetaData()
        countries.reflect(engine, only=["delivery_countries"])
        table = countries.tables["delivery_countries"]
        with engine.connect() as conn:
            rows = conn.execute(select(table.c.delivery_id, table.c.country)).all()
        assert sorted(rows) == [(to_embassy, "AT"), (to_embassy, "SI")]
        assert to_body not in {delivery for delivery, _ in rows}


def test_pending_signatures_are_dated_from_the_upgrade_so_no_link_sent_is_purged(
    backend, tmp_path, request
):
    # Links sent before the upgrade carry dates the database never kept: one sent again
    # yesterday for a signature made a month ago must still work.
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import MetaData
    from sqlalchemy.orm import Session

    from campaign import erasure
    from campaign.models import Signature

    month_ago = datetime.now(UTC) - timedelta(days=30)
    with _migrated(backend, tmp_path, request, "0008") as (cfg, engine):
        old = MetaData()
        old.reflect(engine)
        campaigns, signatures = old.tables["campaigns"], old.tables["signatures"]
        with engine.begin() as conn:
            campaign_id = _insert(conn, campaigns, slug="first", goal=100)
            ids = {
                status: _insert(
                    conn,
                    signatures,
                    campaign_id=campaign_id,
                    email=f"{status}@example.org",
                    email_key=f"key-{status}",
                    receipt=f"R-{status}",
                    name="Signer",
                    country="GB",
                    status=status,
                    created_at=month_ago,
                    confirmed_at=month_ago if status == "confirmed" else None,
                    emails_sent=2,
                )
                for status in ("pending", "confirmed")
            }
        # The database's clock: SQLite's counts whole milliseconds.
        now = datetime.now(UTC)
        upgraded = now.replace(microsecond=now.microsecond // 1000 * 1000)
        command.upgrade(cfg, "head")
        with Session(engine) as session:
            pending = session.get(Signature, ids["pending"])
            assert upgraded <= pending.last_emailed_at <= datetime.now(UTC)
            assert session.get(Signature, ids["confirmed"]).last_emailed_at is None
            assert erasure.purge_pending(session, timedelta(days=14)) == 0


def test_sql_written_for_later_dates_pending_signatures_when_it_runs(backend, tmp_path, request):
    # SQL written with --sql may be applied days later: the date must be the database's
    # when it runs, not the moment the SQL was written.
    import io
    import re

    with _migrated(backend, tmp_path, request, "0008") as (cfg, _engine):
        cfg.output_buffer = io.StringIO()
        command.upgrade(cfg, "0008:0009", sql=True)
        script = cfg.output_buffer.getvalue()
    update = next(line for line in script.splitlines() if line.startswith("UPDATE signatures"))
    assert "last_emailed_at=" in update.replace(" ", "")
    assert "now" in update.lower()
    assert not re.search(r"\d{4}-\d{2}-\d{2}", update.replace("%Y-%m-%d", ""))
