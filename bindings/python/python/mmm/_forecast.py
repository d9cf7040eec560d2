"""Saved models and forecasts of dated plans: :func:`mmm.load`, :meth:`Fit.predict` and
:class:`Forecast` (``mmm predict`` from Python; see docs/planning.md)."""

from __future__ import annotations

import io
import json
import os
from typing import Any, Dict, List, Union

import pandas as pd

from . import _mmm
from ._inputs import _to_pandas, frame_columns, read_csv

#: The plan path a forecast names when its plan is a DataFrame (errors name it).
PLAN_DATAFRAME_PATH = "<plan DataFrame>"

PlanLike = Union[pd.DataFrame, str, "os.PathLike[str]", Any]


class Forecast:
    """A forecast of a dated plan: what ``mmm predict`` writes, as pandas objects.

    Every number is the one ``mmm predict`` writes for the same model and plan, to the bit.
    The interval's level and kind are in ``results["interval"]`` (``prediction``: a point
    model's residual scale; ``posterior``: the HDI of the expected KPI over the draws).
    """

    def __init__(self, csv_text: str, json_text: str) -> None:
        self._csv = csv_text
        self._json = json_text
        self.results: Dict[str, Any] = json.loads(json_text)
        """``forecast.json`` as a dict: model, plan, interval, window, totals, channels."""

    @property
    def periods(self) -> pd.DataFrame:
        """Per period (a DatetimeIndex ``date``): ``expected`` KPI, its interval ``low`` and
        ``high``, the ``baseline`` (intercept, baseline terms, controls) and one column per
        channel with its contribution, carry-over of spend before the window included; the
        parts sum to ``expected`` (``forecast.csv``)."""
        df = read_csv(io.StringIO(self._csv))
        df["date"] = pd.to_datetime(df["date"])
        return df.set_index("date")

    @property
    def channels(self) -> pd.DataFrame:
        """Per channel (index ``channel``) over the window: ``spend``, ``contribution`` (with
        carry-over in), ``from_history`` (carry-over in alone), ``carry_out`` (the plan's
        effect after the window), ``incremental`` (``contribution − from_history +
        carry_out``), ``roi`` (``incremental / spend``) and their interval ends where the model
        has draws (NaN otherwise)."""
        df = pd.DataFrame(self.results["channels"]).set_index("name")
        df.index.name = "channel"
        return df.apply(pd.to_numeric, errors="coerce").astype("float64")

    @property
    def totals(self) -> Dict[str, Any]:
        """Totals over the window: expected KPI with ``low``/``high``, baseline, media,
        spend, incremental and ROI."""
        return dict(self.results["totals"])

    def to_csv_text(self) -> str:
        """The text of ``forecast.csv``."""
        return self._csv

    def to_json_text(self) -> str:
        """The text of ``forecast.json``."""
        return self._json

    def __repr__(self) -> str:
        w = self.results["window"]
        t = self.results["totals"]
        return (
            f"<mmm.Forecast {w['start']} to {w['end']} ({w['periods']} periods): expected "
            f"{t['expected']:,.6g} [{t['low']:,.6g}, {t['high']:,.6g}]>"
        )


class SavedModel:
    """A fitted model loaded from ``model.json`` (:func:`mmm.load`), or the model of a
    :class:`Fit`: forecasts dated plans without the data or the spec."""

    def __init__(self, native: "_mmm.Model") -> None:
        self._model = native

    @property
    def channels(self) -> List[str]:
        """The model's channels, in order."""
        return list(self._model.channels())

    def predict(self, plan: PlanLike) -> Forecast:
        """Forecasts a dated plan, as ``mmm predict MODEL_DIR --plan plan.csv`` does.

        ``plan``: a DataFrame (or an object with ``__dataframe__`` / ``__arrow_c_stream__``)
        or a path to a CSV file, with one row per future period: the dates (the model's date
        column or ``date``, a column or the named index; on the model's grid after the data),
        each channel's spend (by its spend column or channel name) and every control of the
        model. See docs/planning.md. Raises :class:`mmm.DataError` naming the row and column
        of a bad cell."""
        if isinstance(plan, (str, os.PathLike)):
            csv_text, json_text = self._model.predict(os.fspath(plan))
        else:
            df = _to_pandas(plan)
            columns = frame_columns(df, self._model.date_column())
            csv_text, json_text = self._model.predict(PLAN_DATAFRAME_PATH, columns)
        return Forecast(csv_text, json_text)

    def __repr__(self) -> str:
        return f"<mmm.SavedModel: channels {', '.join(self.channels)}>"


def load(path: Union[str, "os.PathLike[str]"]) -> SavedModel:
    """Loads a saved model: a folder ``mmm run`` or :meth:`Fit.save` wrote (its
    ``model.json``) or the file itself. A model written by another format version is refused
    with :class:`mmm.DataError` naming the version and the mmm that wrote it."""
    return SavedModel(_mmm.load_model(os.fspath(path)))
