//! The in-house binary knows its own transform everywhere: in `plugins`, in `schema`, in
//! `validate`, and in `run`.

use std::path::PathBuf;
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mmm-inhouse"))
        .args(args)
        .output()
        .unwrap()
}

fn spec() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("spec.json")
}

#[test]
fn power_decay_is_listed_with_its_parameters() {
    let o = run(&["plugins"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("power_decay") && text.contains("power ("),
        "{text}"
    );
    assert!(
        text.contains("geometric_adstock"),
        "built-in plugins are still there"
    );
}

#[test]
fn power_decay_is_in_the_schema() {
    let o = run(&["schema"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let tags = v["$defs"]["Transform"]["properties"]["type"]["enum"]
        .as_array()
        .unwrap();
    assert!(tags.contains(&serde_json::json!("power_decay")));
}

#[test]
fn power_decay_validates_and_runs() {
    let o = run(&["validate", spec().to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let dir = tempfile_dir();
    let o = run(&[
        "run",
        spec().to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["channels"][0]["name"], "tv");
    assert!(r["channels"][0]["contribution"]
        .as_f64()
        .unwrap()
        .is_finite());
    // its bad parameter is reported by pointer, with exit code 2
    let bad = dir.join("bad.json");
    let mut s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(spec()).unwrap()).unwrap();
    s["media"][0]["transforms"][0]["power"] = serde_json::json!(-1.0);
    s["data"]["path"] = serde_json::json!(spec().parent().unwrap().join("../quickstart/data.csv"));
    std::fs::write(&bad, s.to_string()).unwrap();
    let o = run(&["validate", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/media/0/transforms/0/power"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("mmm-inhouse-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
