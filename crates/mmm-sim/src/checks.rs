//! Checks that a simulation gives data `mmm run` can read: dates within ISO's four-digit
//! years (0000-01-01 … 9999-12-31), parameters small enough that no value overflows
//! ([`MAX_MAGNITUDE`]), and, as a last guard, every simulated value finite.

use crate::simulate::Simulation;
use crate::spec::SimSpec;
use chrono::{Datelike, Duration};
use mmm_core::error::{MmmError, Result, SpecIssue};
use serde_json::Value;

/// Largest magnitude of a number in a simulation spec: `1e15`. Larger ones (a `noise_sd` of
/// `1e308`) make sums, squares or products of the simulated data overflow to infinity.
pub const MAX_MAGNITUDE: f64 = 1e15;

/// Why the spec's dates would not be ISO dates `YYYY-MM-DD` (`None` when they are): the last
/// period must not pass 9999-12-31, the first not precede 0000-01-01.
pub fn date_range_issue(spec: &SimSpec) -> Option<String> {
    let start = spec.start_date()?;
    let days = spec
        .frequency
        .days()
        .checked_mul(spec.periods.saturating_sub(1) as i64);
    let last = days
        .and_then(Duration::try_days)
        .and_then(|d| start.checked_add_signed(d));
    match last {
        Some(l) if start.year() >= 0 && l.year() <= 9999 => None,
        _ => Some(format!(
            "{} periods from {} end after 9999-12-31; dates must be ISO dates (YYYY-MM-DD) that `mmm run` reads",
            spec.periods, spec.start
        )),
    }
}

/// Every number of the spec whose magnitude exceeds [`MAX_MAGNITUDE`], by pointer.
pub fn magnitude_issues(raw: &Value) -> Vec<SpecIssue> {
    let mut issues = Vec::new();
    walk(raw, &mut String::new(), &mut issues);
    issues
}

fn walk(v: &Value, at: &mut String, issues: &mut Vec<SpecIssue>) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64() {
                if x.abs() > MAX_MAGNITUDE {
                    issues.push(SpecIssue {
                        pointer: at.clone(),
                        message: format!(
                            "{n} is too large: the simulated data would not be finite (at most {MAX_MAGNITUDE:e} in magnitude)"
                        ),
                    });
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = at.len();
                at.push_str(&format!("/{i}"));
                walk(x, at, issues);
                at.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = at.len();
                at.push('/');
                at.push_str(&k.replace('~', "~0").replace('/', "~1"));
                walk(x, at, issues);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

/// The last guard: every value of `data.csv` is finite (else exit 2 naming the spec file and
/// the column).
pub fn check_finite(sim: &Simulation, file: &str) -> Result<()> {
    let mut lines = sim.csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    for (r, line) in lines.enumerate() {
        for (c, cell) in line.split(',').enumerate() {
            if c == 0 || cell.is_empty() {
                continue;
            }
            // text cells (dates, campaign names) do not parse; inf and NaN do
            if cell.parse::<f64>().is_ok_and(|x| !x.is_finite()) {
                let column = header.get(c).copied().unwrap_or("?");
                return Err(MmmError::Spec {
                    file: file.to_string(),
                    issues: vec![SpecIssue {
                        pointer: String::new(),
                        message: format!(
                            "the simulated column '{column}' is not finite ({cell}) in period {}: the parameters are too large",
                            r + 1
                        ),
                    }],
                });
            }
        }
    }
    Ok(())
}
