"""The result of :func:`mmm.fit`: the run's results as pandas objects, the report, and the
files ``mmm run`` writes."""

from __future__ import annotations

import html
import io
import json
import os
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Union

import numpy as np
import pandas as pd

from . import _mmm

if TYPE_CHECKING:
    from ._forecast import Forecast, SavedModel  # noqa: F401

#: Columns of :attr:`Fit.summary`, in order (absent interval columns are NaN).
SUMMARY_COLUMNS = [
    "spend",
    "contribution",
    "contribution_ci_low",
    "contribution_ci_high",
    "share",
    "share_ci_low",
    "share_ci_high",
    "roi",
    "roi_ci_low",
    "roi_ci_high",
    "mroi",
    "mroi_ci_low",
    "mroi_ci_high",
    "breakeven_spend",
]


def _read_csv(text: str, **kw: Any) -> pd.DataFrame:
    from ._inputs import read_csv

    return read_csv(io.StringIO(text), **kw)


class Fit:
    """A fitted experiment (see :func:`mmm.fit`).

    Every figure is the one ``mmm run`` writes to ``results.json`` for the same spec and
    data, to the bit. Intervals are those of the model (confidence intervals for frequentist
    models, HDIs of the posterior for Bayesian ones) at :attr:`interval_level`.
    """

    def __init__(self, run: "_mmm.Run") -> None:
        self._run = run
        self._results: Optional[Dict[str, Any]] = None

    # -- results -------------------------------------------------------------------------
    @property
    def results(self) -> Dict[str, Any]:
        """The whole ``results.json`` as a dict (see docs/results.md)."""
        if self._results is None:
            self._results = json.loads(self._run.results_json())
        return self._results

    @property
    def name(self) -> str:
        """The experiment's name."""
        return self.results["name"]

    @property
    def interval_level(self) -> float:
        """The level of every interval (e.g. 0.95)."""
        return self.results["interval_level"]

    @property
    def metrics(self) -> Dict[str, Any]:
        """In-sample fit: R², NRMSE, MAPE, Durbin–Watson… (``results["fit"]``)."""
        return dict(self.results["fit"])

    @property
    def warnings(self) -> List[str]:
        """Warnings about the fit or the data."""
        return list(self.results["warnings"])

    @property
    def summary(self) -> pd.DataFrame:
        """One row per channel (index ``channel``): total spend, contribution (summed modeled
        effect), share of the media contribution, ROI (contribution / spend), marginal ROI at
        current spend, break-even spend per period, with the interval ends (``*_ci_low``,
        ``*_ci_high``; NaN where the model gives none)."""
        rows = []
        for c in self.results["channels"]:
            row = {k: c.get(k) for k in SUMMARY_COLUMNS}
            rows.append(row)
        df = pd.DataFrame(rows, columns=SUMMARY_COLUMNS, dtype="float64")
        df.index = pd.Index([c["name"] for c in self.results["channels"]], name="channel")
        return df

    @property
    def coefficients(self) -> pd.DataFrame:
        """One row per design column (index ``name``): role, estimate, standard error, t and
        p values, interval ends and variance inflation factor, where the model reports them."""
        cols = ["role", "estimate", "std_error", "t_value", "p_value", "ci_low", "ci_high", "vif"]
        df = pd.DataFrame(self.results["coefficients"])
        df = df.set_index("name")
        for c in cols[1:]:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
        return df[cols]

    @property
    def decomposition(self) -> pd.DataFrame:
        """Per period (a DatetimeIndex ``date``): actual, predicted (with its interval for
        Bayesian models) and ``β_j·x_tj`` of every design column (the parts sum to the
        prediction for linear models); ``decomposition.csv`` of ``mmm run``."""
        df = _read_csv(self._run.decomposition_csv())
        df["date"] = pd.to_datetime(df["date"])
        return df.set_index("date")

    @property
    def response_curves(self) -> Dict[str, pd.DataFrame]:
        """Per channel, its response curve sampled from 0 to 3× current spend per period: a
        DataFrame indexed by ``spend`` with the expected KPI over the horizon (``response``)
        and marginal ROI (``mroi``), with credible bands for Bayesian models. ``attrs`` holds
        the current spend, current response, mROI, break-even spend and adstock weights."""
        out: Dict[str, pd.DataFrame] = {}
        for rc in self.results["response_curves"]:
            df = pd.DataFrame(rc["points"]).set_index("spend")
            df.attrs = {k: v for k, v in rc.items() if k not in ("points", "channel")}
            out[rc["channel"]] = df
        return out

    @property
    def posterior(self) -> Any:
        """The posterior draws of a Bayesian model (None otherwise): an
        ``arviz.InferenceData`` when arviz is installed, else a dict of numpy arrays of shape
        (chain, draw) per parameter; ``draws.csv`` of ``mmm run``."""
        text = self._run.draws_csv()
        if text is None:
            return None
        df = _read_csv(text)
        chains = sorted(df["chain"].unique())
        names = [c for c in df.columns if c not in ("chain", "draw")]
        arrays: Dict[str, np.ndarray] = {}
        for n in names:
            per_chain = [df.loc[df["chain"] == c].sort_values("draw")[n].to_numpy() for c in chains]
            length = min(len(p) for p in per_chain)
            arrays[n] = np.stack([p[:length] for p in per_chain])
        try:
            import arviz as az
        except ImportError:
            return arrays
        return az.from_dict(posterior=arrays)

    # -- report and files ------------------------------------------------------------------
    def report_html(self) -> str:
        """The HTML report: the page ``mmm run`` writes to ``report.html`` (self-contained,
        inline SVG charts)."""
        return self._run.report_html()

    def _repr_html_(self) -> str:
        r = self.results
        fit = r["fit"]
        mape = fit.get("mape")
        head = (
            f"<h4>{html.escape(r['name'])}</h4>"
            f"<p>{r['data']['n_obs']} {r['data']['frequency']} periods "
            f"({r['data']['start']} to {r['data']['end']}), model "
            f"<code>{html.escape(r['model']['type'])}</code>; "
            f"R² {fit['r2']:.4f}, NRMSE {fit['nrmse']:.4f}, MAPE "
            f"{'n/a' if mape is None else f'{100 * mape:.2f}%'}. Intervals: "
            f"{100 * r['interval_level']:.0f}% (point estimates where absent).</p>"
        )
        table = self.summary.dropna(axis=1, how="all").to_html(float_format=lambda v: f"{v:,.4g}")
        warn = "".join(f"<li>{html.escape(w)}</li>" for w in r["warnings"])
        tail = f"<ul>{warn}</ul>" if warn else ""
        return head + table + tail + "<p><small>Full report: <code>fit.report_html()</code></small></p>"

    def __repr__(self) -> str:
        r = self.results
        return (
            f"<mmm.Fit {r['name']!r}: {r['data']['n_obs']} periods, model "
            f"{r['model']['type']}, R² {r['fit']['r2']:.4f}, {len(r['channels'])} channels>"
        )

    def save(self, out: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Writes what ``mmm run --out DIR`` writes into ``out`` (created if missing):
        results.json, decomposition.csv, model.json, draws.csv (Bayesian models),
        results.sqlite and report.html. Returns the paths written."""
        return self._run.save(os.fspath(out))

    # -- planning --------------------------------------------------------------------------
    @property
    def model(self) -> "SavedModel":
        """The saved model of this fit (``model.json``), as :func:`mmm.load` would load it
        from a folder :meth:`save` wrote."""
        from ._forecast import SavedModel

        return SavedModel(self._run.model())

    def predict(self, plan: Any) -> "Forecast":
        """Forecasts a dated plan with this fit's model, as ``mmm predict`` does on the
        folder ``mmm run`` writes (see :meth:`mmm.SavedModel.predict`)."""
        return self.model.predict(plan)

    def optimize(self, optimizer: Union[Mapping[str, Any], str]) -> Dict[str, Any]:
        """Runs a budget optimizer (a spec's ``optimizer`` section, e.g.
        ``{"type": "budget_allocator", "total_budget": …}``; see ``mmm.plugins()``) on the
        fitted response curves, as ``mmm run`` does for the spec's optimizer. Returns
        ``results.json``'s ``optimization`` dict with ``plan``, its channels as a DataFrame
        indexed by channel."""
        text = optimizer if isinstance(optimizer, str) else json.dumps(dict(optimizer))
        result = json.loads(self._run.optimize(text))
        result["plan"] = pd.DataFrame(result["channels"]).set_index("name")
        return result
