"""Nothing unchecked passes, on the full sample: remove the flood and protected layers, run the pipeline with the
default profile, and count the states of the flood and ecology constraints (none may be "passed").

Usage: ``.venv/bin/python benchmarks/check_unverified_constraints.py [WORKSPACE_DIR]`` (default a temporary
directory). Figures in docs/CONSTRAINTS.md.
"""

import collections
import sys
import tempfile
import time
from pathlib import Path

from foncier.layers.ingest import store_sample
from foncier.layers.sample import build_sample_territory
from foncier.layers.workspace import Workspace
from foncier.pipeline import run_pipeline

t0 = time.time()
path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()) / "ws"
sample = build_sample_territory("full", seed=2023)
ws = Workspace.create(path, territory=sample.territory, synthetic=True)
store_sample(ws, sample)
print("stored", round(time.time() - t0), "s", flush=True)
ws.delete_layers(["flood", "protected"])
rep = run_pipeline(ws, profiles=["default"])
print("pipeline", round(time.time() - t0), "s; sites", rep.n_sites, "unverified", rep.n_unverified, flush=True)
c = ws.read_table("site_constraints")
for crit in ("share_flood_red", "share_strict_protection", "share_protected", "share_ebc", "zoning_class"):
    sub = c[c["criterion"] == crit]
    print(crit, dict(collections.Counter(sub["state"])))
s = ws.read_table("scores")
kept = s["excluded"] == 0
print("sites excluded", int(s["excluded"].sum()), "kept", int(kept.sum()),
      "kept with n_unverified>0", int((kept & (s["n_unverified"] > 0)).sum()))  # fmt: skip
passed = c[c["criterion"].isin(["share_flood_red", "share_strict_protection", "share_protected"])]
assert not (passed["state"] == "passed").any(), "a site passed a constraint whose layer is missing"
