"""Command-line tasks: migrate, seed."""

from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

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
@with_appcontext
def mail_worker_command(burst: bool) -> None:
    """Send the emails queued on MAIL_QUEUE_URL, retrying failed ones."""
    queue_url = current_app.config["MAIL_QUEUE_URL"]
    if not queue_url:
        raise click.ClickException("CAMPAIGN_MAIL_QUEUE_URL is not set: mail is sent inline.")
    from campaign import mailqueue

    mailqueue.work(queue_url, burst=burst)


@click.group("organisers", cls=AppGroup)
def organisers_group() -> None:
    """Organiser accounts: there is no sign-up page, accounts are made here."""


def _account_change(change, *args, **kwargs):
    """Run an account service, commit, and turn its refusal into a command-line error."""
    from campaign import accounts

    try:
        organiser = change(db.session, *args, **kwargs)
    except accounts.AccountError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    return organiser


def _min_length() -> int:
    return int(current_app.config["ORGANISER_PASSWORD_MIN_LENGTH"])


@organisers_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="How the organiser is shown to the others.")
@click.password_option(help="Asked for when not given (keeps it out of the shell history).")
def create_organiser_command(email: str, name: str, password: str) -> None:
    """Create an organiser account; they set up their second factor at first sign-in."""
    from campaign import accounts

    organiser = _account_change(
        accounts.create, email, password, min_length=_min_length(), name=name
    )
    click.echo(f"Created organiser {organiser.email}. They enrol a second factor at first sign-in.")


@organisers_group.command("list")
def list_organisers_command() -> None:
    """List organiser accounts: address, name, state, second factor, last sign-in."""
    from campaign import accounts

    for organiser in accounts.every(db.session):
        state = "active" if organiser.active else "disabled"
        factor = "second factor enrolled" if organiser.totp_enrolled else "second factor pending"
        last = (
            organiser.last_login_at.strftime("%Y-%m-%d %H:%M UTC")
            if organiser.last_login_at
            else "never"
        )
        click.echo(
            f"{organiser.email}\t{organiser.name or '-'}\t{state}\t{factor}\tlast sign-in: {last}"
        )


@organisers_group.command("disable")
@click.argument("email")
def disable_organiser_command(email: str) -> None:
    """Stop an organiser from signing in and end all their sessions."""
    from campaign import accounts

    organiser = _account_change(accounts.disable, email)
    click.echo(f"Disabled {organiser.email}; their sessions have ended.")


@organisers_group.command("enable")
@click.argument("email")
def enable_organiser_command(email: str) -> None:
    """Let a disabled organiser sign in again."""
    from campaign import accounts

    organiser = _account_change(accounts.enable, email)
    click.echo(f"Enabled {organiser.email}.")


@organisers_group.command("reset-password")
@click.argument("email")
@click.option(
    "--second-factor",
    is_flag=True,
    help="Also forget their authenticator, so they enrol a new one (a lost phone).",
)
@click.password_option(help="Asked for when not given (keeps it out of the shell history).")
def reset_password_command(email: str, second_factor: bool, password: str) -> None:
    """Give an organiser a new password and end all their sessions."""
    from campaign import accounts

    organiser = _account_change(
        accounts.reset_password,
        email,
        password,
        min_length=_min_length(),
        second_factor=second_factor,
    )
    extra = " They will enrol a new second factor." if second_factor else ""
    click.echo(f"New password set for {organiser.email}; their sessions have ended.{extra}")


translate_group = AppGroup("translate", help="Maintain the message catalogs.")


@translate_group.command("extract")
@click.option("--output", type=click.Path(path_type=Path), default=None, help="POT file to write.")
def translate_extract(output: Path | None) -> None:
    """Collect the strings to translate into campaign/translations/messages.pot."""
    from campaign import catalogs

    catalogs.extract(output or catalogs.TEMPLATE)
    click.echo(f"Extracted to {output or catalogs.TEMPLATE}.")


@translate_group.command("update")
@click.option(
    "--directory", type=click.Path(path_type=Path), default=None, help="Translations folder."
)
def translate_update(directory: Path | None) -> None:
    """Extract, then merge the new strings into every language's catalog."""
    from campaign import catalogs

    directory = directory or catalogs.TRANSLATIONS
    catalogs.extract(directory / "messages.pot")
    catalogs.update(directory / "messages.pot", directory)
    click.echo(f"Updated the catalogs in {directory}.")


@translate_group.command("compile")
@click.option(
    "--directory", type=click.Path(path_type=Path), default=None, help="Translations folder."
)
def translate_compile(directory: Path | None) -> None:
    """Build the .mo files the app reads."""
    from campaign import catalogs

    catalogs.compile_all(directory or catalogs.TRANSLATIONS)
    click.echo("Compiled the catalogs.")


def init_app(app: Flask) -> None:
    """Register the commands."""
    for cmd in (campaign_group, mail_worker_command):
        app.cli.add_command(cmd)
    for cmd in (migrate_command, seed_command, privacy_group, organisers_group):
        app.cli.add_command(cmd)
    app.cli.add_command(translate_group)
