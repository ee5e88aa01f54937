"""Supporters' pages for spreading a campaign: share links and their stats, previews, QR codes,
flyers, the embed code and the embassy directory."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, g, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_translations
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from campaign import (
    campaigns,
    counting,
    embassies,
    flyers,
    mail,
    previews,
    qrcodes,
    sharing,
)
from campaign.extensions import csrf, db
from campaign.headers import shared_image
from campaign.models import Campaign, ShareLink
from campaign.public.forms import LinkForm
from campaign.public.views import REFUSED_FORMS, bp, post_limit, share_link_url

_QR_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _link_or_404(code: str) -> ShareLink:
    link = sharing.by_code(db.session, code)
    if link is None:
        abort(404)
    return link


def campaign_url(campaign: Campaign) -> str:
    """The public address of a campaign in the current language."""
    return mail.absolute(url_for("public.campaign", slug=campaign.slug))


def _private(response: Response) -> Response:
    # Pages reached through a secret address: no cache may keep them, no search engine list them.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


@bp.get("/<lang:lang>/s/<code>")
def short_link(code: str) -> Response:
    """A share link: the campaign page, with signatures credited to the link."""
    link = _link_or_404(code)
    campaign = db.session.get(Campaign, link.campaign_id)
    if campaign is None:
        abort(404)
    return redirect(url_for("public.campaign", slug=campaign.slug, via=link.code))


@bp.route("/<lang:lang>/<slug>/links", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so a stale one keeps what was typed
@post_limit("LINKS")
def new_link(slug: str) -> Response | tuple[str, int] | str:
    """A public form that makes a named share link for a group or union branch."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    text = campaigns.text_for(campaign, g.lang)
    form = LinkForm()
    if request.method == "POST":
        if not form.validate():
            page = render_template("public/link_new.html", campaign=campaign, text=text, form=form)
            return page, 400
        link = sharing.create_named(db.session, campaign, form.label.data or "")
        return redirect(url_for("public.link_stats", key=link.stats_key), code=303)
    return render_template("public/link_new.html", campaign=campaign, text=text, form=form)


def _link_refused(retry_after: int | None) -> Response | None:
    """The link form again, with the name that was typed, for a POST the links limit refused.

    A union meeting on one Wi-Fi shares the limit: the eleventh branch is told how long to
    wait and presses the button again without typing anything anew. None when there is no
    such campaign.
    """
    campaign = campaigns.by_slug(db.session, (request.view_args or {}).get("slug", ""))
    if campaign is None:
        return None
    page = render_template(
        "public/link_new.html",
        campaign=campaign,
        text=campaigns.text_for(campaign, g.lang),
        form=LinkForm(),
        refused_for=retry_after or 60,
    )
    return make_response(page, 429)


REFUSED_FORMS["public.new_link"] = _link_refused


@bp.get("/<lang:lang>/links")
def link_stats() -> Response:
    """A link's private page: the link to share and what it brought in, nothing personal."""
    link = sharing.by_stats_key(db.session, request.args.get("key", "")[:64])
    if link is None:
        abort(404)
    campaign = db.session.get(Campaign, link.campaign_id)
    if campaign is None:
        abort(404)
    return _private(
        make_response(
            render_template(
                "public/link_stats.html",
                campaign=campaign,
                text=campaigns.text_for(campaign, g.lang),
                link=link,
                link_url=share_link_url(link.code),
                stats=sharing.stats(db.session, link, current_app.config["SHARE_STATS_SMALLEST"]),
                embed_src=_embed_src(campaign, link.code),
            )
        )
    )


@bp.get("/<lang:lang>/<slug>/preview.png")
def preview(slug: str) -> Response:
    """The campaign's link-preview image: title, count and progress, in the page's language."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    max_age = int(current_app.config["PREVIEW_REFRESH"])

    def words() -> previews.PreviewText:
        text = campaigns.text_for(campaign, g.lang)
        count = counting.confirmed_count(db.session, campaign.id)
        return previews.PreviewText(
            title=text.title,
            # Flask-Babel's ngettext would format the number itself, without digit groups.
            count=get_translations().ngettext("%(num)s signature", "%(num)s signatures", count)
            % {"num": format_decimal(count)},
            # The goal is the organisers' own, not a figure from the campaign's sources.
            goal=_("Goal set by the organisers: %(num)s", num=format_decimal(campaign.goal)),
            fraction=count / campaign.goal if campaign.goal else 0.0,
            site=urlsplit(current_app.config["BASE_URL"]).netloc,
        )

    png = previews.cache_for(current_app).get(campaign.id, g.lang, max_age, words)
    response = make_response(png)
    shared_image(response)
    response.mimetype = "image/png"
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _qr_response(url: str, kind: str, name: str) -> Response:
    if kind not in _QR_TYPES:
        abort(404)
    body = qrcodes.svg(url) if kind == "svg" else qrcodes.png(url)
    response = make_response(body)
    response.mimetype = _QR_TYPES[kind]
    response.headers["Content-Disposition"] = f'inline; filename="{name}.{kind}"'
    response.headers["Cache-Control"] = "public, max-age=86400"
    return shared_image(response)


@bp.get("/<lang:lang>/<slug>/qr.<kind>")
def campaign_qr(slug: str, kind: str) -> Response:
    """The QR code of the campaign's address in the page's language (SVG or PNG)."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    return _qr_response(campaign_url(campaign), kind, f"{campaign.slug}-qr-{g.lang}")


@bp.get("/<lang:lang>/s/<code>/qr.<kind>")
def link_qr(code: str, kind: str) -> Response:
    """The QR code of a share link (SVG or PNG)."""
    link = _link_or_404(code)
    campaign = db.session.get(Campaign, link.campaign_id)
    if campaign is None:
        abort(404)
    name = f"{_link_file_stem(campaign, link)}-qr-{g.lang}"
    return _qr_response(share_link_url(link.code), kind, name)


def _link_file_stem(campaign: Campaign, link: ShareLink) -> str:
    """The start of a share link's file names, its campaign and code: zhanaozen-link-<code>."""
    # Codes are URL-safe base64 (letters, digits, - and _), safe inside a quoted file name.
    return f"{campaign.slug}-link-{link.code}"


def _flyer_response(campaign: Campaign, url: str, name: str) -> Response:
    text = campaigns.text_for(campaign, g.lang)
    pdf = flyers.render(
        flyers.FlyerText(
            lang=text.locale,
            title=text.title,
            summary=text.summary,
            addressed_to=text.addressed_to,
            demands=list(text.demands),
            url=url,
            demands_heading=_("Our demands"),
            to_label=_("To:"),
            # The source names no addressee: as on the campaign page, say who chose them.
            to_note=_("(chosen by the campaign's organisers)"),
            scan_label=_("Scan the code to sign the petition"),
            sign_at_label=_("Or sign at:"),
        )
    )
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{name}.pdf"'
    return response


@bp.get("/<lang:lang>/<slug>/flyer.pdf")
def flyer(slug: str) -> Response:
    """A printable A4 flyer of the campaign in the page's language."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    response = _flyer_response(campaign, campaign_url(campaign), f"{campaign.slug}-{g.lang}")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/<lang:lang>/s/<code>/flyer.pdf")
def link_flyer(code: str) -> Response:
    """A flyer whose QR code is a share link, so what it brings is credited to the link."""
    link = _link_or_404(code)
    campaign = db.session.get(Campaign, link.campaign_id)
    if campaign is None:
        abort(404)
    name = f"{_link_file_stem(campaign, link)}-{g.lang}"
    return _flyer_response(campaign, share_link_url(link.code), name)


def _embed_src(campaign: Campaign, code: str | None = None) -> str:
    """The address allied sites put in their iframe."""
    args = {"via": code} if code else {}
    return mail.absolute(url_for("embed.widget", lang=g.lang, slug=campaign.slug, **args))


@bp.get("/<lang:lang>/<slug>/embed")
def embed_code(slug: str) -> str:
    """The iframe snippet an allied site copies to show the petition."""
    campaign = campaigns.by_slug_or_404(db.session, slug)
    ancestors = current_app.config["EMBED_FRAME_ANCESTORS"].split()
    return render_template(
        "public/embed_code.html",
        campaign=campaign,
        text=campaigns.text_for(campaign, g.lang),
        embed_src=_embed_src(campaign),
        allowed_sites=[site for site in ancestors if not site.startswith("'")],
    )


@bp.get("/<lang:lang>/embassies/")
def embassy_directory() -> str:
    """Kazakhstan's embassies by country, for protests and deliveries."""
    return render_template(
        "public/embassies.html",
        entries=embassies.directory(db.session, g.lang),
        chosen=request.args.get("country", "")[:2].upper(),
    )
