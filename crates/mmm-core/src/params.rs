//! Continuous, named parameters of plugins, with their valid bounds.
//!
//! Tuning and Bayesian sampling move these parameters by index, without re-parsing JSON; the
//! same table drives `validate()` and is checked against the plugin's JSON Schema by a
//! registry-wide test, so that the bounds are written once.

use crate::error::{MmmError, Result};

/// One continuous parameter of a plugin and its valid interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamSpec {
    /// The field name in the spec.
    pub name: &'static str,
    /// Lower bound (may be `f64::NEG_INFINITY`).
    pub lower: f64,
    /// Upper bound (may be `f64::INFINITY`).
    pub upper: f64,
    /// Whether the lower bound itself is excluded.
    pub lower_open: bool,
    /// Whether the upper bound itself is excluded.
    pub upper_open: bool,
}

impl ParamSpec {
    /// A parameter valid on the closed interval `[lower, upper]`.
    pub const fn closed(name: &'static str, lower: f64, upper: f64) -> Self {
        ParamSpec {
            name,
            lower,
            upper,
            lower_open: false,
            upper_open: false,
        }
    }
    /// A parameter valid on `[lower, upper)`.
    pub const fn upper_open(name: &'static str, lower: f64, upper: f64) -> Self {
        ParamSpec {
            name,
            lower,
            upper,
            lower_open: false,
            upper_open: true,
        }
    }
    /// A parameter valid on `(lower, upper]`.
    pub const fn lower_open(name: &'static str, lower: f64, upper: f64) -> Self {
        ParamSpec {
            name,
            lower,
            upper,
            lower_open: true,
            upper_open: false,
        }
    }
    /// A parameter valid on `(lower, upper)`.
    pub const fn open(name: &'static str, lower: f64, upper: f64) -> Self {
        ParamSpec {
            name,
            lower,
            upper,
            lower_open: true,
            upper_open: true,
        }
    }
    /// A strictly positive parameter, `(0, ∞)`.
    pub const fn positive(name: &'static str) -> Self {
        Self::open(name, 0.0, f64::INFINITY)
    }

    /// Whether `v` lies in the valid interval (NaN never does).
    pub fn contains(&self, v: f64) -> bool {
        if v.is_nan() {
            return false;
        }
        let lo = if self.lower_open {
            v > self.lower
        } else {
            v >= self.lower
        };
        let hi = if self.upper_open {
            v < self.upper
        } else {
            v <= self.upper
        };
        lo && hi && v.is_finite()
    }

    /// The interval in mathematical notation, e.g. `[0, 1)`.
    pub fn interval(&self) -> String {
        format!(
            "{}{}, {}{}",
            if self.lower_open { "(" } else { "[" },
            fmt_bound(self.lower),
            fmt_bound(self.upper),
            if self.upper_open { ")" } else { "]" }
        )
    }

    /// Checks `v`, with an error that names the field, the value and the rule.
    pub fn check(&self, v: f64) -> Result<()> {
        if self.contains(v) {
            Ok(())
        } else {
            Err(MmmError::param(
                format!("/{}", self.name),
                format!(
                    "{} = {v} is outside its valid range {}",
                    self.name,
                    self.interval()
                ),
            ))
        }
    }
}

fn fmt_bound(v: f64) -> String {
    if v == f64::INFINITY {
        "∞".into()
    } else if v == f64::NEG_INFINITY {
        "-∞".into()
    } else {
        format!("{v}")
    }
}

/// Checks every value against its spec (in order), returning the first violation.
pub fn check_all(specs: &[ParamSpec], values: &[f64]) -> Result<()> {
    for (s, &v) in specs.iter().zip(values) {
        s.check(v)?;
    }
    Ok(())
}
