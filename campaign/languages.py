"""Choosing the language of a request: URL, then saved choice, then Accept-Language.

The public pages name their language in the path (/ru/...). The organisers' pages have no
language in theirs: their switcher names one in the query (?lang=ru), which is then
remembered as a public page's language is, so the organiser stays on the same page.
"""

from __future__ import annotations

from babel import Locale, UnknownLocaleError
from flask import current_app, g, request, url_for
from markupsafe import Markup
from werkzeug.routing import BaseConverter

COOKIE = "lang"
# Where the organisers' switcher names the language (templates/organisers/_layout.html).
QUERY = "lang"


def converter(languages: tuple[str, ...]) -> type[BaseConverter]:
    """A URL converter matching only the site's languages."""
    return type("LanguageConverter", (BaseConverter,), {"regex": "|".join(languages)})


def negotiate() -> str:
    """The language for a request whose URL names none."""
    languages = current_app.config["LANGUAGES"]
    saved = request.cookies.get(COOKIE)
    if saved in languages:
        return saved
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def current() -> str:
    """The language of the current request (the Flask-Babel locale selector)."""
    lang = getattr(g, "lang", None)
    if lang:
        return lang
    chosen = request.args.get(QUERY)
    if request.blueprint == "organisers" and chosen in current_app.config["LANGUAGES"]:
        # Marked as named by the address, so the public blueprint's after-request hook
        # saves it in the cookie, and the organiser's next pages keep it.
        g.lang, g.lang_from_url = chosen, True
        return chosen
    prefix = request.path.split("/", 2)[1]
    if prefix in current_app.config["LANGUAGES"]:
        # An address in a language that matched no page: its error page is in that language.
        return prefix
    return negotiate()


def _page_url(lang: str) -> str | None:
    """The absolute address of the current public page in ``lang``, without its query."""
    rule = request.url_rule
    if rule is None or "lang" not in rule.arguments or request.blueprint != "public":
        return None
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + url_for(request.endpoint or "", **dict(request.view_args or {}, lang=lang))


def canonical_url() -> str | None:
    """The current public page's own address, without its query, for rel=canonical.

    It is also og:url, except on a campaign page reached through a share link, whose og:url
    is that link (templates/public/_meta.html), so that a post keeps the link's credit.
    """
    return _page_url(current())


def alternates() -> list[tuple[str, str]]:
    """(hreflang, address) of the current public page in every language, then x-default."""
    links = [(lang, _page_url(lang)) for lang in current_app.config["LANGUAGES"]]
    found = [(lang, url) for lang, url in links if url]
    if not found:
        return []
    if request.endpoint == "public.home":
        # The root chooses the reader's language itself.
        default = current_app.config["BASE_URL"].rstrip("/") + url_for("public.root")
    else:
        default = dict(found)[current_app.config["BABEL_DEFAULT_LOCALE"]]
    return [*found, ("x-default", default)]


def name(code: str) -> str:
    """The name of the language ``code`` in the reader's language, e.g. "английский"."""
    try:
        return Locale.parse(code).get_language_name(current()) or code
    except (ValueError, UnknownLocaleError):
        return code


def lang_attr(locale: str) -> Markup:
    """A lang attribute for content shown in another language than the page (a fallback)."""
    if locale == current():
        return Markup("")
    return Markup(' lang="%s"') % locale
