"""Screenshot a foncier map or site sheet in headless Chromium (Debian's chromium, driven by playwright).

Usage::

    .venv/bin/python benchmarks/screenshot.py out/sites.html -o out/sites.png [--popup] [--width 1400 --height 900]
    .venv/bin/python benchmarks/screenshot.py out/sheet-1.html -o out/sheet.png --full-page

``--popup`` opens the popup of the best site first (through the side panel, as a user would). The page's
JavaScript errors and failed requests are printed; the exit code is 1 when there were any.

Every map kind at desktop (1400 x 900) and phone (375 x 667) sizes, into one folder (not committed)::

    .venv/bin/python benchmarks/screenshot.py --all -w WORKSPACE -o /tmp/shots

writes the offline site map (plain and with the best site's popup), the best site's sheet, a comparison of the
three best sites, the sheet printed to PDF (``sheet.pdf``), and the parcel map served by the API (started on a
free port, zoomed to level 16 on the densest part of the territory): ``<kind>-desktop.png``, ``<kind>-phone.png``.
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


SIZES = {"desktop": (1400, 900), "phone": (375, 667)}


def _failed(problems: list[str], url: str, where: str) -> None:
    """Record a failed request, except the web basemap of the API's parcel map (no network here)."""
    if "tile.openstreetmap.org" not in url:
        problems.append(f"{where}: failed {url}")


def _unfold(page: Any) -> None:
    fold = page.locator(".fx-panel .fx-fold")
    if fold.count() and fold.is_visible() and "fx-folded" in (page.locator(".fx-panel").get_attribute("class") or ""):
        fold.click()


def shoot_all(workspace: Path, out: Path) -> list[str]:
    """Screenshots of every map kind at both sizes (see the module docstring); returns the problems seen."""
    import socket
    import subprocess
    import tempfile

    from playwright.sync_api import sync_playwright

    from foncier.layers.results import scored_sites
    from foncier.layers.workspace import Workspace
    from foncier.maps.export import save_html
    from foncier.scripts.map import comparison_for, write_demo_maps

    out.mkdir(parents=True, exist_ok=True)
    maps = Path(tempfile.mkdtemp(prefix="foncier-shots-"))
    written = write_demo_maps(workspace, maps, sheets=3)
    ws = Workspace.open(workspace)
    scored = scored_sites(ws, "default")
    best = [str(i) for i in scored.sites.index[:3]]
    point = scored.sites.geometry.iloc[:1].to_crs(4326).representative_point().iloc[0]
    centre = [point.y, point.x]  # the parcel map is shot around the best site
    save_html(comparison_for(ws, best, "default", offline=True), maps / "compare.html", offline=True)
    subprocess.run([sys.executable, "-m", "foncier.scripts.cli", "map", "-w", str(workspace), "--site", best[0],
                    "--pdf", "-o", str(out / "sheet.pdf")], check=True)  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**__import__("os").environ, "FONCIER_API_WORKSPACE": str(workspace)}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "--factory", "foncier.api.app:create_app_from_env",
                               "--port", str(port), "--log-level", "warning"], env=env)  # fmt: skip
    problems: list[str] = []
    pages = {"sites": written[0], "sheet": written[1], "compare": maps / "compare.html"}
    try:
        with sync_playwright() as p:
            browser = launch(p)
            for size, (width, height) in SIZES.items():
                for kind, html in [*pages.items(), ("sites-popup", written[0]), ("parcels", None)]:
                    page = browser.new_page(viewport={"width": width, "height": height})
                    page.on("pageerror", lambda exc, k=kind, sz=size: problems.append(f"{k} {sz}: JS error: {exc}"))
                    page.on("requestfailed", lambda req, k=kind, sz=size: _failed(problems, req.url, f"{k} {sz}"))
                    if html is None:
                        url = f"http://127.0.0.1:{port}/maps/parcels"
                        for _ in range(120):
                            try:
                                page.goto(url)
                                break
                            except Exception:
                                page.wait_for_timeout(500)
                    else:
                        page.goto(html.resolve().as_uri())
                    page.wait_for_function("window.foncierReady !== undefined", timeout=30_000)
                    if kind == "sites-popup":
                        _unfold(page)
                        page.locator(".fx-panel [data-site]").first.click()
                        page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
                    if kind == "parcels":
                        page.evaluate("c => window.foncierParcels._map.setView(c, 16, {animate: false})", centre)
                        page.wait_for_timeout(2500)
                    page.wait_for_timeout(400)
                    page.screenshot(path=str(out / f"{kind}-{size}.png"), full_page=kind in ("sheet", "compare"))
                    page.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html", type=Path, nargs="?")
    parser.add_argument("-o", "--output", type=Path, required=True, help="PNG file (a folder with --all)")
    parser.add_argument("--all", action="store_true", help="every map kind at desktop and phone sizes")
    parser.add_argument("-w", "--workspace", type=Path, help="with --all: a workspace through the pipeline")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=900)
    parser.add_argument("--popup", action="store_true", help="open the best site's popup first")
    parser.add_argument("--full-page", action="store_true", help="the whole page, not only the viewport")
    args = parser.parse_args(argv)
    if args.all:
        if args.workspace is None:
            parser.error("--all needs -w WORKSPACE")
        problems = shoot_all(args.workspace, args.output)
        for line in problems:
            print(line, file=sys.stderr)
        print(f"wrote {len(list(args.output.glob('*.png')))} screenshots and sheet.pdf into {args.output}")
        return 1 if problems else 0
    if args.html is None:
        parser.error("give the HTML file to screenshot (or --all)")
    problems = screenshot(
        args.html, args.output, width=args.width, height=args.height, popup=args.popup, full_page=args.full_page
    )
    for line in problems:
        print(line, file=sys.stderr)
    print(f"wrote {args.output}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
