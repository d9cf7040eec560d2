"""The notebook-style smoke test: a fresh interpreter runs notebook_smoke.py (fit, HTML,
matplotlib plot); with nbclient installed, the example notebook runs too."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_notebook_session_script(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    r = subprocess.run(
        [sys.executable, str(HERE / "notebook_smoke.py"), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert r.returncode == 0, r.stderr
    png = tmp_path / "tv_curve.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "facebook" in r.stdout


def test_example_notebook_runs(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    root = HERE.parents[2]
    nb = nbformat.read(root / "examples/notebooks/quickstart.ipynb", as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, resources={"metadata": {"path": str(root / "examples/notebooks")}})
    client.execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert any("text/html" in o.get("data", {}) for o in outputs)
