"""Outgoing mail: collected during a request, sent once the request's data is committed."""

from __future__ import annotations

import logging
import smtplib
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from typing import TYPE_CHECKING, Any

from email_validator import EmailNotValidError, validate_email
from flask import current_app, g

if TYPE_CHECKING:
    from campaign.confirming import Notice

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A plain-text email to one recipient."""

    to: str
    subject: str
    body: str


def absolute(path: str) -> str:
    """The public address of a path on this site."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def queue(notice: Notice) -> None:
    """Hold an email owed to a signer until the current request has committed."""
    g.setdefault("outbox", []).append(notice)


def deliver_queued() -> None:
    """Hand what the request has held back to the mail queue, or compose and send it now."""
    outbox: list[Notice] = g.pop("outbox", [])
    queue_url = current_app.config["MAIL_QUEUE_URL"]
    for notice in outbox:
        if queue_url:
            from campaign import mailqueue

            mailqueue.enqueue(queue_url, notice)
        else:
            send_now(notice)


def send_now(notice: Notice) -> None:
    """Compose and send the email ``notice`` calls for, in this process."""
    from campaign import confirming
    from campaign.extensions import db

    # This runs once the signature is committed, often while the answer is being made:
    # whatever fails now (database, template, mail server) costs the email, never the
    # answer. The signature is stored; the signer can ask for the email again.
    try:
        message = confirming.compose(db.session, notice)
    except Exception as error:  # logged by type only: its text may hold the address
        log.warning("mail not written: %s", type(error).__name__)
        message = None
    # Not a transaction left open on the database while the mail server answers.
    db.session.close()
    if message is None:
        return
    try:
        send(smtp_settings(current_app.config), message)
    except (OSError, smtplib.SMTPException) as error:
        log.warning("mail not sent: %s", type(error).__name__)


def discard_queued() -> None:
    """Forget held emails after a failed request."""
    g.pop("outbox", None)


def smtp_settings(config: Any) -> dict[str, Any]:
    """The mail settings a sender needs, as a plain mapping that can cross processes."""
    return {
        key: config[f"MAIL_{key.upper()}"]
        for key in ("server", "port", "username", "password", "use_tls", "default_sender")
    }


def build(settings: dict[str, Any], message: Message) -> EmailMessage:
    """The MIME message for ``message``."""
    email = EmailMessage()
    email["From"] = settings["default_sender"]
    email["To"] = deliverable_address(message.to)
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(
        domain=settings["default_sender"].rpartition("@")[2].strip(">")
    )
    email.set_content(message.body)
    return email


def deliverable_address(address: str) -> str:
    """``address`` with its domain in ASCII (IDNA) when only the domain is international.

    Signers' addresses are kept as email-validator normalises them, with a domain such as
    почта.рф in its own letters. Sent like that, they would need a mail server that speaks
    SMTPUTF8, and many relays do not: the same address with the domain spelled in ASCII
    (xn--80a1acny.xn--p1ai) reaches the same mailbox through any of them. An address whose
    own part, before the @, is not ASCII has no such spelling and needs SMTPUTF8 still.
    """
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return address
    return result.ascii_email or address


def send(settings: dict[str, Any], message: Message) -> None:
    """Deliver one message through SMTP, or print it when no server is configured."""
    if not settings["server"]:
        sys.stdout.write(
            f"\n----- outgoing mail -----\nTo: {message.to}\nSubject: {message.subject}\n\n"
            f"{message.body}\n----- end of mail -----\n"
        )
        sys.stdout.flush()
        return
    email = build(settings, message)
    with smtplib.SMTP(settings["server"], int(settings["port"]), timeout=30) as smtp:
        if settings["use_tls"]:
            smtp.starttls()
        if settings["username"]:
            smtp.login(settings["username"], settings["password"])
        smtp.send_message(email)
