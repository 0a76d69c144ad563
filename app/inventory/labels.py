"""QR labels for equipment: each code holds the address of the item's page, so scanning
it with any phone camera opens the record (after signing in)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from urllib.parse import urlsplit

import segno
from flask import current_app, request
from markupsafe import Markup

MAX_LABELS = 300  # in one request: about 13 A4 pages, a few seconds of work at most


@lru_cache(maxsize=2048)
def qr_svg(address: str) -> Markup:
    """``address`` as an inline SVG QR code (medium error correction, so a scuffed label
    still scans), sized by its container. Kept for reprints of the same labels."""
    svg = segno.make(address, error="m", micro=False).svg_inline(border=2, omitsize=True)
    return Markup(svg)  # nosec B704: segno draws the modules as paths, no text of the address


def public_base() -> str:
    """Where label codes point: PUBLIC_URL, else the address this page was opened at."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def only_this_computer(base: str) -> bool:
    """Whether ``base`` names this computer itself (localhost), which no phone can open."""
    host = urlsplit(base).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
