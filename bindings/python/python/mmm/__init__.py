"""mmm — marketing mix modeling from pandas and Jupyter, on mmm's Rust core.

The same experiment spec as the command line (a dict, JSON text or a path; see
``mmm.schema()`` and ``mmm.plugins()``), with the data from a pandas DataFrame or a file::

    import mmm, pandas as pd
    df = pd.read_csv("examples/quickstart/data.csv")
    fit = mmm.fit("examples/quickstart/spec.json", data=df)
    fit.summary                      # spend, contribution, share, ROI, mROI per channel
    fit.response_curves["tv"].plot(y="response")
    fit.predict(plan_df).periods     # forecast a dated plan (mmm.load(dir) for a saved one)

The library is called directly (no subprocess, no temporary file); fitting releases the GIL,
and the numbers are those of ``mmm run`` to the bit. Errors are :class:`SpecError` (with the
JSON ``pointer``) and :class:`DataError` (with ``file``, ``line``, ``row``, ``column``),
subclasses of :class:`MmmError`. See docs/python.md.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import pandas as pd

from . import _mmm
from ._fit import Fit
from ._forecast import PLAN_DATAFRAME_PATH, Forecast, SavedModel, load
from ._inputs import DATAFRAME_PATH, SpecLike, read_csv, read_spec, with_data
from ._mmm import DataError, InfeasibleError, MmmError, SpecError
from ._progress import ProgressArg, callback

__version__: str = _mmm.__version__

__all__ = [
    "DATAFRAME_PATH",
    "DataError",
    "Fit",
    "Forecast",
    "PLAN_DATAFRAME_PATH",
    "SavedModel",
    "InfeasibleError",
    "MmmError",
    "SpecError",
    "fit",
    "load",
    "read_csv",
    "plugins",
    "schema",
    "simspec_schema",
    "simulate",
    "study",
    "validate",
]

DataLike = Union[pd.DataFrame, str, "os.PathLike[str]", Any, None]


def validate(spec: SpecLike, data: DataLike = None) -> List[Dict[str, Any]]:
    """Checks a spec and its data as ``mmm validate`` does; returns the problems found
    (``[]`` when valid).

    Each problem is a dict: ``{"pointer", "message", "file"}`` for the spec (a JSON pointer
    such as ``/media/0/transforms/0/decay``), or ``{"file", "line", "row", "column",
    "message"}`` for the data (``row`` is the 0-based data row: the DataFrame's position).
    Schema and plugin problems are all listed; data checking stops at the first problem.

    ``data``: a DataFrame (used instead of the spec's data file), a path to a CSV file, or
    None for the spec's own ``data.path``.
    """
    try:
        s = read_spec(spec)
    except SpecError as e:
        return list(e.issues)  # type: ignore[attr-defined]
    s, frame = with_data(s, data)
    return list(_mmm.validate(s.json(), s.base_dir, s.label, frame))


def fit(spec: SpecLike, data: DataLike = None, *, progress: ProgressArg = True) -> Fit:
    """Fits an experiment, as ``mmm run`` does (tuning first when the spec has a ``tuning``
    section), and returns a :class:`Fit`.

    ``spec``: a dict, JSON text or a path (relative paths in a file resolve against its
    folder; in a dict, against the working directory). ``data``: a pandas DataFrame (or an
    object with ``__dataframe__`` / ``__arrow_c_stream__``) used instead of the spec's data
    file; a path to a CSV file; or None for the spec's ``data.path``. Dates may be a column
    (or the named index) of datetimes or ISO strings. ``progress``: True draws the bars of
    tuning and sampling with tqdm (when installed), False draws none, a callable receives
    ``[(prefix, message, position, length, finished), …]`` about ten times a second.

    Raises :class:`SpecError`, :class:`DataError`, :class:`InfeasibleError` or
    :class:`MmmError`.
    """
    s = read_spec(spec)
    s, frame = with_data(s, data)
    run = _mmm.fit(s.json(), s.base_dir, s.label, frame, callback(progress))
    return Fit(run)


def simulate(simspec: SpecLike) -> Tuple[pd.DataFrame, Dict[str, Any]]:
    """Simulates marketing data with a known truth, as ``mmm simulate`` does (see
    docs/simulation.md): returns the data (``data.csv``, with its ``date`` column parsed) and
    the truth (``truth.json``: each channel's true contribution, ROI and marginal ROI)."""
    s = read_spec(simspec, "<simspec>")
    csv, truth = _mmm.simulate(s.json(), s.label)
    df = read_csv(io.StringIO(csv))
    first = df.columns[0]
    df[first] = pd.to_datetime(df[first])
    return df, json.loads(truth)


def study(
    study_spec: SpecLike,
    out: Union[str, "os.PathLike[str]", None] = None,
    *,
    progress: ProgressArg = True,
) -> pd.DataFrame:
    """Runs a study (one experiment in many variants, see docs/studies.md), as ``mmm study``
    does, and returns the comparison (``comparison.csv``: one row per variant, with its fit
    metrics, per-channel ROI and, with a truth, the ROI errors and the rank).

    ``out``: the folder to write the study's outputs to (each variant's results, the
    comparison, the report); by default a temporary folder removed afterwards.
    """
    s = read_spec(study_spec, "<study>")
    cb = callback(progress)
    if out is not None:
        os.makedirs(os.fspath(out), exist_ok=True)
        _mmm.study(s.json(), s.base_dir, s.label, os.fspath(out), cb)
        return _comparison(os.fspath(out))
    with tempfile.TemporaryDirectory(prefix="mmm-study-") as tmp:
        _mmm.study(s.json(), s.base_dir, s.label, tmp, cb)
        return _comparison(tmp)


def _comparison(out: str) -> pd.DataFrame:
    df = read_csv(os.path.join(out, "comparison.csv"))
    return df.set_index("name") if "name" in df.columns else df


def plugins() -> Dict[str, List[Dict[str, Any]]]:
    """Every registered plugin by kind (``transform``, ``model``, ``causal``, ``optimizer``,
    …), each ``{"type", "description", "parameters" (JSON Schema), "example"}``, as
    ``mmm plugins --json`` prints them. Plugins built into the extension in Rust (an in-house
    crate too) are listed and usable by their ``type``."""
    return json.loads(_mmm.plugins())


def schema() -> Dict[str, Any]:
    """The JSON Schema of an experiment spec (``mmm schema``), built from every plugin."""
    return json.loads(_mmm.schema())


def simspec_schema() -> Dict[str, Any]:
    """The JSON Schema of a simulation spec (``mmm simulate --schema``)."""
    return json.loads(_mmm.simspec_schema())


# The exceptions are defined by the native module; name them as this package's.
for _e in (MmmError, SpecError, DataError, InfeasibleError):
    _e.__module__ = "mmm"
del _e
