"""Signing organisers in and out: password, then a TOTP code (enrolled at first sign-in)."""

from __future__ import annotations

from urllib.parse import urlsplit

import segno
from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from campaign import accounts
from campaign.extensions import csrf, db, limiter
from campaign.organisers import access, bp
from campaign.organisers.forms import ActionForm, CodeForm, LoginForm
from campaign.privacy import keyed_hash


def _account_key() -> str:
    """The rate-limit key of the account typed in, known or not (a hash, not the address)."""
    return keyed_hash(accounts.normalise_email(request.form.get("email", "")), "login", 32)


def _pending_key() -> str:
    """The rate-limit key of the account whose password was accepted and who owes a code.

    Per account rather than per attempt: typing the password again earns no new tries.
    """
    return keyed_hash(str(session.get("pending_id", "")), "second-factor", 32)


def _failed(response: Response) -> bool:
    """Only failed attempts use up an account's allowance."""
    return response.status_code != 303


def _config(name: str):
    return lambda: current_app.config[name]


@bp.route("/login", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps the address typed
@limiter.limit(_config("RATELIMIT_LOGIN"), methods=["POST"], scope="organiser-login")
@limiter.limit(
    _config("RATELIMIT_LOGIN_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    scope="organiser-login-account",
    deduct_when=_failed,
)
def login() -> Response | str | tuple[str, int]:
    """Ask for address and password; the answer to a failure never says which was wrong."""
    if access.current_organiser() is not None:
        return redirect(url_for("organisers.index"))
    form = LoginForm()
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
        return render_template("organisers/login.html", form=form)
    if form.validate():
        check = accounts.check_login(db.session, form.email.data, form.password.data)
        if check.ok and check.organiser is not None:
            access.begin_sign_in(check.organiser)
            step = (
                "organisers.second_factor" if check.organiser.totp_enrolled else "organisers.enrol"
            )
            return redirect(url_for(step, next=form.next.data or None), code=303)
        form.password.data = ""
        return render_template("organisers/login.html", form=form, failed=True), 400
    return render_template("organisers/login.html", form=form), 400


def _code_step(template: str, enrolling: bool) -> Response | str | tuple[str, int]:
    """The second step, shared by enrolment and everyday sign-in."""
    organiser = access.pending_organiser()
    if organiser is None:
        access.forget()
        return redirect(url_for("organisers.login"), code=303)
    if organiser.totp_enrolled == enrolling:
        step = "organisers.second_factor" if organiser.totp_enrolled else "organisers.enrol"
        return redirect(url_for(step, next=request.args.get("next") or None), code=303)
    form = CodeForm()
    extra = {}
    if enrolling:
        secret = accounts.begin_enrolment(db.session, organiser)
        issuer = urlsplit(current_app.config["BASE_URL"]).hostname or "petition"
        uri = accounts.provisioning_uri(organiser, issuer)
        extra = {
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "qr_svg": segno.make(uri, error="m").svg_inline(
                scale=5, svgclass="qr", lineclass=None, title=_("QR code to scan")
            ),
        }
    if not form.is_submitted():
        form.next.data = request.args.get("next", "")
        return render_template(template, form=form, **extra)
    if form.validate():
        if enrolling:
            ok = accounts.complete_enrolment(db.session, organiser, form.code.data)
        else:
            ok = accounts.verify_code(db.session, organiser, form.code.data)
        if ok:
            accounts.signed_in(db.session, organiser)
            access.finish_sign_in(organiser)
            return redirect(access.after_sign_in_target(form.next.data), code=303)
        accounts.second_factor_failed(db.session, organiser)
        form.code.errors = [_("That code is not right, or was used already. Wait for a new one.")]
    form.code.data = ""
    return render_template(template, form=form, **extra), 400


# Shared by enrolment and everyday sign-in, so switching pages gains no extra tries.
_second_factor_per_address = limiter.shared_limit(
    _config("RATELIMIT_SECOND_FACTOR"),
    scope="organiser-code",
    methods=["POST"],
    deduct_when=_failed,
)
_second_factor_per_account = limiter.shared_limit(
    _config("RATELIMIT_SECOND_FACTOR"),
    scope="organiser-code-account",
    key_func=_pending_key,
    methods=["POST"],
    deduct_when=_failed,
)


@bp.route("/login/code", methods=["GET", "POST"])
@_second_factor_per_address
@_second_factor_per_account
def second_factor() -> Response | str | tuple[str, int]:
    """Ask for the code from the organiser's authenticator app."""
    return _code_step("organisers/second_factor.html", enrolling=False)


@bp.route("/login/enrol", methods=["GET", "POST"])
@_second_factor_per_address
@_second_factor_per_account
def enrol() -> Response | str | tuple[str, int]:
    """First sign-in: scan the QR code into an authenticator app and prove it with a code."""
    return _code_step("organisers/enrol.html", enrolling=True)


@bp.post("/logout")
def logout() -> Response:
    """Sign out here and everywhere else this organiser is signed in."""
    form = ActionForm()
    organiser = access.current_organiser()
    if form.validate() and organiser is not None:
        accounts.signed_out(db.session, organiser)
    access.forget()
    flash(_("You have signed out."))
    return redirect(url_for("organisers.login"), code=303)
