"""QR codes (segno, SVG) of a coupon's code for the till, and of the join page for the tables."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup, escape


def qr_inline(text: str, label: str) -> Markup:
    """An inline <svg> of `text`, named `label` for screen readers; dark on a white square with
    the quiet zone scanners need, so it reads on any page colour."""
    svg = segno.make(text, error="m").svg_inline(
        scale=4, svgclass="qr", lineclass=None, omitsize=True, light="#fff"
    )
    # segno's markup (paths of numbers) and the escaped label: nothing a guest typed unescaped.
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1))


def qr_document(text: str, title: str) -> bytes:
    """A standalone SVG file of `text`, large enough to print for a table."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="svg", scale=10, title=title, light="#fff")
    return buffer.getvalue()
