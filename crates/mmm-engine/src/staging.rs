//! All-or-nothing outputs. Every command that writes into `--out DIR` builds all its outputs
//! in a private staging folder `DIR/.mmm-staging-*` and then moves them into place together
//! ([`Staging::commit`]); the outputs of an earlier run of the same family that this one does
//! not write (a ridge run after a Bayesian one: `draws.csv`) are removed in the same step, and
//! no other file of `DIR` is touched.
//!
//! Failure modes, each tested in `tests/robustness_io.rs`:
//! - an error (or a panic) before the commit removes the staging folder: `DIR` is as before;
//! - SIGINT, SIGTERM or SIGHUP remove the staging folder and end the process as the signal
//!   does ([`install_signal_cleanup`]); a signal during the commit waits for it to finish;
//! - a staging folder left by SIGKILL (or a power cut) is found by the next command writing
//!   into `DIR`: it is removed when it was not yet committing, and its commit is completed
//!   when it was (a marker file written before the first move says so), so that `DIR` never
//!   stays a mix of two runs.
//!
//! A live staging folder is locked (`flock`) by its process, so that concurrent commands into
//! one `DIR` never remove each other's; their commits are serialized by a lock on `DIR`.
//! Outputs get the mode the user's umask gives (`0644` with umask `022`), see
//! [`crate::output::write_atomic`].

use mmm_core::error::{MmmError, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Name prefix of staging folders inside `--out`.
pub const STAGING_PREFIX: &str = ".mmm-staging-";
/// Marker written into a staging folder before its first move: the commit must complete.
const COMMIT_MARKER: &str = ".commit";
/// Prefix of an earlier output folder (`variants`) moved aside during a commit.
const TRASH_PREFIX: &str = ".old-";

/// Every name `mmm run`, `mmm study`, `mmm study merge` and `mmm report` write into `--out`:
/// one family, since a report reads whichever of them it finds.
pub const RESULT_OUTPUTS: &[&str] = &[
    "results.json",
    "refresh.json",
    "model.json",
    "run.json",
    "decomposition.csv",
    "draws.csv",
    "window_plan.csv",
    "results.sqlite",
    "report.html",
    "comparison.csv",
    "comparison.json",
    "variants",
];
/// Every name `mmm simulate` writes into `--out`.
pub const SIMULATION_OUTPUTS: &[&str] = &["data.csv", "truth.json", "calibration.json"];
/// Every name `mmm predict` writes into `--out`.
pub const PREDICTION_OUTPUTS: &[&str] = &["forecast.csv", "forecast.json"];

/// Staging folders of this process not yet committed or removed (for the signal handler);
/// held during a commit, so that a signal waits for the commit to finish.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Refuses, before any work, an `--out` that is an existing non-folder, or a folder that
/// holds one of `inputs` (the spec, the data…): the outputs would overwrite or mix with them.
/// Exit code 2.
pub fn check_out(out: &Path, inputs: &[PathBuf]) -> Result<()> {
    let meta = match std::fs::metadata(out) {
        Ok(m) => m,
        Err(_) => return Ok(()), // created later; a new folder holds nothing
    };
    if !meta.is_dir() {
        return Err(MmmError::Usage(format!(
            "--out {}: exists and is not a folder; give a folder (created if missing)",
            out.display()
        )));
    }
    let Ok(out_c) = std::fs::canonicalize(out) else {
        return Ok(());
    };
    for input in inputs {
        if let Ok(c) = std::fs::canonicalize(input) {
            if c.starts_with(&out_c) {
                return Err(MmmError::Usage(format!(
                    "--out {}: holds this command's input {}; write the outputs to a folder of their own",
                    out.display(),
                    input.display()
                )));
            }
        }
    }
    Ok(())
}

/// Installs the SIGINT/SIGTERM/SIGHUP handler that removes this process's staging folders
/// and then ends the process as the signal would have (exit status 128 + signal in a shell).
/// Called once by the CLI; a no-op on other platforms and when called again.
pub fn install_signal_cleanup() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            else {
                return;
            };
            std::thread::spawn(move || {
                if let Some(sig) = signals.forever().next() {
                    let dirs = live();
                    for d in dirs.iter() {
                        let _ = std::fs::remove_dir_all(d);
                    }
                    let _ = signal_hook::low_level::emulate_default_handler(sig);
                    std::process::exit(128 + sig);
                }
            });
        });
    }
}

/// An exclusive, non-blocking `flock` on a folder; `None` when another process holds it.
/// Without flock (not unix) every lock succeeds.
fn try_lock(dir: &Path) -> Option<File> {
    let f = File::open(dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor owned by `f`; no memory is passed.
        let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r != 0 {
            return None;
        }
    }
    Some(f)
}

/// A blocking exclusive lock on `dir` (serializes commits into one `--out`).
fn lock(dir: &Path) -> Option<File> {
    let f = File::open(dir).ok()?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor owned by `f`; no memory is passed.
        unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) };
    }
    Some(f)
}

/// A private folder inside `--out` where a command builds its outputs; see the module doc.
#[derive(Debug)]
pub struct Staging {
    out: PathBuf,
    dir: PathBuf,
    family: &'static [&'static str],
    _lock: Option<File>,
    done: bool,
    /// The folders `begin` created for `--out` (deepest first): a failed command removes
    /// them again when they are still empty, so that it leaves nothing behind.
    created: Vec<PathBuf>,
}

impl Staging {
    /// Creates `out` when missing, completes or removes staging folders that dead processes
    /// left in it, and creates this command's staging folder. `family` lists the names the
    /// command may write: those it does not write this time are removed by the commit.
    pub fn begin(out: &Path, family: &'static [&'static str]) -> Result<Staging> {
        let created: Vec<PathBuf> = out
            .ancestors()
            .take_while(|a| !a.as_os_str().is_empty() && !a.exists())
            .map(Path::to_path_buf)
            .collect();
        crate::output::ensure_dir(out)?;
        recover(out)?;
        let dir = tempfile::Builder::new()
            .prefix(STAGING_PREFIX)
            .tempdir_in(out)
            .map_err(|e| MmmError::io(out, e))?
            .keep();
        let lock = try_lock(&dir);
        live().push(dir.clone());
        Ok(Staging {
            out: out.to_path_buf(),
            dir,
            family,
            _lock: lock,
            done: false,
            created,
        })
    }

    /// The staging folder: write every output here.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Moves every output of the staging folder into `--out` and removes the family's names
    /// that this command did not write; returns the outputs' final paths (sorted).
    pub fn commit(mut self) -> Result<Vec<PathBuf>> {
        test_pause("MMM_TEST_PAUSE_BEFORE_COMMIT");
        let _out_lock = lock(&self.out);
        let mut registry = live();
        let produced = entries(&self.dir)?;
        let stale: Vec<String> = self
            .family
            .iter()
            .filter(|n| !produced.iter().any(|p| p == *n) && self.out.join(n).exists())
            .map(|n| n.to_string())
            .collect();
        let marker = self.dir.join(COMMIT_MARKER);
        std::fs::write(&marker, stale.join("\n")).map_err(|e| MmmError::io(&marker, e))?;
        sync_dir(&self.dir);
        apply(&self.out, &self.dir, &produced, &stale)?;
        registry.retain(|d| d != &self.dir);
        self.done = true;
        Ok(produced.iter().map(|p| self.out.join(p)).collect())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let mut registry = live();
            let _ = std::fs::remove_dir_all(&self.dir);
            registry.retain(|d| d != &self.dir);
            // remove_dir fails on a folder that is not empty: nothing but our own is removed
            for d in &self.created {
                if std::fs::remove_dir(d).is_err() {
                    break;
                }
            }
        }
    }
}

/// Test hook: when the environment variable `var` names a file, create it and wait (up to a
/// minute) for the signal the test sends, so that a test can kill a command in its staging
/// phase deterministically.
fn test_pause(var: &str) {
    if let Some(p) = std::env::var_os(var) {
        let _ = std::fs::write(&p, b"");
        for _ in 0..6000 {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// The outputs in a staging folder: every entry but the commit marker and moved-aside folders.
fn entries(dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| MmmError::io(dir, e))? {
        let e = e.map_err(|e| MmmError::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name != COMMIT_MARKER && !name.starts_with(TRASH_PREFIX) {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Moves `produced` from `staging` into `out` (a folder replaces the earlier folder of that
/// name, which is moved aside first), removes `stale` from `out`, then the staging folder.
fn apply(out: &Path, staging: &Path, produced: &[String], stale: &[String]) -> Result<()> {
    for name in produced {
        let src = staging.join(name);
        let dst = out.join(name);
        if src.is_dir() {
            if let Ok(m) = std::fs::symlink_metadata(&dst) {
                if m.is_dir() {
                    let aside = staging.join(format!("{TRASH_PREFIX}{name}"));
                    std::fs::rename(&dst, &aside).map_err(|e| MmmError::io(&dst, e))?;
                } else {
                    std::fs::remove_file(&dst).map_err(|e| MmmError::io(&dst, e))?;
                }
            }
        }
        std::fs::rename(&src, &dst).map_err(|e| MmmError::io(&dst, e))?;
    }
    for name in stale {
        let p = out.join(name);
        let r = match std::fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p),
            Ok(_) => std::fs::remove_file(&p),
            Err(_) => Ok(()),
        };
        r.map_err(|e| MmmError::io(&p, e))?;
    }
    sync_dir(out);
    std::fs::remove_dir_all(staging).map_err(|e| MmmError::io(staging, e))
}

/// Flushes a folder's entries (the renames) to disk; best effort.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Completes or removes the staging folders in `out` that no live process holds, and removes
/// temporary files that earlier versions of mmm left beside their outputs.
fn recover(out: &Path) -> Result<()> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Ok(());
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        if name.starts_with(STAGING_PREFIX) && path.is_dir() {
            let Some(_held) = try_lock(&path) else {
                continue; // a live command's
            };
            let marker = path.join(COMMIT_MARKER);
            match std::fs::read_to_string(&marker) {
                Ok(stale) => {
                    let stale: Vec<String> = stale
                        .lines()
                        .filter(|l| {
                            RESULT_OUTPUTS.contains(l)
                                || SIMULATION_OUTPUTS.contains(l)
                                || PREDICTION_OUTPUTS.contains(l)
                        })
                        .map(str::to_string)
                        .collect();
                    apply(out, &path, &entries(&path)?, &stale)?;
                }
                Err(_) => {
                    std::fs::remove_dir_all(&path).map_err(|e| MmmError::io(&path, e))?;
                }
            }
        } else if name.starts_with('.')
            && name.ends_with(".tmp")
            && RESULT_OUTPUTS
                .iter()
                .chain(SIMULATION_OUTPUTS)
                .chain(PREDICTION_OUTPUTS)
                .any(|o| name.starts_with(&format!(".{o}.")))
            && path.is_file()
        {
            // `.results.sqlite.XXXXXX.tmp` of a run killed by an earlier version
            let _ = std::fs::remove_file(&path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_replaces_outputs_and_removes_stale_ones_only() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::write(out.join("draws.csv"), "old").unwrap();
        std::fs::write(out.join("results.json"), "old").unwrap();
        std::fs::write(out.join("mine.txt"), "user").unwrap();
        std::fs::create_dir_all(out.join("variants/a")).unwrap();
        let s = Staging::begin(&out, RESULT_OUTPUTS).unwrap();
        std::fs::write(s.dir().join("results.json"), "new").unwrap();
        std::fs::create_dir_all(s.dir().join("variants/b")).unwrap();
        let written = s.commit().unwrap();
        assert_eq!(
            written,
            vec![out.join("results.json"), out.join("variants")]
        );
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["mine.txt", "results.json", "variants"]);
        assert_eq!(
            std::fs::read_to_string(out.join("results.json")).unwrap(),
            "new"
        );
        assert!(out.join("variants/b").is_dir() && !out.join("variants/a").exists());
    }

    #[test]
    fn a_dropped_staging_leaves_the_folder_as_it_was() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("results.json"), "old").unwrap();
        {
            let s = Staging::begin(d.path(), RESULT_OUTPUTS).unwrap();
            std::fs::write(s.dir().join("results.json"), "new").unwrap();
        }
        let names: Vec<_> = std::fs::read_dir(d.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(
            std::fs::read_to_string(d.path().join("results.json")).unwrap(),
            "old"
        );
    }

    #[test]
    fn an_abandoned_commit_is_completed_and_an_abandoned_staging_removed() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path();
        std::fs::write(out.join("draws.csv"), "old").unwrap();
        // a staging folder killed mid-commit: results.json moved already, report.html not
        let s1 = out.join(format!("{STAGING_PREFIX}dead1"));
        std::fs::create_dir(&s1).unwrap();
        std::fs::write(s1.join("report.html"), "new").unwrap();
        std::fs::write(s1.join(COMMIT_MARKER), "draws.csv").unwrap();
        std::fs::write(out.join("results.json"), "new").unwrap();
        // a staging folder killed before its commit
        let s2 = out.join(format!("{STAGING_PREFIX}dead2"));
        std::fs::create_dir(&s2).unwrap();
        std::fs::write(s2.join("results.json"), "half").unwrap();
        std::fs::write(out.join(".results.sqlite.abc123.tmp"), "x").unwrap();
        recover(out).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["report.html", "results.json"]);
        assert_eq!(
            std::fs::read_to_string(out.join("results.json")).unwrap(),
            "new"
        );
    }

    #[test]
    fn out_must_be_a_folder_without_the_inputs() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("file");
        std::fs::write(&f, "x").unwrap();
        assert_eq!(check_out(&f, &[]).unwrap_err().exit_code(), 2);
        let e = check_out(d.path(), std::slice::from_ref(&f)).unwrap_err();
        assert!(e.to_string().contains("input"), "{e}");
        assert!(check_out(&d.path().join("new"), &[f]).is_ok());
    }
}
