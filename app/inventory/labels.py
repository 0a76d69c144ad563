"""QR labels for equipment: each code holds the address of the item's page, so scanning
it with any phone camera opens the record (after signing in)."""

from __future__ import annotations

from functools import lru_cache

import segno
from markupsafe import Markup

MAX_LABELS = 300  # in one request: about 13 A4 pages, a few seconds of work at most


@lru_cache(maxsize=2048)
def qr_svg(address: str) -> Markup:
    """``address`` as an inline SVG QR code (medium error correction, so a scuffed label
    still scans), sized by its container. Kept for reprints of the same labels."""
    return Markup(segno.make(address, error="m", micro=False).svg_inline(border=2, omitsize=True))
