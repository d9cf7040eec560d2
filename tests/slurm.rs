//! The Slurm manifests of `examples/scale-out/` on a real single-node cluster
//! (`tools/slurm/cluster`: munged, slurmctld and slurmd under a temporary folder):
//!
//! 1. `slurm-study.sbatch` as an array of 4 tasks and `slurm-merge.sbatch` with
//!    `--dependency=afterok` give the bytes of one `mmm study` process;
//! 2. with one array task cancelled, the merge never starts (`DependencyNeverSatisfied`), run
//!    anyway it fails naming the missing shard and writes nothing, and rerunning only that task
//!    and then the merge gives the same bytes.
//!
//! Needs Slurm and munge (`tools/slurm/cluster install`) and root. Without them the test prints
//! why it skips, and fails when `MMM_REQUIRE_SLURM=1` (set by `.ci/run`, which installs them).

mod common;

use common::{mmm, root, stderr};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

/// How long one job may take before the test gives up on it.
const JOB_DEADLINE: Duration = Duration::from_secs(300);

/// Why this machine cannot run the cluster, if it cannot.
fn missing_slurm() -> Option<String> {
    let on_path = |c: &str| {
        std::env::var_os("PATH")
            .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(c).is_file()))
    };
    let absent: Vec<&str> = [
        "munged",
        "mungekey",
        "slurmctld",
        "slurmd",
        "sbatch",
        "scontrol",
    ]
    .into_iter()
    .filter(|c| !on_path(c))
    .collect();
    if !absent.is_empty() {
        return Some(format!(
            "{} not found (tools/slurm/cluster install)",
            absent.join(", ")
        ));
    }
    let uid = Command::new("id").arg("-u").output().ok()?;
    (String::from_utf8_lossy(&uid.stdout).trim() != "0")
        .then(|| "slurmd must run as root to start the jobs".into())
}

/// A running cluster: `tools/slurm/cluster up DIR`, held by its stdin. Dropping it (also when
/// the test panics) closes stdin, and the script stops the daemons it started; if this process
/// dies, the pipe closes just the same.
struct Cluster {
    child: Child,
    stdin: Option<ChildStdin>,
    conf: PathBuf,
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        let mut child = Command::new(root().join("tools/slurm/cluster"))
            .arg("up")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tools/slurm/cluster starts");
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let conf = lines
            .find_map(|l| l.ok()?.strip_prefix("ready SLURM_CONF=").map(PathBuf::from))
            .unwrap_or_else(|| {
                let status = child.wait();
                panic!(
                    "the cluster did not start ({status:?}); logs in {}/log",
                    dir.display()
                )
            });
        Cluster { child, stdin, conf }
    }

    /// A Slurm command of this cluster.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    /// Runs a Slurm command; its stdout, or a panic with its stderr.
    fn run(&self, program: &str, args: &[&str], cwd: &Path) -> String {
        let o = self
            .cmd(program)
            .args(args)
            .current_dir(cwd)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `sbatch --parsable ARGS`: the job id.
    fn sbatch(&self, args: &[&str], cwd: &Path) -> String {
        let mut all = vec!["--parsable"];
        all.extend(args);
        let out = self.run("sbatch", &all, cwd);
        out.trim().split(';').next().unwrap().to_string()
    }

    /// Every record of a job (one per array task once they are split), as `key → value`.
    fn records(&self, job: &str) -> Vec<BTreeMap<String, String>> {
        let out = self.run("scontrol", &["-o", "show", "job", job], Path::new("/"));
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// Polls the job's records until `done` holds for them, or panics after [`JOB_DEADLINE`].
    fn wait_for(
        &self,
        job: &str,
        what: &str,
        done: impl Fn(&[BTreeMap<String, String>]) -> bool,
    ) -> Vec<BTreeMap<String, String>> {
        let start = Instant::now();
        loop {
            let r = self.records(job);
            if done(&r) {
                return r;
            }
            assert!(
                start.elapsed() < JOB_DEADLINE,
                "job {job}: not {what} after {JOB_DEADLINE:?}: {r:#?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits until every task of the job has ended; `task id → (state, exit code)`.
    fn wait_ended(&self, job: &str) -> BTreeMap<String, (String, String)> {
        let ended = |r: &BTreeMap<String, String>| {
            matches!(
                r["JobState"].as_str(),
                "COMPLETED"
                    | "FAILED"
                    | "CANCELLED"
                    | "TIMEOUT"
                    | "NODE_FAIL"
                    | "OUT_OF_MEMORY"
                    | "BOOT_FAIL"
                    | "DEADLINE"
                    | "PREEMPTED"
            )
        };
        let r = self.wait_for(job, "ended", |r| r.iter().all(ended));
        r.iter()
            .map(|r| {
                let task = r.get("ArrayTaskId").cloned().unwrap_or_default();
                (task, (r["JobState"].clone(), r["ExitCode"].clone()))
            })
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}

/// Every file under `dir` (relative path → bytes), skipping Slurm's logs and the shard folders.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(base: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_path_buf();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            if top.starts_with("shard-") || top.ends_with(".log") {
                continue;
            }
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The merged outputs equal one process's, file for file and byte for byte.
fn assert_same_outputs(whole: &Path, merged: &Path) {
    let (a, b) = (tree(whole), tree(merged));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the merged folder {} holds other files than one run's {}",
        merged.display(),
        whole.display()
    );
    for f in [
        "comparison.csv",
        "comparison.json",
        "results.sqlite",
        "report.html",
    ] {
        assert!(a.contains_key(Path::new(f)), "one run wrote no {f}");
    }
    for (f, bytes) in &a {
        assert!(
            &b[f] == bytes,
            "{}: merged shards differ from one run",
            f.display()
        );
    }
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| format!("({name}: {e})"))
}

#[test]
fn slurm_array_and_merge_give_one_runs_bytes_and_a_lost_shard_is_named() {
    if let Some(why) = missing_slurm() {
        if std::env::var("MMM_REQUIRE_SLURM").as_deref() == Ok("1") {
            panic!("MMM_REQUIRE_SLURM=1 but Slurm cannot run here: {why}");
        }
        eprintln!("SKIPPED slurm: {why}; .ci/run installs Slurm and sets MMM_REQUIRE_SLURM=1");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let work = d.path();
    let study = root().join("examples/simulations/seed000/study.json");
    let manifests = root().join("examples/scale-out");
    let study_sbatch = manifests.join("slurm-study.sbatch");
    let merge_sbatch = manifests.join("slurm-merge.sbatch");
    let (study_sbatch, merge_sbatch) = (
        study_sbatch.to_str().unwrap(),
        merge_sbatch.to_str().unwrap(),
    );

    // One process, for the bytes and the timing.
    let whole = work.join("whole");
    let t = Instant::now();
    let o = mmm(&[
        "-q",
        "study",
        study.to_str().unwrap(),
        "--out",
        whole.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let one_process = t.elapsed();

    let cluster = Cluster::start(&work.join("cluster"));
    let export = |out: &Path| {
        format!(
            "--export=ALL,MMM={},STUDY={},OUT={},SHARDS=4",
            env!("CARGO_BIN_EXE_mmm"),
            study.display(),
            out.display()
        )
    };
    // The node has 2 CPUs: one per task, so that two tasks run at once.
    let array = ["--array=0-3", "--cpus-per-task=1", "--mem=256M"];

    // 1. The array and the merge, as docs/scale-out.md submits them.
    let out = work.join("array");
    let t = Instant::now();
    let e = export(&out);
    let mut args = array.to_vec();
    args.extend([e.as_str(), study_sbatch]);
    let job = cluster.sbatch(&args, work);
    let dep = format!("--dependency=afterok:{job}");
    let merge = cluster.sbatch(&[&dep, &e, merge_sbatch], work);
    eprintln!("$ squeue\n{}", cluster.run("squeue", &[], work));
    // The tasks first: when one fails, the merge would wait forever (DependencyNeverSatisfied).
    let tasks = cluster.wait_ended(&job);
    assert_eq!(tasks.len(), 4, "{tasks:?}");
    for (task, (state, code)) in &tasks {
        assert_eq!(
            (state.as_str(), code.as_str()),
            ("COMPLETED", "0:0"),
            "task {task}: {}",
            log(work, &format!("mmm-study-{job}_{task}.log"))
        );
    }
    let merged = cluster.wait_ended(&merge);
    let array_run = t.elapsed();
    assert_eq!(
        merged[""],
        ("COMPLETED".to_string(), "0:0".to_string()),
        "{}",
        log(work, &format!("mmm-study-merge-{merge}.log"))
    );
    assert_same_outputs(&whole, &out);
    for r in cluster.records(&job).iter().chain(&cluster.records(&merge)) {
        eprintln!(
            "{:<10} {:<16} start {} end {}",
            r["JobId"], r["JobName"], r["StartTime"], r["EndTime"]
        );
    }
    eprintln!(
        "one process: {:.1} s; array of 4 tasks on 2 CPUs and merge, submission to merged: {:.1} s",
        one_process.as_secs_f64(),
        array_run.as_secs_f64()
    );

    // 2. Task 2 cancelled before it starts (held array, `scancel JOB_2`, released).
    let out = work.join("lost");
    let e = export(&out);
    let mut args = vec!["--hold"];
    args.extend(array);
    args.extend([e.as_str(), study_sbatch]);
    let job = cluster.sbatch(&args, work);
    cluster.run("scancel", &[&format!("{job}_2")], work);
    let dep = format!("--dependency=afterok:{job}");
    let merge = cluster.sbatch(&[&dep, &e, merge_sbatch], work);
    cluster.run("scontrol", &["release", &job], work);
    let tasks = cluster.wait_ended(&job);
    let states: Vec<(&str, &str)> = tasks
        .iter()
        .map(|(t, (s, _))| (t.as_str(), s.as_str()))
        .collect();
    // A task cancelled while pending leaves the array's records (`scontrol show job 7_2`: not
    // found); the array's dependency still counts it as failed.
    assert_eq!(
        states,
        [("0", "COMPLETED"), ("1", "COMPLETED"), ("3", "COMPLETED")]
    );
    // Slurm keeps the merge waiting on a dependency that can no longer hold.
    cluster.wait_for(&merge, "held by its dependency", |r| {
        r[0]["JobState"] == "PENDING" && r[0]["Reason"] == "DependencyNeverSatisfied"
    });
    eprintln!(
        "$ squeue  # task 2 cancelled\n{}",
        cluster.run("squeue", &[], work)
    );
    cluster.run("scancel", &[&merge], work);
    assert!(!out.join("shard-2").exists());

    // Merged anyway: exit code 2, naming the shard, and nothing written.
    let merge = cluster.sbatch(&[&e, merge_sbatch], work);
    let ended = cluster.wait_ended(&merge);
    let text = log(work, &format!("mmm-study-merge-{merge}.log"));
    assert_eq!(
        ended[""],
        ("FAILED".to_string(), "2:0".to_string()),
        "{text}"
    );
    assert!(
        text.contains("shard 2/4 is missing: rerun `mmm study STUDY --shard 2/4 --out DIR`"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} has no comparison.json",
            out.join("shard-2").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("no shard output holds variants 2, 6"),
        "{text}"
    );
    eprintln!("$ cat mmm-study-merge-{merge}.log\n{text}");
    for f in [
        "comparison.csv",
        "comparison.json",
        "results.sqlite",
        "report.html",
        "variants",
    ] {
        assert!(!out.join(f).exists(), "a failed merge wrote {f}");
    }

    // Rerun task 2 alone, then merge: one process's bytes.
    let mut args = vec!["--array=2"];
    args.extend(&array[1..]);
    args.extend([e.as_str(), study_sbatch]);
    let job = cluster.sbatch(&args, work);
    let dep = format!("--dependency=afterok:{job}");
    let merge = cluster.sbatch(&[&dep, &e, merge_sbatch], work);
    let merged = cluster.wait_ended(&merge);
    assert_eq!(
        merged[""],
        ("COMPLETED".to_string(), "0:0".to_string()),
        "{}",
        log(work, &format!("mmm-study-merge-{merge}.log"))
    );
    assert_same_outputs(&whole, &out);
    drop(cluster);
}
