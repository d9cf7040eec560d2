//! Checks that say whether to trust a fit: prior moments and prior draws of every parameter
//! (for prior-vs-posterior shift and contraction and the prior predictive check), the
//! predictive test statistics and their Bayesian p-values.
//!
//! # Formulas
//! ```text
//! shift_k       = (E_post[x_k] − E_prior[x_k]) / sd_prior[x_k]
//! contraction_k = 1 − Var_post[x_k] / Var_prior[x_k]        (Betancourt 2018)
//! T(y)          = (mean, sd, lag-1 autocorrelation) of the KPI
//! p_T           = P(T(y_rep) ≥ T(y))   over replicated data y_rep
//!                 (prior predictive: parameters from the prior; posterior predictive: from the draws)
//! ```
//! Prior moments and draws come from the prior's density on a grid of the unconstrained line,
//! `u = 10⁻³·sinh(v)`, `v ∈ [−35, 35]` (resolution 10⁻³·dv near 0, relative dv elsewhere):
//! exact to the grid's resolution for every prior family, without a sampler per family.

use crate::density::Param;
use rand::Rng;
use serde::Serialize;

/// A prior tabulated on the unconstrained line: its CDF, mean and sd on the constrained scale
/// (moments to about 1e-5 relative: the trapezoid rule on the grid).
#[derive(Clone)]
pub struct PriorGrid {
    x: Vec<f64>,
    cdf: Vec<f64>,
    /// Prior mean (constrained scale).
    pub mean: f64,
    /// Prior standard deviation (constrained scale).
    pub sd: f64,
}

impl PriorGrid {
    /// Tabulates `param`'s prior (through its bijector).
    pub fn new(param: &Param) -> PriorGrid {
        let n = 14_001;
        let (lo, hi) = (-35.0f64, 35.0f64);
        let dv = (hi - lo) / (n - 1) as f64;
        let mut x = Vec::with_capacity(n);
        let mut w = Vec::with_capacity(n);
        for k in 0..n {
            let v = lo + k as f64 * dv;
            let u = 1e-3 * v.sinh();
            let du_dv = 1e-3 * v.cosh();
            let m = param.bijector.forward(u);
            let d = (param.prior.log_density(m.x) + m.log_jac).exp() * du_dv;
            x.push(m.x);
            w.push(if d.is_finite() && m.x.is_finite() {
                d
            } else {
                0.0
            });
        }
        let mut cdf = Vec::with_capacity(n);
        let mut acc = 0.0;
        cdf.push(0.0);
        for k in 1..n {
            acc += 0.5 * (w[k - 1] + w[k]) * dv;
            cdf.push(acc);
        }
        let total = acc.max(f64::MIN_POSITIVE);
        cdf.iter_mut().for_each(|c| *c /= total);
        let (mut m1, mut m2) = (0.0, 0.0);
        for k in 1..n {
            let p = cdf[k] - cdf[k - 1];
            let xm = 0.5 * (x[k - 1] + x[k]);
            if xm.is_finite() {
                m1 += p * xm;
                m2 += p * xm * xm;
            }
        }
        PriorGrid {
            x,
            cdf,
            mean: m1,
            sd: (m2 - m1 * m1).max(0.0).sqrt(),
        }
    }

    /// The prior quantile at `p ∈ (0, 1)` (linear between grid points).
    pub fn quantile(&self, p: f64) -> f64 {
        let k = self
            .cdf
            .partition_point(|c| *c < p)
            .clamp(1, self.cdf.len() - 1);
        let (c0, c1) = (self.cdf[k - 1], self.cdf[k]);
        let t = if c1 > c0 { (p - c0) / (c1 - c0) } else { 0.5 };
        self.x[k - 1] + t * (self.x[k] - self.x[k - 1])
    }

    /// A draw from the prior.
    pub fn sample(&self, rng: &mut impl Rng) -> f64 {
        self.quantile(rng.random::<f64>().clamp(1e-12, 1.0 - 1e-12))
    }
}

/// The test statistics of a series: mean, sd (n − 1) and lag-1 autocorrelation.
pub fn stats(y: &[f64]) -> [f64; 3] {
    let n = y.len() as f64;
    let m = y.iter().sum::<f64>() / n;
    let ss: f64 = y.iter().map(|v| (v - m) * (v - m)).sum();
    let lag: f64 = y.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
    [
        m,
        (ss / (n - 1.0).max(1.0)).sqrt(),
        if ss > 0.0 { lag / ss } else { 0.0 },
    ]
}

/// Names of [`stats`], in order.
pub const STAT_NAMES: [&str; 3] = ["mean", "sd", "autocorrelation_lag1"];

/// One statistic of a predictive check.
#[derive(Debug, Clone, Serialize)]
pub struct StatCheck {
    /// `mean`, `sd` or `autocorrelation_lag1`.
    pub statistic: &'static str,
    /// The statistic of the observed KPI.
    pub observed: f64,
    /// Mean of the statistic over the replicated series.
    pub replicated_mean: f64,
    /// 94% HDI of the statistic over the replicated series.
    pub replicated_low: f64,
    /// High end of that HDI.
    pub replicated_high: f64,
    /// Bayesian p-value `P(T(y_rep) ≥ T(y))`.
    pub p_value: f64,
}

/// The predictive check of `observed` against replicated statistics (`rep[d]` = [`stats`] of
/// replication `d`).
pub fn predictive_check(observed: &[f64], rep: &[[f64; 3]]) -> Vec<StatCheck> {
    let obs = stats(observed);
    (0..3)
        .map(|j| {
            let v: Vec<f64> = rep.iter().map(|r| r[j]).filter(|v| v.is_finite()).collect();
            let nv = v.len().max(1) as f64;
            let (lo, hi) = mmm_core::interval::hdi(&v, crate::model::HDI_PROB);
            StatCheck {
                statistic: STAT_NAMES[j],
                observed: obs[j],
                replicated_mean: v.iter().sum::<f64>() / nv,
                replicated_low: lo,
                replicated_high: hi,
                p_value: v.iter().filter(|x| **x >= obs[j]).count() as f64 / nv,
            }
        })
        .collect()
}

/// Prior against posterior of one parameter.
#[derive(Debug, Clone, Serialize)]
pub struct PriorPosterior {
    /// Parameter name.
    pub parameter: String,
    /// Prior mean.
    pub prior_mean: f64,
    /// Prior sd.
    pub prior_sd: f64,
    /// Posterior mean.
    pub posterior_mean: f64,
    /// Posterior sd.
    pub posterior_sd: f64,
    /// `(posterior mean − prior mean) / prior sd`.
    pub shift: f64,
    /// `1 − posterior variance / prior variance`: near 1 the data determined the parameter,
    /// near 0 the posterior is the prior.
    pub contraction: f64,
}

impl PriorPosterior {
    /// Compares a prior grid with posterior draws.
    pub fn new(name: &str, prior: &PriorGrid, draws: &[f64]) -> Self {
        let n = draws.len().max(2) as f64;
        let m = draws.iter().sum::<f64>() / n;
        let var = draws.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (n - 1.0);
        let pv = prior.sd * prior.sd;
        PriorPosterior {
            parameter: name.to_string(),
            prior_mean: prior.mean,
            prior_sd: prior.sd,
            posterior_mean: m,
            posterior_sd: var.sqrt(),
            shift: if prior.sd > 0.0 {
                (m - prior.mean) / prior.sd
            } else {
                f64::NAN
            },
            contraction: if pv > 0.0 { 1.0 - var / pv } else { f64::NAN },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::density::Slot;
    use crate::prior::Prior;

    fn param(v: serde_json::Value) -> Param {
        let prior: Box<dyn Prior> = serde_json::from_value(v).unwrap();
        let bijector = prior.support().bijector();
        Param {
            name: "p".into(),
            slot: Slot::Sigma,
            prior,
            bijector,
        }
    }

    #[test]
    fn prior_grid_has_the_closed_form_moments_and_quantiles() {
        // Normal(1, 2): mean 1, sd 2, median 1; Gamma(3, 2): mean 1.5, sd √3/2;
        // Beta(2, 5): mean 2/7, sd √(10/(49·8)); LogNormal(0, 0.5): median 1
        let n = param(serde_json::json!({"type":"normal","mu":1.0,"sigma":2.0}));
        let g = PriorGrid::new(&n);
        assert!(
            (g.mean - 1.0).abs() < 1e-4 && (g.sd - 2.0).abs() < 1e-4,
            "{} {}",
            g.mean,
            g.sd
        );
        assert!((g.quantile(0.5) - 1.0).abs() < 1e-4);
        assert!((g.quantile(0.975) - (1.0 + 2.0 * 1.959964)).abs() < 1e-3);
        let g = PriorGrid::new(&param(
            serde_json::json!({"type":"gamma","alpha":3.0,"beta":2.0}),
        ));
        assert!((g.mean - 1.5).abs() < 1e-4 && (g.sd - 3f64.sqrt() / 2.0).abs() < 1e-4);
        let g = PriorGrid::new(&param(
            serde_json::json!({"type":"beta","alpha":2.0,"beta":5.0}),
        ));
        assert!((g.mean - 2.0 / 7.0).abs() < 1e-4);
        assert!((g.sd - (10.0f64 / (49.0 * 8.0)).sqrt()).abs() < 1e-4);
        let g = PriorGrid::new(&param(
            serde_json::json!({"type":"log_normal","mu":0.0,"sigma":0.5}),
        ));
        assert!((g.quantile(0.5) - 1.0).abs() < 1e-4);
    }

    #[test]
    fn statistics_and_p_values() {
        let y = [1.0, 2.0, 3.0, 4.0];
        let s = stats(&y);
        // mean 2.5, sd √(5/3), lag-1: (−1.5·−0.5 + −0.5·0.5 + 0.5·1.5) / 5 = 0.25
        assert!((s[0] - 2.5).abs() < 1e-12);
        assert!((s[1] - (5.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((s[2] - 0.25).abs() < 1e-12);
        let rep = vec![
            [2.0, 1.0, 0.0],
            [3.0, 2.0, 0.5],
            [4.0, 0.5, 0.1],
            [1.0, 1.0, 0.3],
        ];
        let c = predictive_check(&y, &rep);
        assert_eq!(c[0].p_value, 0.5); // 3 and 4 ≥ 2.5
        assert_eq!(c[2].p_value, 0.5); // 0.5 and 0.3 ≥ 0.25
    }
}
