"""QR labels for equipment: each code holds the address of the item's page, so scanning
it with any phone camera opens the record (after signing in)."""

from __future__ import annotations

import segno
from markupsafe import Markup

MAX_LABELS = 600  # on one printed sheet request


def qr_svg(address: str) -> Markup:
    """``address`` as an inline SVG QR code (medium error correction, so a scuffed label
    still scans), sized by its container."""
    return Markup(segno.make(address, error="m", micro=False).svg_inline(border=2, omitsize=True))
