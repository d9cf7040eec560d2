#!/usr/bin/env bash
# Times mmm's geo-hierarchical fit and Google Meridian's geo model on the same data, one after
# the other in one run (issue 20's comparison): Meridian's simulated `geo_media.csv` (20 geos ×
# 156 weeks, 4 channels), 4 chains × (1,000 warm-up + 1,000 kept draws) each.
#
#   MERIDIAN_PYTHON=/path/to/venv/bin/python tools/bench/geo_vs_meridian.sh [OUT_DIR]
#
# Needs a release build (`cargo build --release`) and a Python with `google-meridian`
# (`python -m venv v && v/bin/pip install google-meridian`). Writes OUT_DIR/mmm/ (the fit),
# OUT_DIR/mmm_time.txt, tools/fixtures/out/meridian_geo.json (Meridian's figures) and prints a
# summary with both wall times, their ratio and min bulk ESS per second. Not run by the tests.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-$root/target/geo-vs-meridian}"
py="${MERIDIAN_PYTHON:-python3}"
mkdir -p "$out"
spec="$out/spec.json"
"$py" - "$root/examples/geo/meridian/spec.json" "$spec" "$root/examples/geo/meridian/geo_media.csv" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["name"] = "meridian-geo-hierarchical"
s["data"]["path"] = sys.argv[3]
s["model"]["geo"] = "hierarchical"
s.pop("$schema", None)
json.dump(s, open(sys.argv[2], "w"), indent=2)
PY
rm -rf "$out/mmm"
echo "mmm: 4 × (1,000 + 1,000), geo hierarchical ..." >&2
/usr/bin/time -f "%e %U" -o "$out/mmm_time.txt" "$root/target/release/mmm" run "$spec" --out "$out/mmm" >/dev/null
echo "load after mmm: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "Meridian: 4 × (1,000 + 1,000), its defaults ..." >&2
"$py" "$root/tools/fixtures/meridian_geo.py" >/dev/null
"$py" - "$out" "$root/tools/fixtures/out/meridian_geo.json" <<'PY'
import json, sys
out = sys.argv[1]
wall, cpu = map(float, open(f"{out}/mmm_time.txt").read().split()[:2])
r = json.load(open(f"{out}/mmm/results.json"))
d = r["posterior"]["diagnostics"]
params = d["parameters"].values()
m = json.load(open(sys.argv[2]))
ess = min(v["ess_bulk"] for v in params)
summary = {
    "mmm": {"wall_seconds": wall, "user_cpu_seconds": cpu, "sampling_seconds": d["sampling_seconds"],
            "divergences": sum(d["divergences"]), "max_r_hat": max(v["r_hat"] for v in params),
            "min_bulk_ess": ess,
            "min_bulk_ess_per_second": ess / wall},
    "meridian": {k: m[k] for k in ("meridian_version", "sampling_wall_seconds", "divergences",
                                   "max_r_hat", "min_bulk_ess", "min_bulk_ess_per_second")},
    "wall_time_ratio_meridian_over_mmm": m["sampling_wall_seconds"] / wall,
}
json.dump(summary, open(f"{out}/summary.json", "w"), indent=2)
print(json.dumps(summary, indent=2))
PY
