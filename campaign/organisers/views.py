"""Organisers' pages: campaigns, dashboard, signatures and their moderation, comments, audit log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from campaign import (
    accounts,
    audit,
    campaigns,
    charts,
    counting,
    dashboard,
    languages,
    moderation,
    sharing,
)
from campaign.extensions import db
from campaign.models import Campaign, Signature, SignatureStatus, utcnow
from campaign.organisers import bp
from campaign.organisers.access import current_organiser, may_hand_over, require_organiser
from campaign.organisers.forms import (
    ActionForm,
    AuditFilterForm,
    InvalidateForm,
    RestoreForm,
    SignatureFilterForm,
    page_number,
)


def _all_campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id)))


@bp.get("/")
def index() -> Response | str:
    """Every campaign with its count and the languages its text lacks; picks one."""
    chosen = request.args.get("campaign", "")
    if chosen:
        return redirect(
            url_for(".campaign_dashboard", slug=campaigns.by_slug_or_404(db.session, chosen).slug)
        )
    rows = [
        (
            campaign,
            dashboard.status_counts(db.session, campaign.id),
            campaigns.missing_languages(campaign),
        )
        for campaign in _all_campaigns()
    ]
    return render_template("organisers/index.html", rows=rows)


@bp.get("/campaigns/<slug>/")
def campaign_dashboard(slug: str) -> str:
    """A campaign at a glance: counts, signatures per day, countries, links, surges."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    config = current_app.config
    now = utcnow()
    surge_hours = int(config["DASHBOARD_SURGE_HOURS"])
    per_day = dashboard.confirmed_per_day(
        db.session, campaign.id, int(config["DASHBOARD_DAYS"]), now.date()
    )
    return render_template(
        "organisers/dashboard.html",
        campaign=campaign,
        campaigns=_all_campaigns(),
        title=campaigns.text_for(campaign, languages.current()).title,
        counts=dashboard.status_counts(db.session, campaign.id),
        # The campaign page's count, for the same progress toward the goal.
        count=counting.confirmed_count(db.session, campaign.id),
        per_day=per_day,
        chart=charts.bars_per_day(per_day),
        countries=dashboard.by_country(db.session, campaign.id),
        share_links=sharing.leaderboard(db.session, campaign.id, limit=10),
        comments_waiting=moderation.count_comments_awaiting(db.session, campaign.id),
        surges=dashboard.surges(
            db.session,
            campaign.id,
            now,
            hours=surge_hours,
            per_address=int(config["DASHBOARD_SURGE_PER_ADDRESS"]),
            per_domain=int(config["DASHBOARD_SURGE_PER_DOMAIN"]),
            smallest_domain=_smallest_domain_shown(),
        ),
        surge_since=(now - timedelta(hours=surge_hours)).strftime("%Y-%m-%dT%H:%M"),
        missing=campaigns.missing_languages(campaign),
        switch_form=ActionForm(),
    )


def _as_utc(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None else None


def _smallest_domain_shown() -> int:
    """How many confirmed signatures must share an email domain for this organiser to see it.

    0 for those who may see addresses; for others, a domain that few share is neither
    shown nor found (moderation.Selection), as it may be one person's own.
    """
    if may_hand_over(current_organiser()):
        return 0
    return int(current_app.config["SHARE_STATS_SMALLEST"])


def _filters() -> tuple[SignatureFilterForm, moderation.Selection]:
    """The signature filter from the query string, and the selection it describes."""
    form = SignatureFilterForm(formdata=request.args)
    form.status.choices = [
        ("", _("Any")),
        (SignatureStatus.CONFIRMED.value, _("Confirmed")),
        (SignatureStatus.PENDING.value, _("Pending")),
        (SignatureStatus.INVALIDATED.value, _("Invalidated")),
    ]
    # Addresses are shown, and so searched, only to those who may hand data over; the
    # field says what it searches for this organiser.
    search_emails = may_hand_over(current_organiser())
    if not search_emails:
        form.search.label.text = _("Name or receipt contains")
    smallest = _smallest_domain_shown()
    if not form.validate():
        return form, moderation.Selection(domain_smallest=smallest)
    selection = moderation.Selection(
        domain=form.domain.data or "",
        client_key=form.address.data or "",
        since=_as_utc(form.since.data),
        until=_as_utc(form.until.data),
        status=form.status.data or "",
        search=form.search.data or "",
        search_emails=search_emails,
        domain_smallest=smallest,
    )
    return form, selection


def _filter_args() -> dict[str, str]:
    """The listing's filters as query arguments, to come back to the same list."""
    keep = ("domain", "address", "since", "until", "status", "search", "page")
    return {key: request.args[key] for key in keep if request.args.get(key)}


def _signatures_page(
    campaign: Campaign,
    *,
    invalidate_form: InvalidateForm | None = None,
    restore_form: RestoreForm | None = None,
    refused: bool = False,
    failed: int | str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    form, selection = _filters()
    page = page_number(form.page)
    return render_template(
        "organisers/signatures.html",
        campaign=campaign,
        form=form,
        selection=selection,
        listing=moderation.listing(db.session, campaign.id, selection, page=page),
        filter_args=_filter_args(),
        invalidate_form=invalidate_form or InvalidateForm(formdata=None),
        restore_form=restore_form or RestoreForm(formdata=None),
        refused=refused,
        failed=failed,
        reason_label=moderation.reason_label,
    ), status


@bp.get("/campaigns/<slug>/signatures")
def signatures(slug: str) -> tuple[str, int]:
    """Find signatures by address domain, address hash, time or text; act on them."""
    return _signatures_page(campaigns.by_slug_or_404(db.session, slug))


def _back(slug: str) -> Response:
    return redirect(url_for(".signatures", slug=slug, **_filter_args()), code=303)


def _signature_of(campaign: Campaign, signature_id: int) -> Signature:
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.campaign_id != campaign.id:
        abort(404)
    return signature


@bp.post("/campaigns/<slug>/signatures/<id:signature_id>/invalidate")
def invalidate_signature(slug: str, signature_id: int) -> Response | tuple[str, int]:
    """Take one signature out of the count, with a reason."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    signature = _signature_of(campaign, signature_id)
    form = InvalidateForm()
    if not form.validate():
        return _signatures_page(campaign, invalidate_form=form, failed=signature.id, status=400)
    if moderation.invalidate(
        db.session, require_organiser(), signature, moderation.InvalidReason(form.reason.data)
    ):
        flash(_("The signature was invalidated."))
    return _back(slug)


@bp.post("/campaigns/<slug>/signatures/<id:signature_id>/restore")
def restore_signature(slug: str, signature_id: int) -> Response | tuple[str, int]:
    """Put one invalidated signature back, with a reason."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    signature = _signature_of(campaign, signature_id)
    form = RestoreForm()
    if not form.validate():
        return _signatures_page(campaign, restore_form=form, failed=signature.id, status=400)
    if moderation.restore(
        db.session, require_organiser(), signature, moderation.RestoreReason(form.reason.data)
    ):
        flash(_("The signature was restored."))
    return _back(slug)


@bp.post("/campaigns/<slug>/signatures/invalidate")
def invalidate_matching(slug: str) -> Response | tuple[str, int]:
    """Invalidate every signature the listing's filter matches; refused without a condition."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    filters, selection = _filters()
    form = InvalidateForm()
    if filters.errors or not selection.has_condition():
        return _signatures_page(campaign, refused=True, status=400)
    if not form.validate():
        return _signatures_page(campaign, invalidate_form=form, failed="bulk", status=400)
    changed = moderation.invalidate_matching(
        db.session,
        require_organiser(),
        campaign.id,
        selection,
        moderation.InvalidReason(form.reason.data),
    )
    flash(
        ngettext(
            "%(num)d signature was invalidated.", "%(num)d signatures were invalidated.", changed
        )
    )
    return _back(slug)


@bp.post("/campaigns/<slug>/signatures/restore")
def restore_matching(slug: str) -> Response | tuple[str, int]:
    """Restore every invalidated signature the listing's filter matches."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    filters, selection = _filters()
    form = RestoreForm()
    if filters.errors or not selection.has_condition():
        return _signatures_page(campaign, refused=True, status=400)
    if not form.validate():
        return _signatures_page(campaign, restore_form=form, failed="bulk", status=400)
    changed = moderation.restore_matching(
        db.session,
        require_organiser(),
        campaign.id,
        selection,
        moderation.RestoreReason(form.reason.data),
    )
    flash(ngettext("%(num)d signature was restored.", "%(num)d signatures were restored.", changed))
    return _back(slug)


@bp.get("/campaigns/<slug>/comments")
def comments(slug: str) -> str:
    """Comments waiting for a decision."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    return render_template(
        "organisers/comments.html",
        campaign=campaign,
        waiting=moderation.comments_awaiting(db.session, campaign.id),
        total=moderation.count_comments_awaiting(db.session, campaign.id),
        form=ActionForm(),
    )


@bp.post("/campaigns/<slug>/comments/<id:signature_id>/<any(approve, reject):decision>")
def decide_comment(slug: str, signature_id: int, decision: str) -> Response:
    """Approve a comment for the campaign page, or reject it."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    signature = _signature_of(campaign, signature_id)
    if not ActionForm().validate():
        abort(400)
    approve = decision == "approve"
    if moderation.decide_comment(db.session, require_organiser(), signature, approve):
        flash(_("The comment was approved.") if approve else _("The comment was rejected."))
    return redirect(url_for(".comments", slug=slug), code=303)


@bp.get("/audit")
def audit_log() -> str:
    """The audit log, newest first, filtered by action, organiser and date."""
    form = AuditFilterForm(formdata=request.args)
    people = accounts.every(db.session)
    form.action.choices = [("", _("Any"))] + [
        (a, audit.label(a)) for a in audit.actions(db.session)
    ]
    form.organiser.choices = [("", _("Anyone"))] + [(str(o.id), o.email) for o in people]
    what = audit.AuditFilter()
    if form.validate():
        what = audit.AuditFilter(
            action=form.action.data or "",
            organiser_id=int(form.organiser.data) if form.organiser.data else None,
            since=form.since.data,
            until=form.until.data,
        )
    log = audit.entries(db.session, what, page=page_number(form.page))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "organisers/audit.html",
        form=form,
        log=log,
        campaigns={c.id: c.slug for c in _all_campaigns()},
        filter_args=args,
        action_label=audit.label,
        detail_items=audit.detail_items,
    )
