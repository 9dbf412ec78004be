"""Screenshot a foncier map or site sheet in headless Chromium (Debian's chromium, driven by playwright).

Usage::

    .venv/bin/python benchmarks/screenshot.py out/sites.html -o out/sites.png [--popup] [--width 1400 --height 900]
    .venv/bin/python benchmarks/screenshot.py out/sheet-1.html -o out/sheet.png --full-page

``--popup`` opens the popup of the best site first (through the side panel, as a user would). The page's
JavaScript errors and failed requests are printed; the exit code is 1 when there were any.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def launch(playwright: Any) -> Any:
    """Launch Debian's chromium through playwright (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def screenshot(
    html: Path, png: Path, *, width: int = 1400, height: int = 900, popup: bool = False, full_page: bool = False
) -> list[str]:
    """Take the screenshot; return the JavaScript errors and failed requests seen."""
    from playwright.sync_api import sync_playwright

    problems: list[str] = []
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.on("pageerror", lambda exc: problems.append(f"JS error: {exc}"))
        page.on("console", lambda msg: problems.append(f"console error: {msg.text}") if msg.type == "error" else None)
        page.on("requestfailed", lambda req: problems.append(f"failed request: {req.url}"))
        page.goto(html.resolve().as_uri())
        try:
            page.wait_for_function("window.foncierReady !== undefined", timeout=15_000)
        except Exception:  # a page without the flag (a naive map): wait for the load event only
            page.wait_for_load_state("load")
        if popup:
            entry = page.locator(".fx-panel [data-site]").first
            if entry.count():
                entry.click()
                page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
                page.wait_for_timeout(400)  # the zoom animation
        page.wait_for_timeout(300)
        png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(png), full_page=full_page)
        browser.close()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path)
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--popup", action="store_true", help="open the best site's popup first")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the viewport")
    args = parser.parse_args(argv)
    problems = screenshot(
        args.html, args.output, width=args.width, height=args.height, popup=args.popup, full_page=args.full_page
    )
    for line in problems:
        print(line, file=sys.stderr)
    print(f"wrote {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
