"""A restaurant's brand colour on the guest pages: read as #rrggbb, with the text colour on it
that keeps WCAG AA contrast (4.5:1)."""

from __future__ import annotations

import re

_HEX = re.compile(r"#[0-9a-fA-F]{6}")
WHITE = "#ffffff"
BLACK = "#000000"
# The guest pages' colour when the restaurant chose none: white text on it passes AA.
DEFAULT_BRAND = "#1f5f8b"


class ColourError(ValueError):
    pass


def parse_colour(text: str | None) -> str | None:
    """'#1F5F8B' or '1f5f8b' -> '#1f5f8b'; None for blank; ColourError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    if not text.startswith("#"):
        text = "#" + text
    if not _HEX.fullmatch(text):
        raise ColourError("enter a colour as # and six hex digits, e.g. #1f5f8b")
    return text.lower()


def relative_luminance(colour: str) -> float:
    """WCAG 2.1's relative luminance of a #rrggbb colour: 0 (black) to 1 (white)."""
    channels = []
    for start in (1, 3, 5):
        value = int(colour[start : start + 2], 16) / 255
        channels.append(value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4)
    red, green, blue = channels
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def text_colour_on(background: str) -> str:
    """White or black, whichever contrasts more with `background`; one of them always reaches
    4.5:1 (the worst case, where both are equal, is about 4.58:1)."""
    return (
        WHITE if contrast_ratio(background, WHITE) >= contrast_ratio(background, BLACK) else BLACK
    )
