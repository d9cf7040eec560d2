//! Issue 17, input and output side: no panic (numbers that break statistics, closed pipes),
//! input files that are not regular files or are unbounded, all-or-nothing outputs (stale
//! files, interrupted runs, `--out` mistakes), output modes, file contents never echoed,
//! `--data-root`, and simulations whose data `mmm run` could not read. One test per class;
//! each asserts the exit code, the place the message names, and what `--out` holds after.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `mmm args` with a timeout: a regression that blocks (a FIFO) fails instead of hanging.
fn mmm_timeout(args: &[&str], secs: u64) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mmm"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        if start.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("mmm {args:?} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every entry of `dir` (recursively, relative paths), sorted; empty when it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else {
            return;
        };
        for e in rd {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Every file of `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    listing(dir)
        .into_iter()
        .filter(|n| dir.join(n).is_file())
        .map(|n| {
            let b = std::fs::read(dir.join(&n)).unwrap();
            (n, b)
        })
        .collect()
}

fn run_args<'a>(spec: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec![
        "run",
        spec.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]
}

fn assert_rejected(o: &Output, fragments: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    for f in fragments {
        assert!(err.contains(f), "expected '{f}' in: {err}");
    }
    assert!(
        !err.contains("panicked") && !err.contains("bug in mmm"),
        "{err}"
    );
}

/// Class 1: numbers that break a statistic give a null statistic with a warning, not a panic;
/// every printing command ends quietly on a closed pipe.
#[test]
fn class1_no_panic_on_extreme_numbers_or_closed_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let base = weekly_csv(40);
    // the target scaled by 1e-300 (squares underflow to 0: the F-test's ratio is NaN), or one
    // cell of 1e308 (sums overflow; the report's axes once made plotters loop for ever)
    let target = |f: &dyn Fn(usize, f64) -> f64| {
        let mut lines: Vec<String> = base.lines().map(str::to_string).collect();
        for (i, l) in lines.iter_mut().enumerate().skip(1) {
            let mut cells: Vec<String> = l.split(',').map(str::to_string).collect();
            let v: f64 = cells[1].parse().unwrap();
            cells[1] = format!("{:e}", f(i, v));
            *l = cells.join(",");
        }
        lines.join("\n") + "\n"
    };
    let tiny = target(&|_, v| v * 1e-300);
    let huge = target(&|i, v| if i == 5 { 1e308 } else { v });
    for (csv, null_f) in [(tiny, true), (huge, false)] {
        let spec = write_case(dir.path(), &csv, &small_spec());
        let out = dir.path().join("out");
        let o = mmm_timeout(&run_args(&spec, &out), 120);
        let err = stderr(&o);
        assert!(
            !err.contains("panicked") && !err.contains("bug in mmm"),
            "{err}"
        );
        assert!(matches!(o.status.code(), Some(0) | Some(2)), "{err}");
        if o.status.success() {
            let r: Value =
                serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap())
                    .unwrap();
            let p = &r["model"]["statistics"]["f_pvalue"];
            if null_f {
                assert!(p.is_null(), "{p}");
            }
            if p.is_null() {
                assert!(
                    err.contains("f_pvalue"),
                    "a null statistic has a warning: {err}"
                );
            }
            std::fs::remove_dir_all(&out).unwrap();
        } else {
            assert!(listing(&out).is_empty());
        }
    }
    let spec = dir.path().join("spec.json");

    // stdout closed before anything is written: every command that prints ends quietly
    let spec_s = spec.to_str().unwrap().to_string();
    for args in [
        vec!["schema"],
        vec!["plugins"],
        vec!["plugins", "--json"],
        vec!["simulate", "--schema"],
        vec!["validate", spec_s.as_str()],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = Command::new(env!("CARGO_BIN_EXE_mmm"))
            .args(&args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = stderr(&o);
        assert!(!err.contains("panicked"), "mmm {args:?}: {err}");
        assert_eq!(o.status.code(), Some(0), "mmm {args:?}: {err}");
    }
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let s = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(s.success());
}

/// Class 2 (input files): a FIFO, `/dev/zero` or a folder as data, calendar or spec is
/// refused at once, naming the file and the spec path; an over-long line is refused naming
/// its line.
#[cfg(unix)]
#[test]
fn class2_inputs_must_be_bounded_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.csv");
    mkfifo(&fifo);
    let folder = dir.path().join("folder.csv");
    std::fs::create_dir(&folder).unwrap();
    for (target, kind) in [
        (fifo.to_str().unwrap(), "FIFO"),
        ("/dev/zero", "character device"),
        (folder.to_str().unwrap(), "directory"),
    ] {
        let mut spec = small_spec();
        spec["data"]["path"] = json!(target);
        let spec_path = write_case(dir.path(), &weekly_csv(40), &spec);
        let out = dir.path().join("out");
        let o = mmm_timeout(&run_args(&spec_path, &out), 60);
        assert_rejected(&o, &[target, "/data/path", kind]);
        assert!(!out.exists(), "nothing written for {target}");
        let v = mmm_timeout(&["validate", spec_path.to_str().unwrap()], 60);
        assert_rejected(&v, &[target, "/data/path"]);
        // the holiday calendar goes through the same check
        let mut spec = small_spec();
        spec["baseline"] = json!({"holidays": {"path": target}});
        let spec_path = write_case(dir.path(), &weekly_csv(40), &spec);
        let o = mmm_timeout(&run_args(&spec_path, &out), 60);
        assert_rejected(&o, &[target, "/baseline/holidays/path"]);
        assert!(!out.exists());
    }
    // the spec itself
    let o = mmm_timeout(&["validate", fifo.to_str().unwrap()], 60);
    assert_rejected(&o, &[fifo.to_str().unwrap(), "FIFO"]);
    let o = mmm_timeout(&["validate", "/dev/zero"], 60);
    assert_rejected(&o, &["/dev/zero"]);

    // a line longer than 1 MiB (the header here)
    let long = format!("{},{}\n", "x".repeat(2 << 20), weekly_csv(40));
    let spec_path = write_case(dir.path(), &long, &small_spec());
    let out = dir.path().join("out");
    let o = mmm_timeout(&run_args(&spec_path, &out), 60);
    assert_rejected(&o, &["data.csv", "line 1", "longer than"]);
    assert!(!out.exists());
}

/// Class 6: all or nothing. Stale outputs of an earlier run are removed, a staging folder a
/// killed run left is removed, and `--out` mistakes are refused before any work.
#[test]
fn class6_runs_are_all_or_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let spec = write_case(dir.path(), &weekly_csv(40), &small_spec());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    // an earlier Bayesian run's draws, a killed run's staging folder and temporary file, and
    // a file of the user's own
    std::fs::write(out.join("draws.csv"), "chain,draw\n0,0\n").unwrap();
    std::fs::write(out.join("comparison.json"), "{}").unwrap();
    std::fs::create_dir(out.join(".mmm-staging-dead")).unwrap();
    std::fs::write(out.join(".mmm-staging-dead/results.json"), "half").unwrap();
    std::fs::write(out.join(".results.sqlite.a1b2c3.tmp"), "half").unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let o = mmm(&run_args(&spec, &out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        listing(&out),
        [
            "decomposition.csv",
            "model.json",
            "notes.txt",
            "report.html",
            "results.json",
            "results.sqlite",
            "run.json"
        ]
    );
    let before = snapshot(&out);

    // --out is an existing file: refused before any work
    let file = dir.path().join("file");
    std::fs::write(&file, "x").unwrap();
    let o = mmm(&run_args(&spec, &file));
    assert_rejected(&o, &["--out", file.to_str().unwrap(), "not a folder"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");

    // --out holds the spec and the data: refused, the inputs untouched
    let o = mmm(&run_args(&spec, dir.path()));
    assert_rejected(&o, &["--out", "input"]);
    assert!(!dir.path().join("results.json").exists());
    let inner = dir.path().join("inner");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(inner.join("decomposition.csv"), weekly_csv(40)).unwrap();
    let mut s = small_spec();
    s["data"]["path"] = json!("inner/decomposition.csv");
    let spec2 = dir.path().join("spec2.json");
    std::fs::write(&spec2, s.to_string()).unwrap();
    let o = mmm(&run_args(&spec2, &inner));
    assert_rejected(&o, &["--out", "decomposition.csv"]);
    assert_eq!(
        std::fs::read_to_string(inner.join("decomposition.csv")).unwrap(),
        weekly_csv(40)
    );

    // a failing run into the folder leaves it as it was
    let mut bad = small_spec();
    bad["controls"] = json!(["no_such_column"]);
    let spec3 = dir.path().join("spec3.json");
    std::fs::write(&spec3, bad.to_string()).unwrap();
    let o = mmm(&run_args(&spec3, &out));
    assert_rejected(&o, &["no_such_column"]);
    assert_eq!(snapshot(&out), before);
}

/// Class 6: SIGTERM while a run is staging its outputs (a test hook pauses it there and says
/// so with a marker file) leaves the earlier outputs byte for byte and no temporary file;
/// SIGKILL leaves a staging folder that the next run removes.
#[cfg(unix)]
#[test]
fn class6_a_killed_run_leaves_the_earlier_outputs() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let spec = write_case(dir.path(), &weekly_csv(40), &small_spec());
    let out = dir.path().join("out");
    let o = mmm(&run_args(&spec, &out));
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(&out);
    // a different model: different outputs, had they been moved in
    let mut s = small_spec();
    s["model"] = json!({"type": "ridge", "alpha": 5.0});
    let spec2 = dir.path().join("ridge.json");
    std::fs::write(&spec2, s.to_string()).unwrap();

    for (signal, name) in [(15, "TERM"), (2, "INT"), (9, "KILL")] {
        let marker = dir.path().join(format!("staged-{name}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_mmm"))
            .args(run_args(&spec2, &out))
            .env("MMM_TEST_PAUSE_BEFORE_COMMIT", &marker)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        while !marker.exists() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the run never reached its staging phase"
            );
            if let Some(s) = child.try_wait().unwrap() {
                panic!("the run ended before staging: {s:?}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // the staging folder holds the new outputs now
        let staged = listing(&out)
            .into_iter()
            .filter(|n| n.starts_with(".mmm-staging-") && n.ends_with("results.json"))
            .count();
        assert_eq!(staged, 1, "{:?}", listing(&out));
        let k = Command::new("kill")
            .args([format!("-{name}"), child.id().to_string()])
            .status()
            .unwrap();
        assert!(k.success());
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(signal), "{status:?}");
        if signal != 9 {
            assert_eq!(snapshot(&out), before, "SIG{name}");
            assert!(
                listing(&out).iter().all(|n| !n.starts_with('.')),
                "SIG{name} left {:?}",
                listing(&out)
            );
        }
    }
    // SIGKILL cannot be caught: its staging folder stays until the next run into the folder
    assert!(listing(&out).iter().any(|n| n.starts_with(".mmm-staging-")));
    assert_eq!(
        snapshot(&out)
            .into_iter()
            .filter(|(n, _)| !n.starts_with('.'))
            .collect::<Vec<_>>(),
        before
    );
    let o = mmm(&run_args(&spec2, &out));
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(listing(&out).iter().all(|n| !n.starts_with('.')));
    assert_ne!(snapshot(&out), before);
}

/// Class 8: outputs get the mode the umask gives (0644 and 0755 with umask 022), for `run`
/// (including the SQLite database), `study` (its variants folder) and `simulate`.
#[cfg(unix)]
#[test]
fn class8_outputs_are_readable_by_group_and_others_under_umask_022() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let spec = write_case(dir.path(), &weekly_csv(40), &small_spec());
    let study = dir.path().join("study.json");
    std::fs::write(
        &study,
        json!({"name": "s", "base": "spec.json",
               "variants": [{"name": "a", "set": {}}, {"name": "b", "set": {"/model": {"type": "ridge", "alpha": 1.0}}}]})
        .to_string(),
    )
    .unwrap();
    let sim = dir.path().join("simspec.json");
    std::fs::copy(
        root().join("examples/simulations/seed000/simspec.json"),
        &sim,
    )
    .unwrap();
    let bin = env!("CARGO_BIN_EXE_mmm");
    for (args, out) in [
        (
            format!(
                "run {} --out {}",
                spec.display(),
                dir.path().join("r").display()
            ),
            "r",
        ),
        (
            format!(
                "study {} --out {}",
                study.display(),
                dir.path().join("s").display()
            ),
            "s",
        ),
        (
            format!(
                "simulate {} --out {}",
                sim.display(),
                dir.path().join("m").display()
            ),
            "m",
        ),
    ] {
        let o = Command::new("sh")
            .arg("-c")
            .arg(format!("umask 022 && exec {bin} -q {args}"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{args}: {}", stderr(&o));
        let out = dir.path().join(out);
        let names = listing(&out);
        assert!(names.len() >= 2, "{names:?}");
        for n in names {
            let m = std::fs::metadata(out.join(&n)).unwrap();
            let want = if m.is_dir() { 0o755 } else { 0o644 };
            assert_eq!(m.permissions().mode() & 0o777, want, "{args}: {n}");
        }
    }
}

/// Class 7: a file that is not a CSV with the expected columns is named with the missing
/// column, and its contents are never quoted; `--data-root` refuses files outside it,
/// symlinks included.
#[cfg(unix)]
#[test]
fn class7_file_contents_are_never_echoed_and_data_root_confines_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("shadow");
    std::fs::write(
        &secret,
        "root:$6$SECRETSALT$SECRETHASHSECRETHASH:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n",
    )
    .unwrap();
    let environ = dir.path().join("environ");
    std::fs::write(
        &environ,
        b"PATH=/bin\0AWS_SECRET_ACCESS_KEY=SECRETKEY\0HOME=/root\0",
    )
    .unwrap();
    let out = dir.path().join("out");
    for file in [&secret, &environ] {
        let mut spec = small_spec();
        spec["data"]["path"] = json!(file.to_str().unwrap());
        let spec_path = write_case(dir.path(), &weekly_csv(40), &spec);
        for cmd in ["run", "validate"] {
            let o = if cmd == "run" {
                mmm(&run_args(&spec_path, &out))
            } else {
                mmm(&["validate", spec_path.to_str().unwrap()])
            };
            assert_rejected(&o, &[file.to_str().unwrap(), "'week'"]);
            let err = stderr(&o);
            assert!(!err.contains("SECRET") && !err.contains("daemon"), "{err}");
        }
        assert!(!out.exists());
    }
    // a CSV whose header holds names: they are listed, each cut at 64 characters
    let long = "n".repeat(100);
    let csv = format!("a,{long}\n1,2\n");
    std::fs::write(dir.path().join("other.csv"), csv).unwrap();
    let mut spec = small_spec();
    spec["data"]["path"] = json!("other.csv");
    let spec_path = write_case(dir.path(), &weekly_csv(40), &spec);
    let o = mmm(&run_args(&spec_path, &out));
    assert_rejected(&o, &["other.csv", "'week'", "the columns are: a, "]);
    assert!(!stderr(&o).contains(&"n".repeat(65)));

    // --data-root: data outside it, or a symlink inside it that leads out, is refused
    let root_dir = dir.path().join("root");
    std::fs::create_dir(&root_dir).unwrap();
    let outside = dir.path().join("outside.csv");
    std::fs::write(&outside, weekly_csv(40)).unwrap();
    std::os::unix::fs::symlink(&outside, root_dir.join("link.csv")).unwrap();
    std::fs::write(root_dir.join("data.csv"), weekly_csv(40)).unwrap();
    let spec_dir = dir.path().join("specs");
    std::fs::create_dir(&spec_dir).unwrap();
    let root_s = root_dir.to_str().unwrap();
    for (path, ok) in [
        (outside.to_str().unwrap().to_string(), false),
        (
            root_dir.join("link.csv").to_str().unwrap().to_string(),
            false,
        ),
        (format!("{root_s}/../outside.csv"), false),
        (
            root_dir.join("data.csv").to_str().unwrap().to_string(),
            true,
        ),
    ] {
        let mut spec = small_spec();
        spec["data"]["path"] = json!(path);
        let p = spec_dir.join("spec.json");
        std::fs::write(&p, spec.to_string()).unwrap();
        let v = mmm(&["validate", p.to_str().unwrap(), "--data-root", root_s]);
        let mut args = run_args(&p, &out);
        args.extend(["--data-root", root_s]);
        let o = mmm(&args);
        if ok {
            assert!(v.status.success(), "{}", stderr(&v));
            assert!(o.status.success(), "{}", stderr(&o));
            std::fs::remove_dir_all(&out).unwrap();
        } else {
            for o in [&v, &o] {
                assert_rejected(o, &["/data/path", "outside the data root", "--data-root"]);
            }
            assert!(!out.exists());
        }
    }
}

/// simulate refuses parameters whose data would not be finite or whose dates `mmm run`
/// could not read, naming the simulation spec and the parameter.
#[test]
fn simulate_refuses_data_that_run_could_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("examples/simulations/seed000/simspec.json")).unwrap(),
    )
    .unwrap();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"noise_sd": 1e308}), "/noise_sd"),
        (json!({"intercept": -1e300}), "/intercept"),
        (json!({"start": "9999-12-31"}), "/periods"),
        (json!({"start": "9999-01-04", "periods": 60}), "/periods"),
    ];
    for (patch, pointer) in cases {
        let mut s = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            s[k] = v.clone();
        }
        let p = dir.path().join("simspec.json");
        std::fs::write(&p, s.to_string()).unwrap();
        let out = dir.path().join("out");
        let o = mmm(&[
            "simulate",
            p.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_rejected(&o, &[p.to_str().unwrap(), pointer]);
        assert!(!out.exists(), "{patch}");
    }
}
