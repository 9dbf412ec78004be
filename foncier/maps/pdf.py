"""Print a map page (a site sheet, a comparison) to PDF with headless Chromium.

The page is opened from disk (an offline page: nothing from the network), its ``window.foncierReady`` flag
awaited, then printed with the page's print stylesheet (A4, see ``static/print.css``) and background
colours kept (score colours, the synthetic banner). Chromium is Debian's ``/usr/bin/chromium`` (or
``FONCIER_CHROMIUM``) driven by playwright, never a downloaded browser.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from foncier.errors import DataFormatError

logger = logging.getLogger(__name__)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> Path:
    """The Chromium used for printing (``FONCIER_CHROMIUM`` or Debian's)."""
    return Path(os.environ.get("FONCIER_CHROMIUM", CHROMIUM))


def _capture(func: Callable[[], None], failure: list[BaseException]) -> None:
    try:
        func()
    except BaseException as exc:  # handed to the calling thread
        failure.append(exc)


def print_pdf(html: Path, pdf: Path, *, timeout_ms: int = 30_000) -> Path:
    """Print the HTML page ``html`` to ``pdf`` (A4 portrait, backgrounds kept); returns ``pdf``.

    The PDF is written to a temporary file beside ``pdf`` and renamed: a failed print leaves nothing.

    Raises
    ------
    foncier.errors.DataFormatError
        When Chromium or playwright is missing, or the page raised a JavaScript error.
    """
    browser_path = chromium_path()
    if not browser_path.exists():
        raise DataFormatError(f"cannot print to PDF: no Chromium at {browser_path} (apt-get install chromium, "
                              "or set FONCIER_CHROMIUM)")  # fmt: skip
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise DataFormatError("cannot print to PDF: the 'playwright' package is missing (pip install playwright; "
                              "no browser download is needed, Debian's chromium is used)") from None  # fmt: skip
    errors: list[str] = []
    tmp = pdf.with_name(f".{pdf.name}.part")
    pdf.parent.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(browser_path), args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 1400})
                page.on("pageerror", lambda exc: errors.append(str(exc)))
                page.goto(html.resolve().as_uri())
                page.wait_for_function("window.foncierReady !== undefined", timeout=timeout_ms)
                page.emulate_media(media="print")
                page.wait_for_timeout(300)  # let the map redraw at its print size
                page.pdf(path=str(tmp), format="A4", print_background=True, prefer_css_page_size=True,
                         margin={"top": "0", "bottom": "0", "left": "0", "right": "0"})  # fmt: skip
            finally:
                browser.close()

    # playwright's sync API refuses to run in a thread with an asyncio loop (a notebook, a server): its own thread
    failure: list[BaseException] = []
    worker = threading.Thread(target=lambda: _capture(run, failure), name="foncier-pdf")
    worker.start()
    worker.join()
    if failure:
        tmp.unlink(missing_ok=True)
        raise DataFormatError(f"cannot print {html.name} to PDF: {failure[0]}") from failure[0]
    if errors:
        tmp.unlink(missing_ok=True)
        raise DataFormatError(f"the page {html.name} raised JavaScript errors while printing: {'; '.join(errors)}")
    tmp.replace(pdf)
    logger.info("printed %s to %s", html, pdf)
    return pdf
