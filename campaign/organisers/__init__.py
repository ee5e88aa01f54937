"""Organisers' pages: sign-in, dashboard, moderation, exports, deliveries, switches."""

from flask import Blueprint

bp = Blueprint("organisers", __name__, url_prefix="/organisers")
