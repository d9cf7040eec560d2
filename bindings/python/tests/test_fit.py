"""mmm.fit and the Fit object, against the CLI's outputs on the quickstart."""

import json
import math
import subprocess

import numpy as np
import pandas as pd
import pytest

import mmm
from conftest import QUICKSTART, external_cli, run_cli


def _without_data_path(results: dict) -> dict:
    """The results without what names the data's source: the data path, and the provenance's
    inputs and spec (which hold that path and, for a file, its SHA-256)."""
    r = json.loads(json.dumps(results))
    r["data"].pop("path")
    for key in ["inputs", "spec", "spec_sha256"]:
        r["provenance"].pop(key)
    return r


def _assert_dataframe_provenance(results: dict) -> None:
    """A DataFrame has no file to hash: the provenance says so instead of inventing a hash."""
    inputs = results["provenance"]["inputs"]
    assert inputs == [{"pointer": "/data/path", "path": mmm.DATAFRAME_PATH, "sha256": None}]
    assert results["provenance"]["spec"]["data"]["path"] == mmm.DATAFRAME_PATH


def test_dataframe_round_trip_equals_the_cli_results(cli_quickstart, quickstart_spec, quickstart_df):
    fit = mmm.fit(quickstart_spec, data=quickstart_df, progress=False)
    cli = json.loads((cli_quickstart / "results.json").read_text())
    # every number equal to the bit (JSON floats parse to the same doubles); only the data
    # path differs: the DataFrame is named <DataFrame>
    assert fit.results["data"]["path"] == mmm.DATAFRAME_PATH
    _assert_dataframe_provenance(fit.results)
    assert _without_data_path(fit.results) == _without_data_path(cli)
    assert fit._run.decomposition_csv() == (cli_quickstart / "decomposition.csv").read_text()


def test_spec_file_fit_writes_the_same_bytes_as_mmm_run(cli_quickstart, quickstart_spec, tmp_path):
    fit = mmm.fit(quickstart_spec, progress=False)
    written = fit.save(tmp_path / "out")
    names = sorted(p.rsplit("/", 1)[-1] for p in written)
    assert names == ["decomposition.csv", "model.json", "report.html", "results.json", "results.sqlite"]
    for name in ["results.json", "decomposition.csv", "model.json", "report.html"]:
        assert (tmp_path / "out" / name).read_bytes() == (cli_quickstart / name).read_bytes(), name
    assert fit.report_html() == (cli_quickstart / "report.html").read_text()


@pytest.mark.skipif(external_cli() is None, reason="set MMM_BIN to a built mmm binary")
def test_equal_to_the_separate_binary(quickstart_spec, quickstart_df, tmp_path):
    subprocess.run([external_cli(), "-q", "run", str(quickstart_spec), "--out", str(tmp_path)], check=True)
    fit = mmm.fit(quickstart_spec, data=quickstart_df, progress=False)
    cli = json.loads((tmp_path / "results.json").read_text())
    assert _without_data_path(fit.results) == _without_data_path(cli)


def test_dict_spec_with_datetime_index(quickstart_dict, quickstart_df, cli_quickstart):
    df = quickstart_df.copy()
    df["DATE"] = pd.to_datetime(df["DATE"])
    df = df.set_index("DATE")
    fit = mmm.fit(quickstart_dict, data=df, progress=False)
    cli = json.loads((cli_quickstart / "results.json").read_text())
    _assert_dataframe_provenance(fit.results)
    assert _without_data_path(fit.results) == _without_data_path(cli)


def test_summary_coefficients_decomposition_and_curves(quickstart_spec):
    fit = mmm.fit(quickstart_spec, progress=False)
    r = fit.results
    s = fit.summary
    assert list(s.index) == [c["name"] for c in r["channels"]] == ["tv", "ooh", "print", "facebook", "search"]
    for col in ["spend", "contribution", "share", "roi", "mroi"]:
        assert list(s[col]) == [c[col] for c in r["channels"]]
    assert s["roi"].tolist() == (s["contribution"] / s["spend"]).tolist()
    assert math.isclose(s["share"].sum(), 1.0, rel_tol=1e-12)
    # ridge reports no intervals: NaN, not zero
    assert s["roi_ci_low"].isna().all()

    c = fit.coefficients
    assert list(c.index) == [x["name"] for x in r["coefficients"]]
    assert c.loc["tv", "role"] == "media"
    assert c.loc["tv", "estimate"] == next(x["estimate"] for x in r["coefficients"] if x["name"] == "tv")

    d = fit.decomposition
    assert isinstance(d.index, pd.DatetimeIndex)
    assert len(d) == r["data"]["n_obs"]
    assert str(d.index[0].date()) == r["data"]["start"]
    parts = d.drop(columns=["actual", "predicted"]).sum(axis=1)
    np.testing.assert_allclose(parts, d["predicted"], rtol=1e-9)

    curves = fit.response_curves
    assert list(curves) == list(s.index)
    tv = curves["tv"]
    assert tv.index.name == "spend" and tv.index[0] == 0.0
    assert tv["response"].is_monotonic_increasing
    assert tv.attrs["mroi"] == s.loc["tv", "mroi"]
    assert fit.posterior is None

    html = fit._repr_html_()
    assert "quickstart" in html and "<table" in html and "tv" in html
    assert "quickstart" in repr(fit)


def test_optimize_equals_the_optimizer_of_mmm_run(quickstart_dict, tmp_path):
    optimizer = {"type": "max_response", "budget": {"multiple_of_current": 1.0},
                 "bounds": {"default": {"min_change": -0.2, "max_change": 0.2}}}
    fit = mmm.fit(quickstart_dict, progress=False)
    plan = fit.optimize(optimizer)
    spec = dict(quickstart_dict, optimizer=optimizer)
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert run_cli(["-q", "run", path, "--out", tmp_path / "out"]) == 0
    expected = json.loads((tmp_path / "out" / "results.json").read_text())["optimization"]
    got = {k: v for k, v in plan.items() if k != "plan"}
    assert got == expected
    assert list(plan["plan"].index) == ["tv", "ooh", "print", "facebook", "search"]
    with pytest.raises(mmm.SpecError) as e:
        fit.optimize({"type": "max_response", "budget": {"multiple_of_current": -1.0}})
    assert e.value.pointer.startswith("/optimizer/budget")


def test_bayesian_posterior_progress_and_released_gil(small_bayes_spec):
    import threading

    states = []
    counted = {"n": 0}
    running = threading.Event()
    stop = threading.Event()

    def count():
        running.set()
        while not stop.is_set():
            counted["n"] += 1

    t = threading.Thread(target=count)
    t.start()
    running.wait()
    before = counted["n"]
    try:
        fit = mmm.fit(small_bayes_spec, progress=states.append)
    finally:
        during = counted["n"] - before
        stop.set()
        t.join()
    # the fit ran without the GIL: the counting thread kept running (holding the GIL for a
    # fit of this length would leave it a handful of turns at the call's boundaries)
    assert during > 1000, during
    # progress: one bar per chain, ending at tune + draws
    last = states[-1]
    assert [b[0] for b in last] == ["chain 0", "chain 1"]
    assert all(b[2] == 300 and b[3] == 300 and b[4] for b in last)

    post = fit.posterior
    if isinstance(post, dict):
        arrays = post
    else:  # arviz installed
        arrays = {k: post.posterior[k].values for k in post.posterior.data_vars}
    assert arrays["tv.beta"].shape == (2, 150)
    assert arrays["tv.geometric_adstock.decay"].shape == (2, 150)
    s = fit.summary
    assert (s["roi_ci_low"] <= s["roi"]).all() and (s["roi"] <= s["roi_ci_high"]).all()


def test_progress_false_and_tqdm_absent_are_silent(quickstart_spec, capfd):
    mmm.fit(quickstart_spec, progress=False)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
