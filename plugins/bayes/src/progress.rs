//! Progress bars for the chains (indicatif), on stderr and only when stderr is a terminal and
//! output is not quiet: one bar per chain with its draws, divergences and step size (recorded
//! instead of drawn while an embedding program watches, see `mmm_core::progress`).

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// The bars of all chains (inactive when disabled or stderr is not a terminal).
#[derive(Debug)]
pub struct Progress {
    bars: Vec<Option<ProgressBar>>,
    _multi: Option<MultiProgress>,
}

/// One chain's bar.
#[derive(Debug)]
pub struct ChainBar<'a> {
    bar: Option<&'a ProgressBar>,
}

impl Progress {
    /// Bars for `chains` chains of `total` iterations each.
    pub fn new(enabled: bool, chains: usize, total: u64) -> Self {
        let enabled = enabled && !mmm_core::progress::is_quiet();
        if enabled && mmm_core::progress::is_watching() {
            // an embedding program draws the bars (see mmm_core::progress::watched)
            return Progress {
                bars: (0..chains)
                    .map(|c| {
                        let b = mmm_core::progress::watched_bar(total, "sampling");
                        if let Some(b) = &b {
                            b.set_prefix(format!("chain {c}"));
                        }
                        b
                    })
                    .collect(),
                _multi: None,
            };
        }
        if !enabled || !std::io::stderr().is_terminal() {
            return Progress {
                bars: (0..chains).map(|_| None).collect(),
                _multi: None,
            };
        }
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("chain {prefix} {bar:30} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        let bars = (0..chains)
            .map(|c| {
                let b = multi.add(ProgressBar::new(total));
                b.set_style(style.clone());
                b.set_prefix(c.to_string());
                Some(b)
            })
            .collect();
        Progress {
            bars,
            _multi: Some(multi),
        }
    }

    /// The bar of chain `c`.
    pub fn chain(&self, c: usize) -> ChainBar<'_> {
        ChainBar {
            bar: self.bars.get(c).and_then(|b| b.as_ref()),
        }
    }
}

impl ChainBar<'_> {
    /// Shows iteration `pos`, divergences so far and the step size.
    pub fn update(&self, pos: u64, divergences: usize, step_size: f64, tuning: bool) {
        if let Some(b) = self.bar {
            b.set_position(pos);
            b.set_message(format!(
                "{} divergences {divergences}, step size {step_size:.3}",
                if tuning { "tuning," } else { "sampling," }
            ));
        }
    }

    /// Marks the chain as done.
    pub fn finish(&self, divergences: usize) {
        if let Some(b) = self.bar {
            b.finish_with_message(format!("done, {divergences} divergences"));
        }
    }
}
