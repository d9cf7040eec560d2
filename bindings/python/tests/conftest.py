"""Shared fixtures: the repository's examples and the quickstart data as a DataFrame."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "examples" / "quickstart"


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def quickstart_spec() -> Path:
    return QUICKSTART / "spec.json"


@pytest.fixture()
def quickstart_dict() -> dict:
    """The quickstart spec as a dict, with its file paths made absolute."""
    spec = json.loads((QUICKSTART / "spec.json").read_text())
    spec["data"]["path"] = str(QUICKSTART / "data.csv")
    return spec


@pytest.fixture()
def quickstart_df() -> pd.DataFrame:
    import mmm

    return mmm.read_csv(QUICKSTART / "data.csv")


@pytest.fixture()
def small_bayes_spec(quickstart_dict) -> dict:
    """The quickstart with a short Bayesian fit (2 chains of 150 + 150 iterations)."""
    spec = dict(quickstart_dict)
    spec["model"] = {
        "type": "bayesian_mmm",
        "chains": 2,
        "tune": 150,
        "draws": 150,
        "progress": True,
    }
    return spec


def run_cli(args):
    """Runs the CLI in this process (the same library the extension links); returns the exit
    code."""
    import mmm

    return mmm._mmm.cli([str(a) for a in args])


@pytest.fixture(scope="session")
def cli_quickstart(tmp_path_factory) -> Path:
    """`mmm run examples/quickstart/spec.json --out DIR`, run once; returns DIR."""
    out = tmp_path_factory.mktemp("cli-quickstart")
    assert run_cli(["-q", "run", QUICKSTART / "spec.json", "--out", out]) == 0
    return out


def external_cli():
    """The `mmm` binary named by $MMM_BIN, if any (CI may point it at a built binary)."""
    b = os.environ.get("MMM_BIN")
    return b if b and Path(b).is_file() else None
