"""mmm.load, SavedModel.predict and Fit.predict against `mmm predict` on examples/planning."""

import json
import math
from pathlib import Path

import pandas as pd
import pytest

import mmm
from conftest import ROOT, run_cli

PLANNING = ROOT / "examples" / "planning"


@pytest.fixture(scope="module")
def cli_forecast(tmp_path_factory):
    """`mmm run` then `mmm predict` on the planning example; returns (model dir, forecast dir)."""
    base = tmp_path_factory.mktemp("planning")
    model_dir, forecast_dir = base / "model", base / "forecast"
    assert run_cli(["-q", "run", PLANNING / "spec.json", "--out", model_dir]) == 0
    assert run_cli(["-q", "predict", model_dir, "--plan", PLANNING / "plan.csv", "--out", forecast_dir]) == 0
    return model_dir, forecast_dir


def _without_plan_source(forecast: dict) -> dict:
    f = json.loads(json.dumps(forecast))
    f.pop("plan")
    return f


def test_load_and_predict_a_plan_file_writes_the_cli_bytes(cli_forecast):
    model_dir, forecast_dir = cli_forecast
    model = mmm.load(model_dir)
    assert model.channels == ["tv", "digital", "print", "radio"]
    fc = model.predict(PLANNING / "plan.csv")
    assert fc.to_csv_text() == (forecast_dir / "forecast.csv").read_text()
    assert fc.to_json_text() == (forecast_dir / "forecast.json").read_text()


def test_a_plan_dataframe_gives_the_same_numbers(cli_forecast):
    model_dir, forecast_dir = cli_forecast
    plan = mmm.read_csv(PLANNING / "plan.csv")
    plan["date"] = pd.to_datetime(plan["date"])
    fc = mmm.load(model_dir / "model.json").predict(plan.set_index("date"))
    cli = json.loads((forecast_dir / "forecast.json").read_text())
    assert fc.results["plan"]["path"] == mmm.PLAN_DATAFRAME_PATH
    assert fc.results["plan"]["sha256"] is None
    assert _without_plan_source(fc.results) == _without_plan_source(cli)
    assert fc.to_csv_text() == (forecast_dir / "forecast.csv").read_text()
    periods = fc.periods
    assert isinstance(periods.index, pd.DatetimeIndex)
    parts = periods.drop(columns=["expected", "low", "high"]).sum(axis=1)
    for a, b in zip(parts, periods["expected"]):
        assert math.isclose(a, b, rel_tol=1e-9)
    ch = fc.channels
    assert list(ch.index) == ["tv", "digital", "print", "radio"]
    assert ch.loc["tv", "spend"] == next(c["spend"] for c in cli["channels"] if c["name"] == "tv")


def test_fit_predict_equals_the_saved_model(cli_forecast):
    model_dir, forecast_dir = cli_forecast
    fit = mmm.fit(PLANNING / "spec.json", progress=False)
    fc = fit.predict(PLANNING / "plan.csv")
    # the same model.json bytes, so the same SHA-256 in forecast.json
    assert fc.to_json_text() == (forecast_dir / "forecast.json").read_text()
    assert fc.to_csv_text() == (forecast_dir / "forecast.csv").read_text()


def test_a_bad_plan_raises_a_data_error_naming_row_and_column(cli_forecast, tmp_path):
    model_dir, _ = cli_forecast
    plan = mmm.read_csv(PLANNING / "plan.csv")
    plan.loc[3, "tv"] = -5.0
    with pytest.raises(mmm.DataError) as e:
        mmm.load(model_dir).predict(plan)
    assert e.value.file == mmm.PLAN_DATAFRAME_PATH
    assert e.value.column == "tv"
    assert e.value.row == 3
    assert e.value.code == 2


def test_loading_another_format_version_names_it(tmp_path):
    (tmp_path / "model.json").write_text('{"format_version": 99, "tool_version": "9.9.9"}')
    with pytest.raises(mmm.DataError) as e:
        mmm.load(tmp_path)
    assert "version 99" in str(e.value) and "9.9.9" in str(e.value)
