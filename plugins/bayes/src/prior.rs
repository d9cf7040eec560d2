//! The `Prior` plugin kind: a prior family with its log-density, derivative and support, and the
//! bijector that maps the support to the real line for sampling.
//!
//! This kind is defined here, outside `mmm-core`: it is registered through the same registry
//! (`mmm_core::register!("prior", …)`) and gets its JSON Schema from
//! [`mmm_core::plugin_kind_schema!`], which shows that a later crate can add a plugin kind
//! without changing the registry.
//!
//! # Unconstrained sampling
//! A parameter `x` with support `(a, b)` is sampled as `u ∈ ℝ` with `x = T(u)`:
//! ```text
//! (-∞, ∞):  x = u                          log|dx/du| = 0
//! (a, ∞):   x = a + e^u                    log|dx/du| = u
//! (-∞, b):  x = b − e^u                    log|dx/du| = u
//! (a, b):   x = a + (b − a)·σ(u)           log|dx/du| = log(b − a) + log σ(u) + log(1 − σ(u))
//! ```
//! and the sampled density is `log p(T(u)) + log|dT/du|` (the log-Jacobian term), with
//! `d/du = p'(x)/p(x)·dx/du + d log|dT/du|/du`.

use mmm_core::{MmmError, Result};
use std::fmt::Debug;

/// The plugin kind name of priors.
pub const KIND: &str = "prior";

/// The support `(lower, upper)` of a distribution (open ends; either may be infinite).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Support {
    /// Lower end (`f64::NEG_INFINITY` when unbounded).
    pub lower: f64,
    /// Upper end (`f64::INFINITY` when unbounded).
    pub upper: f64,
}

impl Support {
    /// The whole real line.
    pub const REAL: Support = Support {
        lower: f64::NEG_INFINITY,
        upper: f64::INFINITY,
    };
    /// The positive half-line `(0, ∞)`.
    pub const POSITIVE: Support = Support {
        lower: 0.0,
        upper: f64::INFINITY,
    };
    /// The unit interval `(0, 1)`.
    pub const UNIT: Support = Support {
        lower: 0.0,
        upper: 1.0,
    };

    /// The intersection of two supports.
    pub fn intersect(&self, other: &Support) -> Support {
        Support {
            lower: self.lower.max(other.lower),
            upper: self.upper.min(other.upper),
        }
    }

    /// Whether the support is a non-empty interval.
    pub fn is_valid(&self) -> bool {
        self.lower < self.upper
    }

    /// The bijector from the real line onto this support.
    pub fn bijector(&self) -> Bijector {
        match (self.lower.is_finite(), self.upper.is_finite()) {
            (false, false) => Bijector::Identity,
            (true, false) => Bijector::Lower(self.lower),
            (false, true) => Bijector::Upper(self.upper),
            (true, true) => Bijector::Interval(self.lower, self.upper),
        }
    }
}

/// The map from the unconstrained real line onto a support (see the module docs for the
/// formulas): identity, log (lower bound), reflected log (upper bound), affine logit (interval).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bijector {
    /// `x = u`.
    Identity,
    /// `x = a + e^u`.
    Lower(f64),
    /// `x = b − e^u`.
    Upper(f64),
    /// `x = a + (b − a)·σ(u)`.
    Interval(f64, f64),
}

/// The value of a bijector at `u` and what the sampler's gradient needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mapped {
    /// `x = T(u)`.
    pub x: f64,
    /// `dx/du`.
    pub dx_du: f64,
    /// `log|dx/du|`.
    pub log_jac: f64,
    /// `d log|dx/du| / du`.
    pub d_log_jac: f64,
}

impl Bijector {
    /// `T(u)`, `dT/du`, `log|dT/du|` and its derivative.
    #[inline]
    pub fn forward(&self, u: f64) -> Mapped {
        match *self {
            Bijector::Identity => Mapped {
                x: u,
                dx_du: 1.0,
                log_jac: 0.0,
                d_log_jac: 0.0,
            },
            Bijector::Lower(a) => {
                let e = u.exp();
                Mapped {
                    x: a + e,
                    dx_du: e,
                    log_jac: u,
                    d_log_jac: 1.0,
                }
            }
            Bijector::Upper(b) => {
                let e = u.exp();
                Mapped {
                    x: b - e,
                    dx_du: -e,
                    log_jac: u,
                    d_log_jac: 1.0,
                }
            }
            Bijector::Interval(a, b) => {
                // log σ(u) = −softplus(−u), log(1 − σ(u)) = −softplus(u)
                let s = sigmoid(u);
                let w = b - a;
                let x = (a + w * s).clamp(a, b);
                let log_jac = w.ln() - softplus(-u) - softplus(u);
                Mapped {
                    x,
                    dx_du: w * s * (1.0 - s),
                    log_jac,
                    d_log_jac: 1.0 - 2.0 * s,
                }
            }
        }
    }

    /// `T⁻¹(x)` (values on or outside the support are pulled just inside it).
    pub fn inverse(&self, x: f64) -> f64 {
        match *self {
            Bijector::Identity => x,
            Bijector::Lower(a) => (x - a).max(1e-12).ln(),
            Bijector::Upper(b) => (b - x).max(1e-12).ln(),
            Bijector::Interval(a, b) => {
                let p = ((x - a) / (b - a)).clamp(1e-9, 1.0 - 1e-9);
                (p / (1.0 - p)).ln()
            }
        }
    }
}

/// `σ(u) = 1 / (1 + e^{−u})`, stable for large `|u|`.
#[inline]
pub fn sigmoid(u: f64) -> f64 {
    if u >= 0.0 {
        1.0 / (1.0 + (-u).exp())
    } else {
        let e = u.exp();
        e / (1.0 + e)
    }
}

/// `softplus(u) = log(1 + e^u)`, stable for large `|u|`.
#[inline]
pub fn softplus(u: f64) -> f64 {
    if u > 30.0 {
        u
    } else if u < -30.0 {
        u.exp()
    } else {
        u.exp().ln_1p()
    }
}

/// A prior distribution of one scalar parameter.
///
/// Implementations must not panic or allocate in `log_density` and `d_log_density` (the sampler
/// calls them at every gradient evaluation) and return `-∞` outside the support.
#[typetag::serde(tag = "type")]
pub trait Prior: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks every parameter; the error names the field, its value and the rule.
    fn validate(&self) -> Result<()>;
    /// The support of the distribution.
    fn support(&self) -> Support;
    /// `log p(x)` (normalized), `-∞` outside the support.
    fn log_density(&self, x: f64) -> f64;
    /// `d log p(x) / dx` inside the support.
    fn d_log_density(&self, x: f64) -> f64;
    /// A central value inside the support (mean or median), used to start the chains.
    fn center(&self) -> f64;
}

dyn_clone::clone_trait_object!(Prior);
mmm_core::plugin_kind_schema!(Prior, KIND, "Prior");

/// Checks that `v` is finite and strictly positive; the error names `field`.
pub fn check_positive(field: &str, v: f64) -> Result<()> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(MmmError::param(
            format!("/{field}"),
            format!("{field} = {v} must be finite and > 0"),
        ))
    }
}

/// Checks that `v` is finite; the error names `field`.
pub fn check_finite(field: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(MmmError::param(
            format!("/{field}"),
            format!("{field} = {v} must be finite"),
        ))
    }
}

/// `log Γ(x)`.
pub fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// `½·log(2π)`.
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

/// Shared checks every prior's tests run: the analytic derivative of the log-density against a
/// central finite difference at points inside the support, finite values inside, `-∞` outside,
/// and a density that integrates to ≈ 1 (trapezoid rule on the support).
pub mod conformance {
    use super::Prior;

    /// Points inside `support` at which to check a prior.
    pub fn test_points(p: &dyn Prior) -> Vec<f64> {
        let s = p.support();
        let b = s.bijector();
        (-8..=8)
            .map(|k| b.forward(k as f64 * 0.4).x)
            .filter(|x| *x > s.lower && *x < s.upper)
            .collect()
    }

    /// Runs the checks; `Err` says what failed.
    pub fn check(p: &dyn Prior) -> Result<(), String> {
        p.validate().map_err(|e| e.to_string())?;
        let s = p.support();
        for x in test_points(p) {
            let h = 1e-6 * x.abs().max(1e-2);
            if x - h <= s.lower || x + h >= s.upper {
                continue;
            }
            let fd = (p.log_density(x + h) - p.log_density(x - h)) / (2.0 * h);
            let an = p.d_log_density(x);
            if !p.log_density(x).is_finite() {
                return Err(format!("log-density not finite at {x}"));
            }
            if (fd - an).abs() > 1e-4 * an.abs().max(1.0) {
                return Err(format!(
                    "derivative at {x}: analytic {an}, finite difference {fd}"
                ));
            }
        }
        if s.lower.is_finite() && p.log_density(s.lower - 1.0) != f64::NEG_INFINITY {
            return Err("density outside the support".into());
        }
        // integral over the unconstrained line: ∫ p(T(u))·|T'(u)| du
        let b = s.bijector();
        let (lo, hi, n) = (-40.0, 40.0, 400_000);
        let du = (hi - lo) / n as f64;
        let mut total = 0.0;
        for k in 0..=n {
            let m = b.forward(lo + k as f64 * du);
            let w = if k == 0 || k == n { 0.5 } else { 1.0 };
            let v = (p.log_density(m.x) + m.log_jac).exp();
            if v.is_finite() {
                total += w * v * du;
            }
        }
        if (total - 1.0).abs() > 2e-3 {
            return Err(format!("density integrates to {total}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bijectors_invert_and_have_the_right_jacobian() {
        for b in [
            Bijector::Identity,
            Bijector::Lower(0.5),
            Bijector::Upper(-1.0),
            Bijector::Interval(-2.0, 3.0),
        ] {
            for u in [-3.0, -0.5, 0.0, 0.7, 2.5] {
                let m = b.forward(u);
                assert!((b.inverse(m.x) - u).abs() < 1e-6, "{b:?} {u}");
                let h = 1e-6;
                let fd = (b.forward(u + h).x - b.forward(u - h).x) / (2.0 * h);
                assert!((fd - m.dx_du).abs() < 1e-6);
                assert!((m.log_jac - m.dx_du.abs().ln()).abs() < 1e-9);
                let fdj = (b.forward(u + h).log_jac - b.forward(u - h).log_jac) / (2.0 * h);
                assert!((fdj - m.d_log_jac).abs() < 1e-6);
            }
        }
    }
}
