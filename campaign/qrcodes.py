"""QR codes of campaign and share-link addresses, as SVG for print and PNG for everything else."""

from __future__ import annotations

import io

import segno

# Error correction "M" survives a crease or a smudge on a flyer and keeps the code small.
_ERROR = "m"


def svg(url: str) -> bytes:
    """The QR code of ``url`` as a standalone SVG document."""
    out = io.BytesIO()
    segno.make(url, error=_ERROR, micro=False).save(
        out, kind="svg", scale=10, border=4, xmldecl=True, title=url
    )
    return out.getvalue()


def png(url: str, scale: int = 10) -> bytes:
    """The QR code of ``url`` as a PNG, ``scale`` pixels per module."""
    out = io.BytesIO()
    segno.make(url, error=_ERROR, micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
