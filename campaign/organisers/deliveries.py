"""Organisers' pages for signature lists, delivery packs, recorded deliveries and paper."""

from __future__ import annotations

from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from campaign import campaigns, deliveries, downloads, languages, paper
from campaign.deliveries import parse_cutoff
from campaign.extensions import csrf, db
from campaign.models import Campaign, Delivery
from campaign.organisers import bp
from campaign.organisers.access import require_organiser
from campaign.organisers.delivery_forms import (
    EVERY_EMBASSY,
    DeliveryForm,
    ExportForm,
    PackForm,
    PaperImportForm,
    PaperUploadForm,
    embassy_label,
    embassy_order,
    export_format_label,
)


def _send(download: downloads.Download) -> Response:
    """The download as an attachment: streamed as it is written, or from its file."""
    if download.chunks is not None:
        # content_type, not mimetype: Werkzeug would add a second charset to text/csv.
        response = Response(stream_with_context(download.chunks), content_type=download.mimetype)
        response.headers.set("Content-Disposition", "attachment", filename=download.filename)
        return response
    return send_file(
        download.file,
        mimetype=download.mimetype,
        as_attachment=True,
        download_name=download.filename,
        max_age=0,
    )


def _pack_form(embassies: list[Any]) -> PackForm:
    form = PackForm()
    form.set_embassies(embassies, every=True)
    if not form.is_submitted():
        form.language.data = languages.current()
    return form


def _deliveries_page(campaign: Campaign, pack_form: PackForm, status: int = 200):
    overview = deliveries.overview(db.session, campaign)
    # In the order of the forms' embassy lists: by host country, in the page's language.
    order = embassy_order(languages.current())
    overview.embassies.sort(key=lambda row: order(row.recipient.embassy))
    return (
        render_template(
            "organisers/deliveries.html",
            campaign=campaign,
            overview=overview,
            pack_form=pack_form,
            bodies=deliveries.body_names(db.session, campaign.id),
            language=languages.current(),
            format_label=export_format_label,
        ),
        status,
    )


@bp.get("/campaigns/<slug>/deliveries")
def deliveries_page(slug: str):
    """Per embassy and body: what was delivered, what waits; packs to download."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    return _deliveries_page(campaign, _pack_form(deliveries.embassies(db.session)))


@bp.post("/campaigns/<slug>/packs")
@csrf.exempt  # the form checks its own token, so a stale one keeps what was chosen
def pack_download(slug: str):
    """A PDF pack for one embassy or body, or a zip with one pack per embassy."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    embassies = deliveries.embassies(db.session)
    form = _pack_form(embassies)
    if not form.validate():
        return _deliveries_page(campaign, form, status=400)
    every = form.embassy.data == EVERY_EMBASSY
    try:
        download = downloads.pack(
            db.session,
            campaign,
            downloads.PackRequest(
                language=form.language.data,
                embassy=None if every else _embassy(form.embassy.data),
                body=form.body.data or "",
                every_embassy=every,
                new_only=form.new_only.data,
                cutoff=parse_cutoff(form.cutoff.data),
            ),
            require_organiser(),
        )
    except downloads.NothingToDeliver:
        # Rather than a letter about no signature, or an empty zip.
        form.embassy.errors.append(_("No signature to deliver with this choice: no pack was made."))
        return _deliveries_page(campaign, form, status=400)
    return _send(download)


def _embassy(key: str | None):
    if not key:
        return None
    embassy = deliveries.embassy_by_key(db.session, key)
    if embassy is None:
        abort(400)
    return embassy


@bp.route("/campaigns/<slug>/deliveries/record", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
def delivery_record(slug: str):
    """Record a hand-over; the rows are read again, counted, hashed and remembered."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    form = DeliveryForm()
    form.set_embassies(deliveries.embassies(db.session))
    if not form.is_submitted():
        form.embassy.data = request.args.get("embassy", "")
        form.body.data = request.args.get("body", "")
        form.new_only.data = request.args.get("new_only") == "1"
        return _record_page(campaign, form)
    if not form.validate():
        return _record_page(campaign, form, status=400)
    embassy = _embassy(form.embassy.data)
    recipient = (
        deliveries.Recipient(embassy=embassy)
        if embassy is not None
        else deliveries.Recipient(body=form.body.data)
    )
    try:
        delivery = deliveries.record(
            db.session,
            campaign,
            deliveries.DeliveryInput(
                recipient=recipient,
                delivered_on=form.delivered_on.data,
                cutoff=parse_cutoff(form.cutoff.data),
                new_only=form.new_only.data,
                method=form.method.data or "",
                export_format=form.export_format.data,
                notes=form.notes.data or "",
                expected_hash=form.rows_hash.data or "",
            ),
            require_organiser(),
        )
    except deliveries.HashMismatch as mismatch:
        form.rows_hash.errors.append(
            _(
                "These rows no longer match the manifest: they hash to %(found)s "
                "(%(count)d rows). Check the cutoff and the scope, or make the pack again.",
                found=mismatch.found,
                count=mismatch.count,
            )
        )
        return _record_page(campaign, form, status=400)
    flash(
        _(
            "Delivery to %(recipient)s recorded: %(count)d signatures, rows hash %(hash)s.",
            recipient=embassy_label(embassy) if embassy is not None else recipient.label,
            count=delivery.row_count,
            hash=delivery.rows_hash,
        )
    )
    return redirect(url_for(".deliveries_page", slug=campaign.slug), code=303)


def _record_page(campaign: Campaign, form: DeliveryForm, status: int = 200):
    return (
        render_template(
            "organisers/delivery_record.html",
            campaign=campaign,
            form=form,
            bodies=deliveries.body_names(db.session, campaign.id),
        ),
        status,
    )


@bp.post("/campaigns/<slug>/deliveries/<id:delivery_id>/pack")
def delivery_pack(slug: str, delivery_id: int):
    """The pack of a recorded delivery, made again from exactly what it held."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.campaign_id != campaign.id:
        abort(404)
    language = request.form.get("language", "")
    if language not in current_app.config["LANGUAGES"]:
        language = languages.current()
    return _send(
        downloads.delivery_pack(db.session, campaign, delivery, language, require_organiser())
    )


@bp.route("/campaigns/<slug>/export", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
def export_signatures(slug: str):
    """A list of signatures as CSV (streamed) or XLSX, filtered; always audited."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    form = ExportForm()
    form.set_embassies(deliveries.embassies(db.session))
    form.set_countries(languages.current())
    if not form.is_submitted():
        return _export_page(campaign, form)
    if not form.validate():
        return _export_page(campaign, form, status=400)
    download = downloads.signature_list(
        db.session,
        campaign,
        downloads.ListRequest(
            format=form.format.data,
            for_delivery=form.purpose.data == "delivery",
            embassy=_embassy(form.embassy.data),
            body=form.body.data or "",
            country=form.country.data or "",
            since=form.since.data,
            until=form.until.data,
            new_only=form.new_only.data,
            with_emails=form.with_emails.data,
            excel=form.excel.data,
        ),
        require_organiser(),
    )
    return _send(download)


def _export_page(campaign: Campaign, form: ExportForm, status: int = 200):
    return (
        render_template(
            "organisers/export.html",
            campaign=campaign,
            form=form,
            bodies=deliveries.body_names(db.session, campaign.id),
        ),
        status,
    )


def _allow_paper_files() -> None:
    """Let this request carry a file of paper signatures, larger than other forms."""
    limit = int(current_app.config["PAPER_IMPORT_MAX_BYTES"])
    # Room for the form around the file, and for the sealed copy posted back.
    request.max_content_length = 2 * limit + 64 * 1024
    request.max_form_memory_size = 2 * limit + 64 * 1024


@bp.route("/campaigns/<slug>/paper", methods=["GET", "POST"])
@csrf.exempt  # checked by the form itself, once the larger size limit is in place
def paper_upload(slug: str):
    """Upload a CSV of paper signatures and see what an import would do."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    organiser = require_organiser()
    if request.method == "POST":
        _allow_paper_files()
    form = PaperUploadForm()
    if not form.is_submitted():
        return _paper_page(campaign, form)
    if not form.validate():
        return _paper_page(campaign, form, status=400)
    limit = int(current_app.config["PAPER_IMPORT_MAX_BYTES"])
    data = form.file.data.read(limit + 1)
    if len(data) > limit:
        form.file.errors.append(_("The file is larger than %(size)d kB.", size=limit // 1024))
        return _paper_page(campaign, form, status=400)
    text = paper.decode(data)
    if text is None:
        form.file.errors.append(_("The file is not UTF-8 text. Save it as “CSV UTF-8”."))
        return _paper_page(campaign, form, status=400)
    result = paper.check(
        db.session, campaign, text, max_rows=int(current_app.config["PAPER_IMPORT_MAX_ROWS"])
    )
    if result.problem:
        form.file.errors.append(result.problem)
        return _paper_page(campaign, form, status=400)
    confirm = PaperImportForm()
    confirm.sealed.data = paper.seal(text, campaign.id, organiser.id)
    return _paper_page(campaign, form, result=result, confirm=confirm)


def _paper_page(campaign: Campaign, form: PaperUploadForm, status: int = 200, **context: Any):
    return (
        render_template(
            "organisers/paper.html",
            campaign=campaign,
            form=form,
            max_rows=int(current_app.config["PAPER_IMPORT_MAX_ROWS"]),
            **context,
        ),
        status,
    )


@bp.post("/campaigns/<slug>/paper/import")
@csrf.exempt  # checked by the form itself, once the larger size limit is in place
def paper_import(slug: str):
    """Import the checked file: its new, valid rows become confirmed paper signatures."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    organiser = require_organiser()
    _allow_paper_files()
    form = PaperImportForm()
    text = None
    if form.validate():
        text = paper.unseal(
            form.sealed.data,
            campaign.id,
            organiser.id,
            max_age=int(current_app.config["PAPER_IMPORT_MAX_AGE"]),
        )
    if text is None:
        upload = PaperUploadForm(formdata=None)
        upload.file.errors = [
            _("The checked file has expired or was changed. Please check it again.")
        ]
        return _paper_page(campaign, upload, status=400)
    try:
        outcome = paper.import_rows(
            db.session,
            campaign,
            text,
            organiser,
            max_rows=int(current_app.config["PAPER_IMPORT_MAX_ROWS"]),
        )
    except ValueError:
        abort(400)
    flash(
        _(
            "Paper signatures imported: %(imported)d. Left out: duplicates "
            "%(duplicates)d, rows with errors %(rejected)d.",
            imported=outcome.imported,
            duplicates=outcome.duplicates,
            rejected=outcome.rejected,
        )
    )
    return redirect(url_for(".paper_upload", slug=campaign.slug), code=303)
