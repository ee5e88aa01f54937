"""Choosing the language of a request: URL, then saved choice, then Accept-Language."""

from __future__ import annotations

from flask import current_app, g, request
from werkzeug.routing import BaseConverter

COOKIE = "lang"


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
    return lang or negotiate()
