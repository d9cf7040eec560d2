//! Progress bars for long work (tuning, sampling, studies): shown on stderr only when it is a
//! terminal and the user did not ask for `--quiet`.
//!
//! A program that embeds mmm can instead *watch* the bars ([`set_watching`]): while watching,
//! every bar is created hidden and recorded, and [`watched`] returns the state of each, for
//! the program to draw as it likes (the Python package draws them with tqdm in Jupyter).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

static QUIET: AtomicBool = AtomicBool::new(false);
static WATCHING: AtomicBool = AtomicBool::new(false);
static WATCHED: Mutex<Vec<ProgressBar>> = Mutex::new(Vec::new());

/// Silences every progress bar of this process (`--quiet`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether progress bars are silenced.
pub fn is_quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Starts (`true`) or stops watching progress bars; either way forgets the bars recorded so
/// far.
pub fn set_watching(on: bool) {
    WATCHING.store(on, Ordering::Relaxed);
    WATCHED.lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// Whether bars are being watched rather than drawn.
pub fn is_watching() -> bool {
    WATCHING.load(Ordering::Relaxed)
}

/// The state of one watched bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BarState {
    /// The bar's prefix (`chain 0` for a sampler's chain; empty for most bars).
    pub prefix: String,
    /// The bar's message (`tuning`, `chain 0`, a study's name…).
    pub message: String,
    /// Steps done.
    pub position: u64,
    /// Steps in all, when known.
    pub length: Option<u64>,
    /// Whether the work is over.
    pub finished: bool,
}

/// The state of every bar created since watching started, in order of creation.
pub fn watched() -> Vec<BarState> {
    WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|b| BarState {
            prefix: b.prefix(),
            message: b.message(),
            position: b.position(),
            length: b.length(),
            finished: b.is_finished(),
        })
        .collect()
}

/// A hidden bar of `len` steps recorded for [`watched`], or `None` when not watching.
pub fn watched_bar(len: u64, message: &str) -> Option<ProgressBar> {
    if !is_watching() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
    pb.set_message(message.to_string());
    WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(pb.clone());
    Some(pb)
}

/// A progress bar of `len` steps with rate and time left, hidden when stderr is not a terminal
/// or output is quiet (recorded, not drawn, while watching).
pub fn bar(len: u64, message: &str) -> ProgressBar {
    if is_quiet() {
        return ProgressBar::hidden();
    }
    if let Some(pb) = watched_bar(len, message) {
        return pb;
    }
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{msg:>12} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(message.to_string());
    pb
}
