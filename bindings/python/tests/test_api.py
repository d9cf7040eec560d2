"""mmm.validate, errors, simulate, study, plugins and schema on small data."""

import json

import pandas as pd
import pytest

import mmm
from conftest import QUICKSTART, ROOT


def test_plugins_and_schema():
    p = mmm.plugins()
    transforms = {t["type"] for t in p["transform"]}
    assert {"geometric_adstock", "hill"} <= transforms
    models = {m["type"] for m in p["model"]}
    assert {"ridge", "ols", "bayesian_mmm"} <= models
    hill = next(t for t in p["transform"] if t["type"] == "hill")
    assert "half_saturation" in json.dumps(hill["parameters"])
    s = mmm.schema()
    assert s["title"] == "mmm experiment spec"
    assert "media" in s["properties"]
    assert "properties" in mmm.simspec_schema()


def test_validate_valid_spec_and_dataframe(quickstart_spec, quickstart_df):
    assert mmm.validate(quickstart_spec) == []
    assert mmm.validate(quickstart_spec, data=quickstart_df) == []
    assert mmm.validate(quickstart_spec, data=QUICKSTART / "data.csv") == []


def test_validate_lists_every_spec_problem_by_pointer(quickstart_dict):
    spec = quickstart_dict
    spec["media"][0]["transforms"][0]["decay"] = 1.5
    spec["media"][1]["transforms"][1]["shape"] = -1
    problems = mmm.validate(spec)
    pointers = {p["pointer"] for p in problems}
    assert "/media/0/transforms/0/decay" in pointers
    assert "/media/1/transforms/1/shape" in pointers
    assert all(p["message"] for p in problems)


def test_validate_names_the_data_row_and_column(quickstart_spec, quickstart_df):
    df = quickstart_df.copy()
    df.loc[7, "tv_S"] = -5.0
    (p,) = mmm.validate(quickstart_spec, data=df)
    assert p["file"].endswith(mmm.DATAFRAME_PATH)
    assert (p["row"], p["line"], p["column"]) == (7, 9, "tv_S")
    assert "negative spend" in p["message"]


def test_spec_error_carries_the_pointer(quickstart_dict):
    spec = quickstart_dict
    spec["media"][2]["transforms"][0]["decay"] = -0.1
    with pytest.raises(mmm.SpecError) as e:
        mmm.fit(spec, progress=False)
    err = e.value
    assert isinstance(err, mmm.MmmError)
    assert err.pointer == "/media/2/transforms/0/decay"
    assert err.code == 2
    assert err.issues[0]["pointer"] == err.pointer
    assert "/media/2/transforms/0/decay" in str(err)


def test_unknown_plugin_and_bad_json_are_spec_errors(quickstart_dict):
    spec = quickstart_dict
    spec["model"] = {"type": "no_such_model"}
    with pytest.raises(mmm.SpecError) as e:
        mmm.fit(spec, progress=False)
    assert e.value.pointer.startswith("/model")
    with pytest.raises(mmm.SpecError) as e:
        mmm.fit('{"name": ', progress=False)
    assert e.value.pointer == ""


def test_data_error_carries_row_and_column(quickstart_spec, quickstart_df):
    df = quickstart_df.copy()
    df["tv_S"] = df["tv_S"].astype(object)
    df.loc[3, "tv_S"] = "lots"
    with pytest.raises(mmm.DataError) as e:
        mmm.fit(quickstart_spec, data=df, progress=False)
    err = e.value
    assert (err.row, err.line, err.column) == (3, 5, "tv_S")
    assert "'lots' is not a finite number" in err.message
    with pytest.raises(mmm.DataError) as e:
        mmm.fit(quickstart_spec, data=quickstart_df.drop(columns=["ooh_S"]), progress=False)
    assert e.value.column == "ooh_S"
    assert "no such column" in e.value.message


def test_missing_values_follow_the_cleaning_rules(quickstart_dict, quickstart_df):
    df = quickstart_df.copy()
    df.loc[10, "newsletter"] = float("nan")
    with pytest.raises(mmm.DataError) as e:
        mmm.fit(quickstart_dict, data=df, progress=False)
    assert (e.value.row, e.value.column) == (10, "newsletter")
    spec = quickstart_dict
    spec["data"]["cleaning"] = {"missing": [{"columns": ["newsletter"], "fill": "interpolate"}]}
    assert mmm.validate(spec, data=df) == []
    fit = mmm.fit(spec, data=df, progress=False)
    changes = fit.results["data_quality"]["changes"]
    assert any(c["column"] == "newsletter" and c["count"] == 1 for c in changes), changes


def test_simulate_then_fit_recovers_the_truth(root):
    sim = root / "examples" / "simulations" / "seed000"
    df, truth = mmm.simulate(sim / "simspec.json")
    csv = mmm.read_csv(sim / "data.csv")
    assert list(df.columns) == list(csv.columns)
    assert len(df) == len(csv)
    numeric = [c for c in csv.columns if c != csv.columns[0]]
    pd.testing.assert_frame_equal(df[numeric], csv[numeric])
    assert {c["name"] for c in truth["channels"]}
    spec = json.loads((sim / "spec.json").read_text())
    fit = mmm.fit(spec, data=df, progress=False)
    rois = fit.summary["roi"]
    for c in truth["channels"]:
        assert abs(rois[c["name"]] - c["roi"]) <= 0.5 * abs(c["roi"]) + 0.05, (c, rois)


def test_study_returns_the_comparison(root, tmp_path):
    sim = root / "examples" / "simulations" / "seed000"
    study = {
        "name": "py-study",
        "base": str(sim / "spec.json"),
        "truth": str(sim / "truth.json"),
        "variants": [
            {"name": "as-is", "set": {}},
            {"name": "ols", "set": {"/model": {"type": "ols"}}},
        ],
    }
    df = mmm.study(study, out=tmp_path / "study", progress=False)
    assert list(df.index) == ["as-is", "ols"]
    assert (df["status"] == "ok").all()
    assert (tmp_path / "study" / "comparison.json").is_file()
    assert (tmp_path / "study" / "report.html").is_file()
    again = mmm.study(json.dumps(study), progress=False)
    pd.testing.assert_frame_equal(df, again)
