//! Issue 17, the spec side: sizes checked before work (class 2), one column one role (class 3),
//! the user's own mistakes exit 2 (class 4), messages that name the place (class 5), and a
//! property test that mutates a valid spec and CSV. Every rejected case asserts exit code 2,
//! the spec path or file place in the message, and that `--out` was never created.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;

/// Runs `mmm run` and `mmm validate` on `spec` (written as `spec.json` next to `csv`) and
/// asserts exit 2, every fragment in run's stderr and in validate's, and no output folder.
fn rejected(csv: &str, spec: &Value, fragments: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), csv, spec);
    rejected_file(&spec_path, dir.path(), fragments);
}

/// As [`rejected`], for a spec file already written.
fn rejected_file(spec_path: &Path, dir: &Path, fragments: &[&str]) {
    let out = dir.join("out");
    for args in [
        vec![
            "run",
            spec_path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ],
        vec!["validate", spec_path.to_str().unwrap()],
    ] {
        let o = mmm(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", args[0]);
        assert!(!err.contains("panicked"), "{err}");
        for f in fragments {
            assert!(err.contains(f), "{}: expected '{f}' in: {err}", args[0]);
        }
        assert!(!out.exists(), "--out was created for a rejected input");
    }
}

/// `spec` with the value at `pointer` set (its parent must exist).
fn with(mut spec: Value, pointer: &str, v: Value) -> Value {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match spec.pointer_mut(parent).unwrap() {
        Value::Array(a) => a[key.parse::<usize>().unwrap()] = v,
        other => other[key] = v,
    }
    spec
}

#[test]
fn class2_counts_are_bounded_before_any_work() {
    let csv = weekly_csv(40);
    let bayes = |k: &str, v: Value| {
        let mut m = json!({"type": "bayesian_mmm", "progress": false});
        m[k] = v;
        with(small_spec(), "/model", m)
    };
    rejected(
        &csv,
        &bayes("draws", json!(1e12)),
        &["/model/draws", "maximum of 100000"],
    );
    rejected(&csv, &bayes("tune", json!(1e12)), &["/model/tune"]);
    // 2^64 does not fit any integer: reported at its own pointer, not at /model
    rejected(
        &csv,
        &bayes("chains", json!(18446744073709551616.0)),
        &["/model/chains"],
    );
    let mut tuned = small_spec();
    tuned["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.8]});
    tuned["tuning"] = json!({"strategy": {"type": "random"}, "evaluations": 1e12});
    rejected(&csv, &tuned, &["/tuning/evaluations", "maximum of 1000000"]);
    tuned["tuning"]["evaluations"] = json!(0);
    rejected(
        &csv,
        &tuned,
        &["/tuning/evaluations: 0 is less than the minimum of 1"],
    );
    rejected(
        &csv,
        &with(small_spec(), "/validation", json!({"folds": 1000})),
        &["/validation/folds"],
    );
    rejected(
        &csv,
        &with(
            small_spec(),
            "/baseline",
            json!({"seasonality": {"period": 52, "order": 1000}}),
        ),
        &["/baseline/seasonality/order"],
    );

    // two million controls: refused from the spec alone, before any data is read (the data
    // file does not even exist), and quickly
    let dir = tempfile::tempdir().unwrap();
    let mut spec = small_spec();
    spec["data"]["path"] = json!("missing.csv");
    spec["controls"] = Value::Array((0..2_000_000).map(|i| json!(format!("c{i}"))).collect());
    let p = dir.path().join("spec.json");
    std::fs::write(&p, spec.to_string()).unwrap();
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/controls"), "{}", stderr(&o));

    // a study grid of 100^6 variants is refused before it is expanded
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), &csv, &small_spec());
    let axis = |p: &str| json!({"path": p, "values": (0..100).map(|i| json!(0.001 * i as f64)).collect::<Vec<_>>()});
    let study = json!({
        "name": "huge",
        "base": spec_path.file_name().unwrap().to_str().unwrap(),
        "grid": [axis("/seed"), axis("/seed"), axis("/seed"), axis("/seed"), axis("/seed"), axis("/seed")]
    });
    let sp = dir.path().join("study.json");
    std::fs::write(&sp, study.to_string()).unwrap();
    let out = dir.path().join("out");
    let o = mmm(&[
        "study",
        sp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/grid"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("100 × 100 × 100 × 100 × 100 × 100"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());

    // products of counts: the memory a Bayesian fit needs is estimated against the machine
    let loaded = mmm::data::spec::parse_spec(&bayes("draws", json!(100000)), "<spec>").unwrap();
    let issues = mmm::data::budget::memory_issues(&loaded, 1000, 50, 1e9);
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].pointer, "/model");
    assert!(
        issues[0].message.contains("GB of memory"),
        "{}",
        issues[0].message
    );
    assert!(mmm::data::budget::memory_issues(&loaded, 10, 5, 1e12).is_empty());
}

#[test]
fn class3_one_column_one_role() {
    let csv = weekly_csv(40);
    let s = small_spec;
    rejected(
        &csv,
        &with(s(), "/media/0/spend", json!("sales")),
        &["/media/0/spend", "/data/target"],
    );
    rejected(
        &csv,
        &with(s(), "/media/1/spend", json!("tv")),
        &["/media/1/spend", "/media/0/spend"],
    );
    rejected(
        &csv,
        &with(s(), "/controls/0", json!("sales")),
        &["/controls/0", "/data/target"],
    );
    rejected(
        &csv,
        &with(s(), "/controls/0", json!("radio")),
        &["/controls/0", "/media/1/spend"],
    );
    rejected(
        &csv,
        &with(s(), "/media/1/name", json!("predicted")),
        &["/media/1/name", "'predicted'"],
    );
    let mut trend = with(s(), "/media/1/name", json!("trend"));
    trend["baseline"] = json!({"trend": true});
    rejected(&csv, &trend, &["/media/1/name", "/baseline/trend"]);
    rejected(
        &csv,
        &with(s(), "/media/1/name", json!("price")),
        &["/media/1/name", "/controls/0"],
    );
    let mut mediated = s();
    mediated["causal"] =
        json!({"type": "mediated", "mediator": {"column": "sales", "drivers": ["tv"]}});
    rejected(
        &csv,
        &mediated,
        &["/causal/mediator/column", "/data/target"],
    );
    // a constant target: nothing to explain
    let constant: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut c: Vec<&str> = l.split(',').collect();
            if i > 0 {
                c[1] = "100";
            }
            c.join(",") + "\n"
        })
        .collect();
    rejected(&constant, &s(), &["data.csv", "column 'sales'", "constant"]);

    // a key given twice, in an experiment spec, a study and a simulation spec
    let dir = tempfile::tempdir().unwrap();
    let spec_path = write_case(dir.path(), &csv, &s());
    let text = std::fs::read_to_string(&spec_path).unwrap();
    let doubled = text.replacen('{', "{\"seed\": 1, \"seed\": 2,", 1);
    std::fs::write(&spec_path, doubled).unwrap();
    rejected_file(&spec_path, dir.path(), &["/seed", "given twice"]);
    let study = dir.path().join("study.json");
    std::fs::write(
        &study,
        r#"{"name": "s", "name": "t", "base": "spec.json", "variants": [{"name": "a", "set": {}}]}"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let o = mmm(&[
        "study",
        study.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/name") && stderr(&o).contains("given twice"),
        "{}",
        stderr(&o)
    );
    let sim = root().join("examples/simulations/seed000/simspec.json");
    let text = std::fs::read_to_string(sim).unwrap();
    let simspec = dir.path().join("simspec.json");
    std::fs::write(
        &simspec,
        text.replacen('{', "{\"seed\": 1, \"seed\": 2,", 1),
    )
    .unwrap();
    let o = mmm(&[
        "simulate",
        simspec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/seed"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn class4_the_users_own_mistakes_exit_2() {
    let csv = weekly_csv(40);
    let s = small_spec;
    let mut twice = s();
    twice["controls"] = json!(["price", "price"]);
    rejected(&csv, &twice, &["/controls/1", "/controls/0", "'price'"]);
    for (period, fragment) in [
        (json!(2), "/baseline/seasonality/period"),
        (json!(1e308), "/baseline/seasonality/period"),
    ] {
        rejected(
            &csv,
            &with(
                s(),
                "/baseline",
                json!({"seasonality": {"period": period, "order": 1}}),
            ),
            &[fragment],
        );
    }
    // harmonics at or above the Nyquist rate
    rejected(
        &csv,
        &with(
            s(),
            "/baseline",
            json!({"seasonality": {"period": 6, "order": 3}}),
        ),
        &["/baseline/seasonality/order"],
    );
    let mut sat = s();
    sat["media"][1]["transforms"] =
        json!([{"type": "hill", "half_saturation": 1e308, "shape": 1.0}]);
    rejected(
        &csv,
        &sat,
        &["/media/1/transforms", "'radio'", "numerically zero"],
    );
    rejected(
        &csv,
        &with(s(), "/validation", json!({"test_fraction": 0.99})),
        &["/validation/test_fraction", "0.99"],
    );
    let mut tuned = s();
    tuned["media"][0]["transforms"][0]["decay"] = json!({"range": [0.0, 0.8]});
    tuned["tuning"] = json!({"strategy": {"type": "random"}, "evaluations": 10, "objectives": ["nrmse", "nrmse"]});
    rejected(&csv, &tuned, &["/tuning/objectives"]);
    // a design the spec makes singular names the columns and the spec paths
    let copy: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let c: Vec<&str> = l.split(',').collect();
            let extra = if i == 0 {
                "price2".to_string()
            } else {
                format!("{}", 2.0 * c[4].parse::<f64>().unwrap())
            };
            format!("{l},{extra}\n")
        })
        .collect();
    let mut both = s();
    both["controls"] = json!(["price", "price2"]);
    rejected(
        &copy,
        &both,
        &[
            "singular",
            "'price2' (/controls/1)",
            "'price' (/controls/0)",
        ],
    );
    // infeasible optimizer bounds name the section
    let mut opt = s();
    opt["optimizer"] = json!({"type": "max_response", "bounds": {"default": {"min_share": 0.9}}});
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &csv, &opt);
    let out = dir.path().join("out");
    let o = mmm(&["run", p.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("/optimizer"), "{}", stderr(&o));
    assert!(!out.exists());
}

#[test]
fn class5_messages_name_the_place() {
    let csv = weekly_csv(40);
    let s = small_spec;
    rejected(
        &csv,
        &with(s(), "/optimizer", json!({"type": "max_respons"})),
        &["/optimizer/type", "did you mean 'max_response'?"],
    );
    rejected(
        &csv,
        &with(s(), "/model", json!({"type": "ridge", "alpah": 1.0})),
        &["/model/alpah", "unknown field", "did you mean 'alpha'?"],
    );
    rejected(
        &csv,
        &with(s(), "/validation", json!({"test_fraction": "0.2"})),
        &["/validation/test_fraction"],
    );
    rejected(
        &csv,
        &with(s(), "/data/target", json!("sale")),
        &["column 'sale'", "did you mean 'sales'?"],
    );
    rejected(&csv.replace(',', ";"), &s(), &["semicolons"]);
    let mut causal = s();
    causal["causal"] = json!({"type": "mediated", "mediator": {"column": "price", "drivers": []}});
    causal["controls"] = json!([]);
    rejected(&csv, &causal, &["/causal/mediator/drivers"]);

    // a UTF-8 BOM is accepted; a non-UTF-8 spec names the byte offset
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(dir.path(), &csv, &s());
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(std::fs::read(&p).unwrap());
    std::fs::write(&p, &bytes).unwrap();
    let o = mmm(&["validate", p.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = serde_json::to_string(&s())
        .unwrap()
        .replace("small", "sm\u{e4}ll");
    let mut latin1 = text.into_bytes();
    let at = latin1
        .windows(2)
        .position(|w| w == "\u{e4}".as_bytes())
        .unwrap();
    latin1.splice(at..at + 2, [0xE4]);
    std::fs::write(&p, &latin1).unwrap();
    rejected_file(&p, dir.path(), &[&format!("byte offset {at}"), "UTF-8"]);

    // validate reports every problem, in the spec and in the data, in one run
    let bad_cells: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            let mut c: Vec<String> = l.split(',').map(str::to_string).collect();
            if i == 4 {
                c[2] = "12a".into();
                c[4] = String::new();
            }
            c.join(",") + "\n"
        })
        .collect();
    let bad = with(s(), "/media/0/transforms/0/decay", json!(1.5));
    rejected(
        &bad_cells,
        &with(bad, "/model", json!({"type": "ridge", "alpha": -1})),
        &[],
    );
    let dir = tempfile::tempdir().unwrap();
    let p = write_case(
        dir.path(),
        &bad_cells,
        &with(
            with(s(), "/media/0/transforms/0/decay", json!(1.5)),
            "/model",
            json!({"type": "ridge", "alpha": -1}),
        ),
    );
    let o = mmm(&["validate", p.to_str().unwrap()]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    for f in [
        "/media/0/transforms/0/decay",
        "/model/alpha",
        "line 5, column 'tv'",
        "line 5, column 'price'",
    ] {
        assert!(err.contains(f), "expected '{f}' in: {err}");
    }
}
