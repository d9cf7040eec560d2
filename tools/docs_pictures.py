#!/usr/bin/env python3
"""Regenerates the pictures of docs/examples/*.md from the examples' own reports.

Runs each example with the `mmm` binary (target/release/mmm, else target/debug/mmm; build it
first), then copies chosen charts of its report.html (the inline SVG of <figure id="chart-…">)
to docs/examples/img/<example>-<chart>.svg. Run from anywhere:

    cargo build --release && python3 tools/docs_pictures.py

Needs only Python's standard library. Tests never run it; the SVGs it writes are committed.
"""
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IMG = os.path.join(ROOT, "docs", "examples", "img")

# (picture prefix, mmm arguments before --out, charts to keep)
EXAMPLES = [
    ("quickstart", ["run", "examples/quickstart/spec.json"],
     ["fit", "decomposition", "roi", "response"]),
    ("seed000-sales", ["run", "examples/simulations/seed000/sales_plan.json"],
     ["response", "budget", "adstock"]),
    ("seed000-roi", ["run", "examples/simulations/seed000/roi_plan.json"], ["budget"]),
    ("seed000-study", ["study", "examples/simulations/seed000/study.json"], ["recovery"]),
    ("seed001", ["run", "examples/seed001-bayesian/spec.json"],
     ["fit", "roi", "response", "budget", "trace"]),
    ("seed002", ["run", "examples/simulations/seed002/spec.json"],
     ["contribution", "roi", "decomposition"]),
    ("seed003", ["run", "examples/simulations/seed003/spec.json"],
     ["fit", "residuals", "contribution"]),
    ("seed004", ["run", "examples/seed004-campaigns/spec.json"],
     ["fit", "roi", "scenarios"]),
]


def binary():
    for b in ("release", "debug"):
        p = os.path.join(ROOT, "target", b, "mmm")
        if os.path.exists(p):
            return p
    sys.exit("build mmm first: cargo build --release")


def main():
    mmm = binary()
    os.makedirs(IMG, exist_ok=True)
    for prefix, args, charts in EXAMPLES:
        if not os.path.exists(os.path.join(ROOT, args[1])):
            print(f"skip {prefix}: {args[1]} not found")
            continue
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([mmm, *args, "--out", out, "-q"], cwd=ROOT, check=True)
            html = open(os.path.join(out, "report.html"), encoding="utf-8").read()
        figures = dict(re.findall(r'<figure id="chart-([^"]+)"[^>]*>(.*?)</figure>', html, re.S))
        for c in charts:
            if c not in figures:
                print(f"{prefix}: no chart-{c} (has {sorted(figures)})")
                continue
            svg = re.search(r"<svg.*?</svg>", figures[c], re.S).group(0)
            if "xmlns=" not in svg[:300]:
                svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
            path = os.path.join(IMG, f"{prefix}-{c}.svg")
            with open(path, "w", encoding="utf-8") as f:
                f.write(svg + "\n")
            print("wrote", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()
