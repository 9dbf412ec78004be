"""Benchmark: the offline site map of the full sample territory against a naive map of every parcel.

Run: ``.venv/bin/python benchmarks/bench_maps.py [--workspace DIR] [--no-naive] [--no-record]``.

Without ``--workspace`` it builds the full synthetic sample in a temporary folder and runs the pipeline
(about 15 s). It then writes, offline:

- the site map of the default profile (``foncier map``: sites only, generalised, popups built in the browser);
- a *naive* map: folium's defaults with every parcel of the territory in one inline GeoJSON layer (with a
  parcel-id tooltip), which is what one gets without care.

For each it records the HTML size, the time to build and write it in Python, and the time to interactive in
headless Chromium (Debian's, through playwright): from navigation start until every layer is drawn
(``window.foncierReady``, set by the last script of the page) and, for the site map, until a click on the side
panel has zoomed to the best site and opened its popup. Budgets: site map at most 3 MB and interactive within
3 s; the exit code is 1 when one is exceeded. The figures are written to docs/BENCHMARKS.md (section "Maps",
replaced on each run; other benchmarks keep their own sections).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import folium

sys.path.insert(0, str(Path(__file__).parent))
from screenshot import launch

from foncier.layers.results import scored_sites
from foncier.layers.workspace import Workspace
from foncier.maps.elements import ReadyFlag
from foncier.maps.export import save_map
from foncier.scripts.map import site_map_for

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = ROOT / "docs" / "BENCHMARKS.md"
SIZE_BUDGET_MB = 3.0
TTI_BUDGET_S = 3.0
START, END = "<!-- bench_maps:start -->", "<!-- bench_maps:end -->"


def build_full_workspace(path: Path) -> Workspace:
    """The full synthetic sample, run through the pipeline."""
    from foncier.layers.ingest import store_sample
    from foncier.layers.sample import build_sample_territory
    from foncier.pipeline import run_pipeline

    sample = build_sample_territory("full", seed=2023)
    ws = Workspace.create(path, territory=sample.territory, synthetic=True, extra_metadata={"seed": "2023"})
    store_sample(ws, sample)
    run_pipeline(ws)
    return ws


def naive_map(ws: Workspace, path: Path) -> tuple[Path, int]:
    """Every parcel in one inline GeoJSON layer, folium's defaults (what one writes without care)."""
    parcels = ws.read_layer("parcels")
    m = folium.Map(location=[49.33, 3.33], zoom_start=10, tiles=None)
    folium.GeoJson(parcels, name="parcels", tooltip=folium.GeoJsonTooltip(fields=["parcel_id"])).add_to(m)
    m.add_child(ReadyFlag())
    return save_map(m, path, offline=True), len(parcels)


def time_to_interactive(browser: Any, path: Path, *, click_panel: bool, timeout_s: float) -> dict[str, float]:
    """Seconds from navigation to drawn layers (and to an opened popup after a click on the panel)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    t0 = time.perf_counter()
    page.goto(path.resolve().as_uri(), timeout=timeout_s * 1000, wait_until="commit")
    page.wait_for_function("window.foncierReady !== undefined", timeout=timeout_s * 1000, polling=20)
    drawn = time.perf_counter() - t0
    out = {"drawn_s": drawn, "in_page_s": page.evaluate("window.foncierReady") / 1000}
    if click_panel:
        t1 = time.perf_counter()
        page.locator(".fx-panel [data-site]").first.click()
        page.wait_for_selector(".leaflet-popup-content", timeout=timeout_s * 1000)
        out["click_to_popup_s"] = time.perf_counter() - t1
        out["interactive_s"] = drawn + out["click_to_popup_s"]
    else:
        out["interactive_s"] = drawn
    out["paths"] = float(page.evaluate("document.querySelectorAll('path').length"))
    page.close()
    if errors:
        raise RuntimeError(f"JavaScript errors in {path.name}: {errors[:3]}")
    return out


def record(text: str) -> None:
    """Write the Maps section of docs/BENCHMARKS.md (replacing the previous figures of this benchmark)."""
    section = f"{START}\n{text.rstrip()}\n{END}\n"
    current = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else "# Benchmarks\n"
    if START in current and END in current:
        current = re.sub(re.escape(START) + r".*?" + re.escape(END) + r"\n?", section, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + section
    BENCHMARKS_MD.write_text(current, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, help="an existing scored workspace (default: build the full sample)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive map (it takes a minute)")
    parser.add_argument("--no-record", action="store_true", help="do not write docs/BENCHMARKS.md")
    parser.add_argument("--runs", type=int, default=3, help="page loads per map (the median is kept)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-maps-") as tmp:
        out = Path(tmp)
        t0 = time.perf_counter()
        ws = Workspace.open(args.workspace) if args.workspace else build_full_workspace(out / "ws")
        prepared = time.perf_counter() - t0
        scored = scored_sites(ws, "default")
        n_parcels = ws.feature_count("parcels")
        t0 = time.perf_counter()
        site_path = save_map(site_map_for(ws, "default", offline=True, scored=scored), out / "sites.html", offline=True)
        site_build = time.perf_counter() - t0
        site_mb = site_path.stat().st_size / 1e6
        print(f"workspace ready in {prepared:.1f} s: {n_parcels} parcels, {len(scored.sites)} sites")
        print(f"site map: {site_mb:.2f} MB, built and written in {site_build:.2f} s")
        naive: dict[str, Any] = {}
        if not args.no_naive:
            t0 = time.perf_counter()
            naive_path, _ = naive_map(ws, out / "naive.html")
            naive["build_s"] = time.perf_counter() - t0
            naive["mb"] = naive_path.stat().st_size / 1e6
            print(f"naive map: {naive['mb']:.1f} MB, built and written in {naive['build_s']:.1f} s")
        with sync_playwright() as p:
            browser = launch(p)
            runs = [time_to_interactive(browser, site_path, click_panel=True, timeout_s=30) for _ in range(args.runs)]
            site = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"site map: drawn in {site['drawn_s']:.2f} s, popup {site['click_to_popup_s']:.2f} s after a click, "
                f"interactive in {site['interactive_s']:.2f} s ({site['paths']:.0f} paths)"
            )
            if naive:
                try:
                    naive.update(time_to_interactive(browser, naive_path, click_panel=False, timeout_s=180))
                    print(f"naive map: drawn in {naive['drawn_s']:.1f} s ({naive['paths']:.0f} paths)")
                except Exception as exc:  # a page that does not finish is a result too
                    naive["failure"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
                    print(f"naive map: did not become interactive: {naive['failure']}")
            browser.close()

    ok = site_mb <= SIZE_BUDGET_MB and site["interactive_s"] <= TTI_BUDGET_S
    if not args.no_record:
        lines = [
            "## Maps (benchmarks/bench_maps.py)",
            "",
            f"Run on {dt.date.today().isoformat()}, {platform.machine()}, {os.cpu_count()} cores, Debian chromium "
            "headless (playwright), offline maps (local assets, no basemap), full synthetic sample "
            f"({n_parcels:,} parcels, {len(scored.sites)} candidate sites), median of {args.runs} page loads.",
            "",
            "| map | HTML size | build + write (Python) | drawn in Chromium | click to popup | interactive |",
            "|---|---|---|---|---|---|",
            f"| site map, default profile (`foncier map --offline`) | {site_mb:.2f} MB | {site_build:.2f} s | "
            f"{site['drawn_s']:.2f} s | {site['click_to_popup_s']:.2f} s | **{site['interactive_s']:.2f} s** |",
        ]
        if naive:
            drawn = f"{naive['drawn_s']:.1f} s" if "drawn_s" in naive else f"not within 180 s ({naive.get('failure')})"
            lines.append(
                f"| naive: every parcel in one inline GeoJSON layer | {naive['mb']:.1f} MB | "
                f"{naive['build_s']:.1f} s | {drawn} | – | {drawn} |"
            )
        lines += [
            "",
            f"Budgets: site map at most {SIZE_BUDGET_MB:.0f} MB and interactive within {TTI_BUDGET_S:.0f} s: "
            f"{'met' if ok else 'NOT MET'}. The site map holds the sites only (generalised: 4 m tolerance, 6 "
            "decimals; context layers 5 to 80 m, 4 to 5 decimals) with compact properties from which the "
            "popups are built in the browser; parcels are on the site sheets (a site's parcels only) and on the "
            "parcel map (vector tiles from the API).",
        ]
        record("\n".join(lines))
        print(f"recorded in {BENCHMARKS_MD}")
    if not ok:
        print(
            f"budget exceeded: {site_mb:.2f} MB (max {SIZE_BUDGET_MB}), {site['interactive_s']:.2f} s "
            f"(max {TTI_BUDGET_S})"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
