"""Fax documents: the TIFF Asterisk's ReceiveFAX writes, made into a PDF agents can open."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from struct import error as StructError

from PIL import Image, ImageSequence, UnidentifiedImageError

log = logging.getLogger(__name__)

UNREADABLE = (OSError, ValueError, EOFError, TypeError, KeyError, SyntaxError, StructError)
"""What Pillow raises on a damaged TIFF (a fax cut off mid-transfer), depending on where."""
FAX_DPI = (204.0, 196.0)
"""Fine resolution, assumed when the TIFF does not say (standard resolution is 204 x 98)."""


def tiff_to_pdf(source: Path, target: Path) -> int:
    """Write every readable page of a fax TIFF into one PDF and return the page count.

    A fax that broke off mid-page leaves a TIFF whose last page cannot be decoded: the pages
    before it are kept. Fax resolutions are not square (204 x 98 dpi in standard mode), so each
    page keeps its own horizontal and vertical resolution and prints at its true size.

    Returns:
        The number of pages written; 0 (and no file) when the TIFF is missing, empty or holds
        no readable page.
    """
    try:
        if source.stat().st_size == 0:
            return 0
        image = Image.open(source)
    except (UnidentifiedImageError, *UNREADABLE) as exc:
        log.warning("fax document %s cannot be read: %s", source.name, exc)
        return 0
    pages: list[Image.Image] = []
    resolutions: list[tuple[float, float]] = []
    with image:
        try:
            for frame in ImageSequence.Iterator(image):
                frame.load()
                page = frame.convert("1") if frame.mode not in ("1", "L", "RGB") else frame.copy()
                pages.append(page)
                dpi = frame.info.get("dpi") or FAX_DPI
                resolutions.append((float(dpi[0]) or FAX_DPI[0], float(dpi[1]) or FAX_DPI[1]))
        except UNREADABLE as exc:
            log.warning(
                "fax document %s: page %d unreadable (%s)", source.name, len(pages) + 1, exc
            )
    if not pages:
        return 0
    partial = target.with_name(target.name + ".partial")
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Pillow takes one resolution for the whole document: pages of one fax share it.
        pages[0].save(
            partial, format="PDF", save_all=True, append_images=pages[1:], dpi=resolutions[0]
        )
        os.chmod(partial, 0o640)
        partial.rename(target)
    finally:
        partial.unlink(missing_ok=True)
    return len(pages)
