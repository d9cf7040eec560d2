"""Turning Python inputs (a spec as a dict, JSON text or path; data as a DataFrame or path)
into what the native module takes: JSON text, a base folder, a label and columns."""

from __future__ import annotations

import copy
import json
import os
from typing import Any, List, Mapping, Optional, Tuple, Union

import numpy as np

#: The data path a spec names when its data is a DataFrame (errors name it).
DATAFRAME_PATH = "<DataFrame>"

SpecLike = Union[Mapping[str, Any], str, "os.PathLike[str]"]


class SpecInput:
    """A spec ready for the native module: its JSON value, the folder its relative paths
    resolve against (the spec file's folder, or the working directory) and its label."""

    def __init__(self, raw: Any, base_dir: str, label: str):
        self.raw = raw
        self.base_dir = base_dir
        self.label = label

    def json(self) -> str:
        return json.dumps(self.raw, allow_nan=False)


def read_csv(path_or_buffer: Any, **kw: Any) -> Any:
    """``pandas.read_csv`` with correctly rounded floats, so that a CSV file read here gives
    the doubles the CLI parses from it (pandas < 3 needs ``float_precision="round_trip"``;
    pandas 3 rounds correctly by default and deprecates the argument)."""
    import pandas as pd

    if int(pd.__version__.split(".")[0]) < 3:
        kw.setdefault("float_precision", "round_trip")
    return pd.read_csv(path_or_buffer, **kw)


def _looks_like_json(text: str) -> bool:
    return text.lstrip().startswith(("{", "["))


def read_spec(spec: SpecLike, what: str = "<spec>") -> SpecInput:
    """A spec from a dict, JSON text or a path (relative paths in a file resolve against its
    folder, as with the CLI; in a dict or text, against the working directory)."""
    from . import SpecError  # noqa: WPS433 (the native exception)

    if isinstance(spec, Mapping):
        return SpecInput(copy.deepcopy(dict(spec)), "", what)
    if isinstance(spec, str) and _looks_like_json(spec):
        try:
            return SpecInput(json.loads(spec), "", what)
        except json.JSONDecodeError as e:
            err = SpecError(
                f"invalid spec {what}:\n  /: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}"
            )
            _locate(err, pointer="", file=what, message=f"not valid JSON: {e}")
            raise err from None
    if isinstance(spec, (str, os.PathLike)):
        path = os.fspath(spec)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            err = SpecError(f"invalid spec {path}:\n  /: cannot read: {e}")
            _locate(err, pointer="", file=path, message=f"cannot read: {e}")
            raise err from None
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as e:
            err = SpecError(
                f"invalid spec {path}:\n  /: not valid JSON (line {e.lineno}, column {e.colno}): {e.msg}"
            )
            _locate(err, pointer="", file=path, message=f"not valid JSON: {e}")
            raise err from None
        return SpecInput(raw, os.path.dirname(path), path)
    raise TypeError(f"a spec is a dict, JSON text or a path, not {type(spec).__name__}")


def _locate(err: Exception, **attrs: Any) -> None:
    issue = dict(attrs)
    for k, v in issue.items():
        setattr(err, k, v)
    err.issues = [issue]  # type: ignore[attr-defined]
    err.code = 2  # type: ignore[attr-defined]


def _is_dataframe(data: Any) -> bool:
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(data, pd.DataFrame)


def _to_pandas(data: Any) -> Any:
    """A pandas DataFrame from a DataFrame, an object with the DataFrame interchange protocol
    (``__dataframe__``) or an Arrow C stream (``__arrow_c_stream__``, e.g. polars, pyarrow)."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    if hasattr(data, "__arrow_c_stream__"):
        import pyarrow as pa  # pragma: no cover - optional

        return pa.table(data).to_pandas()  # pragma: no cover
    if hasattr(data, "__dataframe__"):
        return pd.api.interchange.from_dataframe(data)
    raise TypeError(
        "data is a pandas DataFrame, an object with __dataframe__ or __arrow_c_stream__, "
        f"or a path, not {type(data).__name__}"
    )


def frame_columns(df: Any, date_column: Optional[str]) -> List[Tuple[str, Any]]:
    """The columns of a DataFrame for the native module: numbers as the bytes of a float64
    array (NaN for missing), everything else as text (None for missing); datetimes as ISO
    dates. A named index (a DatetimeIndex of dates, say) becomes a column first."""
    import pandas as pd

    if df.index.name is not None and df.index.name not in df.columns:
        df = df.reset_index()
    out: List[Tuple[str, Any]] = []
    for name in df.columns:
        col = df[name]
        if isinstance(col, pd.DataFrame):
            raise ValueError(f"the DataFrame has two columns named {name!r}")
        label = str(name)
        if pd.api.types.is_datetime64_any_dtype(col.dtype):
            text = col.dt.strftime("%Y-%m-%d")
            out.append((label, [None if pd.isna(v) else str(v) for v in text]))
        elif pd.api.types.is_bool_dtype(col.dtype) or (
            pd.api.types.is_numeric_dtype(col.dtype) and label != date_column
        ):
            values = col.to_numpy(dtype="float64", na_value=np.nan)
            out.append((label, np.ascontiguousarray(values, dtype="=f8").tobytes()))
        else:
            out.append((label, [None if _missing(v) else _text(v) for v in col.tolist()]))
    return out


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _text(v: Any) -> str:
    if hasattr(v, "strftime") and not isinstance(v, str):
        return v.strftime("%Y-%m-%d")
    return str(v)


def with_data(spec: SpecInput, data: Any) -> Tuple[SpecInput, Optional[List[Tuple[str, Any]]]]:
    """The spec and the columns to attach: a path replaces the spec's data path; a DataFrame
    is attached under ``<DataFrame>`` (which errors then name)."""
    if data is None:
        return spec, None
    raw = copy.deepcopy(spec.raw)
    if not isinstance(raw, dict):
        return spec, None  # the native checks report the spec's shape
    section = raw.setdefault("data", {})
    if not isinstance(section, dict):
        return spec, None
    if isinstance(data, (str, os.PathLike)):
        section["path"] = os.path.abspath(os.fspath(data))
        return SpecInput(raw, spec.base_dir, spec.label), None
    df = _to_pandas(data)
    section["path"] = DATAFRAME_PATH
    date = section.get("date") if isinstance(section.get("date"), str) else None
    return SpecInput(raw, spec.base_dir, spec.label), frame_columns(df, date)
