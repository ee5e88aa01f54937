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
from campaign.models import Role

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
@click.argument("address", required=False)
@click.option(
    "--id", "signature_id", type=click.IntRange(min=1), help="Erase the signature with this ID."
)
def erase_command(address: str | None, signature_id: int | None) -> None:
    """Erase every signature made with an address, on every campaign, or the one with --id.

    Without ADDRESS or --id it asks for the address without showing it, so that it stays
    out of the shell's history and the list of processes. A signature taken on paper
    without an address is found by its ID: the first column of the organisers' own list
    (Export).
    """
    from campaign import erasure

    if address and signature_id is not None:
        raise click.UsageError("Give an address or --id, not both.")
    if signature_id is not None:
        count = erasure.erase_by_id(db.session, signature_id)
    else:
        # Typed unseen, so asked twice: a typo would erase nothing and look like no signer.
        address = address or click.prompt(
            "Address", hide_input=True, confirmation_prompt=True, err=True
        )
        count = erasure.erase_by_email(db.session, address)
        if count == 0:
            click.echo("No signature has this address, in any spelling: check it.", err=True)
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(f"Erased {count} signature(s).")


@privacy_group.command("purge-pending")
def purge_pending_command() -> None:
    """Delete unconfirmed signatures and forget old address hashes (daily, from cron)."""
    from datetime import timedelta

    from campaign import erasure

    days = int(current_app.config["PENDING_MAX_AGE_DAYS"])
    count = erasure.purge_pending(db.session, timedelta(days=days))
    hash_days = int(current_app.config["CLIENT_KEY_MAX_AGE_DAYS"])
    forgotten = erasure.forget_client_keys(db.session, timedelta(days=hash_days))
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(f"Purged {count} unconfirmed signature(s) older than {days} days.")
    click.echo(f"Forgot the address hash of {forgotten} signature(s) older than {hash_days} days.")


@privacy_group.command("anonymise")
def anonymise_command() -> None:
    """Strip personal data from signatures delivered or invalidated RETENTION_DAYS ago (cron)."""
    from datetime import timedelta

    from campaign import erasure

    days = int(current_app.config["RETENTION_DAYS"])
    count = erasure.anonymise_delivered(db.session, timedelta(days=days))
    db.session.commit()
    erasure.checkpoint(db.engine)
    click.echo(
        f"Anonymised {count} signature(s) delivered, or taken out of the count,"
        f" more than {days} days ago."
    )


@click.group("campaign", cls=AppGroup)
def campaign_group() -> None:
    """Run a campaign: pause and resume signing, switch surge mode."""


def _set_paused(slug: str, paused: bool) -> None:
    from campaign import campaigns

    campaigns.set_signing_paused(db.session, _campaign_or_fail(slug), paused)
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


@campaign_group.command("surge")
@click.argument("slug")
@click.argument("state", type=click.Choice(["on", "off"]))
def surge_command(slug: str, state: str) -> None:
    """Serve the campaign SLUG's pages for caching by the proxy (on), or stop (off)."""
    from campaign import campaigns

    campaigns.set_surge_mode(db.session, _campaign_or_fail(slug), state == "on")
    db.session.commit()
    click.echo(f"Surge mode of {slug}: {state}.")
    if current_app.config["SURGE_MODE"]:
        click.echo("CAMPAIGN_SURGE_MODE keeps it on for every campaign of this site meanwhile.")


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


export_group = AppGroup(
    "export", help="Signature lists and delivery packs, as on the organisers' pages."
)


def _campaign_or_fail(slug: str):
    """The campaign at ``slug``; the command fails, saying so, when there is none."""
    from campaign import campaigns

    campaign = campaigns.by_slug(db.session, slug)
    if campaign is None:
        raise click.ClickException(f"No campaign {slug!r}.")
    return campaign


def _export_embassy(key: str | None):
    from campaign import deliveries

    if not key:
        return None
    embassy = deliveries.embassy_by_key(db.session, key)
    if embassy is None:
        raise click.ClickException(f"No embassy {key!r} in the directory.")
    return embassy


def _write_download(download, output: str) -> None:
    """Commit the audit entry, then write the download to OUTPUT ("-" for standard output)."""
    db.session.commit()
    stream = click.get_binary_stream("stdout") if output == "-" else open(output, "wb")  # noqa: SIM115
    try:
        if download.chunks is not None:
            for chunk in download.chunks:
                stream.write(chunk)
        else:
            while chunk := download.file.read(1 << 16):
                stream.write(chunk)
            download.file.close()
    finally:
        if output != "-":
            stream.close()
    if output != "-":
        click.echo(f"Wrote {download.count} row(s) to {output}.", err=True)


_DAY = click.DateTime(formats=["%Y-%m-%d"])


@export_group.command("signatures")
@click.argument("slug")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True
)
@click.option("--for-delivery", is_flag=True, help="Names as the signers allowed, no emails.")
@click.option(
    "--embassy",
    default="",
    help="Directory key of an embassy (e.g. gb-london); the list is then one to hand over.",
)
@click.option("--body", default="", help="A named body, e.g. ITUC; the list is one to hand over.")
@click.option("--country", default="", help="Two-letter country code.")
@click.option("--since", type=_DAY, default=None, help="Confirmed on or after (YYYY-MM-DD, UTC).")
@click.option("--until", type=_DAY, default=None, help="Confirmed on or before (YYYY-MM-DD, UTC).")
@click.option("--new-only", is_flag=True, help="Only since the last delivery to the recipient.")
@click.option("--with-emails", is_flag=True, help="Include email addresses (audited).")
@click.option("--excel", is_flag=True, help="CSV for Excel: byte-order mark, semicolons, CRLF.")
@click.option("--language", type=click.Choice(["en", "ru", "kk"]), default="en", show_default=True)
@click.option("--output", "-o", required=True, help="File to write, or - for standard output.")
def export_signatures_command(
    slug: str,
    fmt: str,
    for_delivery: bool,
    embassy: str,
    body: str,
    country: str,
    since,
    until,
    new_only: bool,
    with_emails: bool,
    excel: bool,
    language: str,
    output: str,
) -> None:
    """Export the confirmed signatures of the campaign SLUG as CSV or XLSX."""
    from flask_babel import force_locale

    from campaign import downloads

    if body and not downloads.body_is_valid(body):
        raise click.ClickException("Give the body's name, not an email address.")
    request = downloads.ListRequest(
        format=fmt,
        for_delivery=for_delivery,
        embassy=_export_embassy(embassy),
        body=body,
        country=country.upper(),
        since=since.date() if since else None,
        until=until.date() if until else None,
        new_only=new_only,
        with_emails=with_emails,
        excel=excel,
    )
    # Column headings are in LANGUAGE; there is no visitor to choose one.
    with force_locale(language):
        try:
            download = downloads.signature_list(
                db.session, _campaign_or_fail(slug), request, None, via="command line"
            )
        except downloads.RequestError as error:
            raise click.ClickException(str(error)) from error
        _write_download(download, output)


@export_group.command("pack")
@click.argument("slug")
@click.option("--embassy", default="", help="Directory key of an embassy (e.g. gb-london).")
@click.option("--every-embassy", is_flag=True, help="A zip with one pack per embassy.")
@click.option("--body", default="", help="A named body, e.g. ITUC.")
@click.option("--language", type=click.Choice(["en", "ru", "kk"]), default="en", show_default=True)
@click.option("--new-only", is_flag=True, help="Only since the last delivery to the recipient.")
@click.option("--cutoff", default="", help="Confirmed up to this moment, YYYY-MM-DD HH:MM:SS UTC.")
@click.option("--output", "-o", required=True, help="File to write, or - for standard output.")
def export_pack_command(
    slug: str,
    embassy: str,
    every_embassy: bool,
    body: str,
    language: str,
    new_only: bool,
    cutoff: str,
    output: str,
) -> None:
    """Make the PDF delivery pack (or a zip of them) of the campaign SLUG."""
    from campaign import downloads
    from campaign.deliveries import parse_cutoff

    if sum(bool(x) for x in (embassy, every_embassy, body)) != 1:
        raise click.ClickException("Give exactly one of --embassy, --every-embassy, --body.")
    if body and not downloads.body_is_valid(body):
        raise click.ClickException("Give the body's name, not an email address.")
    moment = parse_cutoff(cutoff) if cutoff else None
    if cutoff and moment is None:
        raise click.ClickException("Write the cutoff as YYYY-MM-DD HH:MM:SS (UTC).")
    request = downloads.PackRequest(
        language=language,
        embassy=_export_embassy(embassy),
        body=body,
        every_embassy=every_embassy,
        new_only=new_only,
        cutoff=moment,
    )
    try:
        download = downloads.pack(
            db.session, _campaign_or_fail(slug), request, None, via="command line"
        )
    except downloads.NothingToDeliver:
        raise click.ClickException(
            "No signature to deliver with these options: no pack was made."
        ) from None
    _write_download(download, output)


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


_ROLE = click.Choice([role.value for role in Role])


@organisers_group.command("create")
@click.argument("email")
@click.option("--name", default="", help="How the organiser is shown to the others.")
@click.option(
    "--role",
    type=_ROLE,
    default=Role.MODERATOR.value,
    show_default=True,
    help="A moderator watches and moderates; a coordinator also exports, delivers, "
    "imports paper signatures, pauses signing and switches surge mode.",
)
@click.password_option(help="Asked for when not given (keeps it out of the shell history).")
def create_organiser_command(email: str, name: str, role: str, password: str) -> None:
    """Create an organiser account; they set up their second factor at first sign-in."""
    from campaign import accounts

    organiser = _account_change(
        accounts.create, email, password, min_length=_min_length(), name=name, role=Role(role)
    )
    click.echo(
        f"Created {organiser.role} {organiser.email}. They enrol a second factor at first sign-in."
    )


@organisers_group.command("set-role")
@click.argument("email")
@click.argument("role", type=_ROLE)
def set_role_command(email: str, role: str) -> None:
    """Make an organiser a moderator or a coordinator; their sessions end."""
    from campaign import accounts

    organiser = _account_change(accounts.set_role, email, Role(role))
    click.echo(f"{organiser.email} is a {organiser.role}; their sessions have ended.")


@organisers_group.command("list")
def list_organisers_command() -> None:
    """List organiser accounts: address, name, role, state, second factor, last sign-in."""
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
            f"{organiser.email}\t{organiser.name or '-'}\t{organiser.role}\t{state}\t{factor}"
            f"\tlast sign-in: {last}"
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
    app.cli.add_command(export_group)
