"""Supporters' views: read, sign, confirm."""

from __future__ import annotations

from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.wrappers import Response

from campaign import (
    afterwards,
    campaigns,
    confirming,
    counting,
    deliveries,
    embassies,
    erasure,
    languages,
    mail,
    moderation,
    sharing,
    signing,
    surge,
)
from campaign.extensions import csrf, db, limiter
from campaign.models import Campaign, Display, Signature, SignatureStatus
from campaign.privacy import client_key
from campaign.public.forms import ConfirmForm, ReceiptForm, ResendForm, SignForm

bp = Blueprint("public", __name__)


# Forms that come back filled in, with how long to wait, when their POST's rate limit
# refuses them (people behind one address share it): endpoint -> the page, or None.
REFUSED_FORMS: dict[str, Callable[[int | None], Response | None]] = {}


def post_limit(name: str | Callable[[], str]):
    """The rate limit on POSTs configured under RATELIMIT_<name>, counted for it alone.

    ``name`` may be a function of the request, for a route whose POSTs are of two kinds.
    """
    named = name if callable(name) else (lambda: name)
    return limiter.limit(
        lambda: current_app.config[f"RATELIMIT_{named()}"],
        methods=["POST"],
        scope=lambda _endpoint: named().lower(),
    )


def _switching_language() -> bool:
    """Whether this POST only asks for its form in another language (campaign.html)."""
    return "switch_language" in request.form


def _sign_form_limit() -> str:
    """The limit a POST of the sign form counts against.

    Asking for the form in another language is not signing, but renders the page all the
    same: it has a looser limit of its own.
    """
    return "LANGUAGE_SWITCH" if _switching_language() else "SIGN"


@bp.url_value_preprocessor
def _pull_language(endpoint: str | None, values: dict | None) -> None:
    # Read before the pop: ``values`` is the request's view_args itself.
    g.lang_from_url = bool(values) and "lang" in values
    g.lang = (values or {}).pop("lang", None) or languages.negotiate()


@bp.url_defaults
def _add_language(endpoint: str, values: dict) -> None:
    if "lang" not in values and current_app.url_map.is_endpoint_expecting(endpoint, "lang"):
        values["lang"] = languages.current()


@bp.after_app_request
def _remember_language(response: Response) -> Response:
    """Remember the language of a page the visitor read, for the addresses that carry none.

    Pages only: an image, a PDF or a redirect is not reading, and a cookie on it would keep
    the proxy from caching it (it caches nothing that sets a cookie).
    """
    lang = g.get("lang")
    page = response.mimetype == "text/html" and response.status_code < 300
    if page and g.get("lang_from_url") and request.cookies.get(languages.COOKIE) != lang:
        response.set_cookie(
            languages.COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
    return response


@bp.get("/")
def root() -> Response:
    """Send visitors to the default campaign in their language."""
    campaign = campaigns.default(db.session)
    if campaign is None:
        abort(404)
    response = redirect(url_for(".campaign", slug=campaign.slug))
    response.vary.update(("Accept-Language", "Cookie"))
    return response


@bp.get("/<lang:lang>/")
def home() -> Response:
    """The default campaign in the language the URL names."""
    campaign = campaigns.default(db.session)
    if campaign is None:
        abort(404)
    return redirect(url_for(".campaign", slug=campaign.slug))


@bp.route("/<lang:lang>/<slug>/", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
@post_limit(_sign_form_limit)
def campaign(slug: str) -> Response | str:
    """The campaign page; a POST signs it."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    form = _sign_form(campaign)
    if not form.is_submitted():
        form.via.data = request.args.get("via", "")[:32]
        return _campaign_page(campaign, form)
    if _switching_language():
        # The form as it was typed, in this page's language: nothing checked, nothing signed.
        return _campaign_page(campaign, form)
    if campaign.signing_paused or not form.validate():
        return _campaign_page(campaign, form, status=400 if form.errors else 503)

    outcome = signing.sign(
        db.session,
        campaign,
        signing.SignatureInput(
            name=form.name.data,
            email=form.email.data,
            country=form.country.data,
            city=form.city.data or "",
            organisation=form.organisation.data or "",
            comment=form.comment.data or "",
            display=Display(form.display.data),
            exclude_from_delivery=form.exclude_from_delivery.data,
            wants_updates=form.wants_updates.data,
            locale=g.lang,
            share_code=form.via.data or "",
            client_key=client_key(),
        ),
    )

    # The email is counted here, in the answer's own transaction, for a new signature and
    # a repeated one alike: both run the same statements and write before answering, and
    # what follows the answer writes nothing to the database for either.
    owed = confirming.claim_email(db.session, outcome.signature_id)
    notice = confirming.Notice(outcome.signature_id, repeated=not outcome.created)

    # The same answer whether or not the address had signed before; the country is the one
    # just typed in, so the thank-you page can point to its embassy without a look-up.
    answer = redirect(url_for(".thanks", slug=slug, country=form.country.data), code=303)
    # The signature is committed before the answer goes out; the email follows it. Whether
    # the address had signed decides whether an email is owed (the cap, an invalidated
    # signature), so sending or queueing it before answering would let the timing tell.
    return afterwards.send_after(answer, notice if owed else None)


def _sign_form(campaign: Campaign) -> SignForm:
    """The sign form of ``campaign``, holding what this request sent."""
    # In surge mode the page is shared through caches, so its form holds no session-bound
    # token; a POST is trusted on the shared form token and on the browser's word that it
    # comes from this site, else it falls back to the session token (see surge.py).
    shared_form = surge.enabled(campaign) and (
        request.method in ("GET", "HEAD") or surge.post_accepted(campaign)
    )
    form = SignForm(meta={"csrf": False}) if shared_form else SignForm()
    form.set_countries(g.lang)
    return form


def _signing_refused(retry_after: int | None) -> Response | None:
    """The campaign page again, with all that was typed, for a POST the signing limit refused.

    People behind one address (a meeting's Wi-Fi, a mobile network) share the limit: they
    are told to wait and press the button again, without typing anything anew. None when
    there is no such campaign.
    """
    if _switching_language():
        # Refused by the limit on switching, not on signing: the plain page, which holds
        # what was sent, ready to send again, says so.
        return None
    campaign = campaigns.by_slug(db.session, (request.view_args or {}).get("slug", ""))
    if campaign is None:
        return None
    form = _sign_form(campaign)
    return _campaign_page(campaign, form, status=429, refused_for=retry_after or 60)


REFUSED_FORMS["public.campaign"] = _signing_refused


def share_link_url(code: str) -> str:
    """The public address of the share link ``code`` in the current language."""
    return mail.absolute(url_for("public.short_link", code=code))


def _campaign_page(
    campaign: Campaign, form: SignForm, status: int = 200, refused_for: int | None = None
) -> Response:
    via = form.via.data or ""
    if via and signing.share_link_id(db.session, campaign.id, via) is None:
        via = ""
    response = make_response(
        render_template(
            "public/campaign.html",
            campaign=campaign,
            text=campaigns.text_for(campaign, g.lang),
            count=counting.confirmed_count(db.session, campaign.id),
            signers=campaigns.latest_public_signers(db.session, campaign.id),
            comments=moderation.approved_comments(db.session, campaign),
            removals=moderation.removals(db.session, campaign.id),
            form=form,
            surge_token=surge.form_token() if surge.enabled(campaign) else None,
            refused_for=refused_for,
            # Reached through a share link: a post on a social site names the page by its
            # og:url, and naming the link there keeps the link's credit (public/_meta.html).
            share_link_url=share_link_url(via) if via else None,
        ),
        status,
    )
    if surge.enabled(campaign) and not form.is_submitted():
        return surge.cacheable(response)
    # The form carries a token bound to this visitor's session: no shared cache may keep it.
    response.headers["Cache-Control"] = "private"
    return response


@bp.get("/<lang:lang>/<slug>/thanks")
def thanks(slug: str) -> Response:
    """After signing: check your inbox, and share."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    response = make_response(
        render_template(
            "public/thanks.html",
            campaign=campaign,
            text=campaigns.text_for(campaign, g.lang),
            count=counting.confirmed_count(db.session, campaign.id),
            embassy_entry=embassies.for_country(db.session, request.args.get("country"), g.lang),
        )
    )
    return surge.cacheable_for(campaign, response)


@bp.route("/<lang:lang>/<slug>/resend", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
@post_limit("RESEND")
def resend(slug: str):
    """Ask for the confirmation email again; the answer never says whether one was sent."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    form = ResendForm()
    text = campaigns.text_for(campaign, g.lang)
    if request.method == "POST":
        if not form.validate():
            return render_template(
                "public/resend.html", campaign=campaign, text=text, form=form
            ), 400
        key, campaign_id = signing.email_key(form.email.data), campaign.id

        def resend_if_signed() -> None:
            confirming.resend(db.session, campaign_id, key)

        # Answered before the look-up: the same page, in the same time, either way.
        page = make_response(
            render_template("public/resend.html", campaign=campaign, text=text, sent=True)
        )
        return afterwards.run_after(page, resend_if_signed)
    return render_template("public/resend.html", campaign=campaign, text=text, form=form)


@bp.route("/<lang:lang>/<slug>/receipt", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
@post_limit("RECEIPT")
def receipt(slug: str):
    """Look up a receipt code: only whether, to whom and when it was in a delivered pack."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    form = ReceiptForm()
    text = campaigns.text_for(campaign, g.lang)
    context = {"campaign": campaign, "text": text, "form": form}
    if request.method == "POST":
        if not form.validate():
            return render_template("public/receipt.html", **context), 400
        handovers = deliveries.receipt_deliveries(
            db.session, campaign.id, form.receipt.data, g.lang
        )
        return render_template("public/receipt.html", checked=True, handovers=handovers, **context)
    return render_template("public/receipt.html", **context)


@bp.route("/<lang:lang>/confirm", methods=["GET", "POST"])
@csrf.exempt  # checked by the form below, after the rate limit has counted the attempt
@post_limit("CONFIRM")
def confirm():
    """Show the confirmation button (GET); confirm the signature (POST).

    A POST for a signature already confirmed shows the confirmed page again, with the same
    receipt and share link: that is how its language switcher keeps them.
    """
    form = ConfirmForm()
    token = (form.token.data or "") if form.is_submitted() else request.args.get("token", "")
    try:
        signature = confirming.signature_for_token(db.session, token)
    except confirming.TokenError as error:
        return render_template("public/confirm_invalid.html", expired=error.expired), 400
    if not form.is_submitted():
        return _confirm_page(form, token, signature)
    if not form.validate():
        # The token is good, so what failed is the CSRF token: bound to a session the
        # browser no longer sends (a mail app's browser, a restored tab, cleared cookies).
        # The same button again, with a token of the session this answer starts.
        return _confirm_page(form, token, signature, session_expired=True), 400
    confirming.confirm(db.session, signature)
    if signature.status != SignatureStatus.CONFIRMED:
        # Taken out by a moderator before it was confirmed: nothing to thank anyone for.
        return render_template("public/confirm_invalid.html", refused=True), 400
    campaign = signature.campaign
    return render_template(
        "public/confirmed.html",
        campaign=campaign,
        text=campaigns.text_for(campaign, g.lang),
        signature=signature,
        count=counting.confirmed_count(db.session, campaign.id),
        share_link=sharing.personal_link(db.session, signature),
        embassy_entry=embassies.for_country(db.session, signature.country, g.lang),
        form=form,
    )


def _confirm_page(
    form: ConfirmForm, token: str, signature: Signature, session_expired: bool = False
) -> str:
    """The button that confirms ``signature``, or, once it is, that shows its receipt again."""
    form.token.data = token
    return render_template(
        "public/confirm.html",
        text=campaigns.text_for(signature.campaign, g.lang),
        form=form,
        already_confirmed=signature.status == SignatureStatus.CONFIRMED,
        session_expired=session_expired,
    )


@bp.route("/<lang:lang>/withdraw", methods=["GET", "POST"])
@csrf.exempt  # checked by the form below, after the rate limit has counted the attempt
@post_limit("CONFIRM")
def withdraw():
    """Ask (GET) and then withdraw a signature and erase its data (POST)."""
    form = ConfirmForm()
    token = (form.token.data or "") if form.is_submitted() else request.args.get("token", "")
    signature = erasure.signature_for_token(db.session, token)
    if signature is None:
        # Also the answer after a withdrawal: the link names nothing any more.
        return render_template("public/withdraw.html", gone=True), 404
    if not form.is_submitted():
        form.token.data = token
        text = campaigns.text_for(signature.campaign, g.lang)
        return render_template("public/withdraw.html", form=form, text=text)
    if not form.validate():
        abort(400)
    erasure.erase(db.session, signature)
    # Committed here rather than at the edge: the log checkpoint must follow the commit.
    db.session.commit()
    erasure.checkpoint(db.engine)
    return render_template("public/withdraw.html", done=True)


@bp.get("/<lang:lang>/privacy")
def privacy() -> str:
    """What is stored, why, for how long, who sees it."""
    return render_template(
        "public/privacy.html",
        pending_days=current_app.config["PENDING_MAX_AGE_DAYS"],
        retention_days=current_app.config["RETENTION_DAYS"],
        client_key_days=current_app.config["CLIENT_KEY_MAX_AGE_DAYS"],
    )


# The pages for spreading a campaign live in their own module, on this blueprint.
from campaign.public import outreach  # noqa: E402, F401
