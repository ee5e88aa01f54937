"""Command-line tasks: migrate, seed."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup

from campaign import seeding
from campaign.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    """Alembic settings pointing at the project's migrations and the app's database."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", current_app.config["SQLALCHEMY_DATABASE_URI"])
    return cfg


@click.command("migrate")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def migrate_command(revision: str) -> None:
    """Bring the database schema up to date."""
    command.upgrade(alembic_config(), revision)
    click.echo(f"Database at revision {revision}.")


@click.command("seed")
def seed_command() -> None:
    """Create or update campaigns and the embassy directory from seeds/."""
    try:
        report = seeding.load_all(
            db.session, current_app.config["SEEDS_DIR"], tuple(current_app.config["LANGUAGES"])
        )
    except seeding.SeedError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Loaded campaigns: {', '.join(report.campaigns)}; embassies: {report.embassies}.")


@click.group("privacy")
def privacy_group() -> None:
    """Erase, purge and anonymise signers' data."""


@privacy_group.command("erase")
@click.argument("address")
def erase_command(address: str) -> None:
    """Erase every signature made with ADDRESS, on every campaign."""
    from campaign import erasure

    count = erasure.erase_by_email(db.session, address)
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(f"Erased {count} signature(s).")


@privacy_group.command("purge-pending")
def purge_pending_command() -> None:
    """Delete signatures left unconfirmed longer than PENDING_MAX_AGE_DAYS (for cron)."""
    from datetime import timedelta

    from campaign import erasure

    days = int(current_app.config["PENDING_MAX_AGE_DAYS"])
    count = erasure.purge_pending(db.session, timedelta(days=days))
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(f"Purged {count} unconfirmed signature(s) older than {days} days.")


@privacy_group.command("anonymise")
def anonymise_command() -> None:
    """Strip personal data from signatures delivered over RETENTION_DAYS ago (for cron)."""
    from datetime import timedelta

    from campaign import erasure

    days = int(current_app.config["RETENTION_DAYS"])
    count = erasure.anonymise_delivered(db.session, timedelta(days=days))
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(f"Anonymised {count} signature(s) delivered more than {days} days ago.")


@click.group("campaign", cls=AppGroup)
def campaign_group() -> None:
    """Run a campaign: pause and resume signing."""


def _set_paused(slug: str, paused: bool) -> None:
    from campaign import campaigns

    campaign = campaigns.by_slug(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"No campaign {slug!r}.")
    campaigns.set_signing_paused(db.session, campaign, paused)
    db.session.commit()


@campaign_group.command("pause")
@click.argument("slug")
def pause_command(slug: str) -> None:
    """Stop taking signatures on the campaign SLUG; its page stays up."""
    _set_paused(slug, True)
    click.echo(f"Signing paused on {slug}.")


@campaign_group.command("resume")
@click.argument("slug")
def resume_command(slug: str) -> None:
    """Take signatures on the campaign SLUG again."""
    _set_paused(slug, False)
    click.echo(f"Signing resumed on {slug}.")


@click.command("mail-worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def mail_worker_command(burst: bool) -> None:
    """Send the emails queued on MAIL_QUEUE_URL, retrying failed ones."""
    queue_url = current_app.config["MAIL_QUEUE_URL"]
    if not queue_url:
        raise click.ClickException("CAMPAIGN_MAIL_QUEUE_URL is not set: mail is sent inline.")
    from campaign import mailqueue

    mailqueue.work(queue_url, burst=burst)


def init_app(app: Flask) -> None:
    """Register the commands."""
    for cmd in (campaign_group, mail_worker_command):
        app.cli.add_command(cmd)
    for cmd in (migrate_command, seed_command, privacy_group):
        app.cli.add_command(cmd)
