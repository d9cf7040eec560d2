//! Calibration with experiments: lift tests (geo or holdout experiments) that measured a
//! channel's incremental KPI over a window of the data, and the model's own lift for the same
//! spend change, which every model is compared with and a Bayesian model is fitted to.
//!
//! # Formula
//! ```text
//! W = {t : start ≤ date_t ≤ end}  (the test's periods),   S_W = Σ_{t∈W} x_t
//! x'_t = x_t·(1 + Δ/S_W)   for t ∈ W  (the change spread in proportion to actual spend;
//!                                      evenly, Δ/|W| per period, when S_W = 0)
//! x'_t = x_t               otherwise;   a holdout is Δ = −S_W (x'_t = 0 on W)
//! lift_model = m·Σ_{t=t₀}^{T−1} [f(x')_t − f(x)_t]
//!        T = n (scope "total": the carry-over to the end of the data)
//!        T = t₁ + 1 (scope "window": only the test's periods)
//! MAPE.LIFT = (1/K)·Σ_k |lift_model,k − lift_k| / |lift_k|
//! ```
//! with `x` the channel's actual spend, `f` its transform chain (the constants it learned on
//! the actual spend are kept), `m` the channel's coefficient and `t₀`, `t₁` the first and last
//! periods of `W`. Adstock and saturation are both in `f`, so a spend change in the window moves
//! the KPI in the window and after it, at the saturation level of the actual spend.

use crate::transform::{ChainWorkspace, TransformChain};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which periods a test's lift counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LiftScope {
    /// The test's periods and every later period of the data: the carry-over of the change
    /// after the window is part of the lift (a measurement that includes a post-period long
    /// enough for the adstock to fade).
    #[default]
    Total,
    /// Only the test's own periods (a measurement that stops when the test stops).
    Window,
}

impl LiftScope {
    /// Whether this is the default scope, `total` (not written back when serializing a spec).
    pub fn is_total(&self) -> bool {
        *self == LiftScope::Total
    }
}

/// A lift test resolved against the data: period indices, the spend change and the
/// counterfactual spend.
#[derive(Debug, Clone, PartialEq)]
pub struct LiftTest {
    /// Index in the spec's `calibration` list.
    pub index: usize,
    /// The label (see `LiftTestSpec::label` in `mmm_data::calibration`).
    pub name: String,
    /// Channel index in the spec's media.
    pub channel: usize,
    /// First period of the window.
    pub first: usize,
    /// Last period of the window (inclusive).
    pub last: usize,
    /// End (exclusive) of the periods the lift sums over (see [`LiftScope`]).
    pub until: usize,
    /// The spend change in total over the window (`−S_W` for a holdout).
    pub spend_change: f64,
    /// The channel's actual spend over the window, `S_W`.
    pub window_spend: f64,
    /// The counterfactual spend series `x'` (all periods).
    pub counterfactual: Vec<f64>,
    /// The measured lift.
    pub lift: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// The scope.
    pub scope: LiftScope,
    /// The geos the test ran in (panel order); empty for a national test.
    pub geos: Vec<usize>,
    /// On a panel, per tested geo (every geo for a national test): its index and its
    /// counterfactual spend (all periods); empty for national data.
    pub geo_counterfactuals: Vec<(usize, Vec<f64>)>,
}

impl LiftTest {
    /// The model's lift of this test for a channel with coefficient `coef`, chain `chain` (as
    /// learned on the actual spend) and actual spend `spend`, every spend multiplied by
    /// `input_scale` before the chain (see the module formula). `ws` is reused.
    pub fn model_lift(
        &self,
        chain: &TransformChain,
        coef: f64,
        spend: &[f64],
        input_scale: f64,
        ws: &mut ChainWorkspace,
        buf: &mut LiftBuffers,
    ) -> f64 {
        coef * self.transformed_difference(chain, spend, input_scale, ws, buf)
    }

    /// `Σ_{t=t₀}^{T−1} [f(c·x')_t − f(c·x)_t]` (the lift per unit of coefficient).
    pub fn transformed_difference(
        &self,
        chain: &TransformChain,
        spend: &[f64],
        input_scale: f64,
        ws: &mut ChainWorkspace,
        buf: &mut LiftBuffers,
    ) -> f64 {
        self.difference_of(&self.counterfactual, chain, spend, input_scale, ws, buf)
    }

    /// [`LiftTest::transformed_difference`] in the `k`-th geo of
    /// [`LiftTest::geo_counterfactuals`], `spend` being that geo's actual spend.
    pub fn geo_transformed_difference(
        &self,
        k: usize,
        chain: &TransformChain,
        spend: &[f64],
        input_scale: f64,
        ws: &mut ChainWorkspace,
        buf: &mut LiftBuffers,
    ) -> f64 {
        let cf = &self.geo_counterfactuals[k].1;
        self.difference_of(cf, chain, spend, input_scale, ws, buf)
    }

    fn difference_of(
        &self,
        counterfactual: &[f64],
        chain: &TransformChain,
        spend: &[f64],
        input_scale: f64,
        ws: &mut ChainWorkspace,
        buf: &mut LiftBuffers,
    ) -> f64 {
        let n = spend.len();
        buf.resize(n);
        for t in 0..n {
            buf.x[t] = input_scale * spend[t];
            buf.x_cf[t] = input_scale * counterfactual[t];
        }
        chain.apply(&buf.x, &mut buf.f, ws);
        chain.apply(&buf.x_cf, &mut buf.f_cf, ws);
        let until = self.until.min(n);
        (self.first..until).map(|t| buf.f_cf[t] - buf.f[t]).sum()
    }

    /// The test restricted to the first `n` periods (a training prefix): `None` when its window
    /// does not lie within them; otherwise its sum stops at `n`.
    pub fn truncated(&self, n: usize) -> Option<LiftTest> {
        (self.last < n).then(|| {
            let mut t = self.clone();
            t.until = t.until.min(n);
            t.counterfactual.truncate(n);
            t.geo_counterfactuals
                .iter_mut()
                .for_each(|(_, cf)| cf.truncate(n));
            t
        })
    }
}

/// Scratch series of [`LiftTest::model_lift`].
#[derive(Debug, Clone, Default)]
pub struct LiftBuffers {
    x: Vec<f64>,
    x_cf: Vec<f64>,
    f: Vec<f64>,
    f_cf: Vec<f64>,
}

impl LiftBuffers {
    /// Buffers for series of `n` periods (so that the first use does not allocate).
    pub fn new(n: usize) -> Self {
        let mut b = LiftBuffers::default();
        b.resize(n);
        b
    }

    fn resize(&mut self, n: usize) {
        for v in [&mut self.x, &mut self.x_cf, &mut self.f, &mut self.f_cf] {
            v.resize(n, 0.0);
        }
    }
}

/// The counterfactual spend of a change `delta` (total over periods `first..=last`), spread in
/// proportion to the actual spend there (evenly when it is 0).
///
/// # Errors
/// A message when the change would make spend negative (`delta < −S_W`) or is not finite.
pub fn counterfactual_spend(
    spend: &[f64],
    first: usize,
    last: usize,
    delta: f64,
) -> std::result::Result<Vec<f64>, String> {
    if !delta.is_finite() {
        return Err(format!("the spend change {delta} is not a finite number"));
    }
    let window = &spend[first..=last];
    let s: f64 = window.iter().sum();
    let mut out = spend.to_vec();
    if s > 0.0 {
        if delta < -s * (1.0 + 1e-12) {
            return Err(format!(
                "the spend change {delta} is below minus the channel's spend in the window \
                 ({}): spend cannot become negative (a holdout is \"holdout\": true)",
                (s * 1e6).round() / 1e6
            ));
        }
        let factor = (1.0 + delta / s).max(0.0);
        for v in &mut out[first..=last] {
            *v *= factor;
        }
    } else {
        if delta < 0.0 {
            return Err(format!(
                "the channel has no spend in the window, so it cannot be cut by {delta}"
            ));
        }
        let per = delta / (last - first + 1) as f64;
        for v in &mut out[first..=last] {
            *v += per;
        }
    }
    Ok(out)
}

/// `(1/K)·Σ_k |model_k − lift_k| / |lift_k|` (Robyn's MAPE.LIFT); `+∞` when a measured lift
/// is 0 or there is no test.
pub fn mape_lift(tests: &[LiftTest], model_lifts: &[f64]) -> f64 {
    if tests.is_empty() {
        return f64::INFINITY;
    }
    let s: f64 = tests
        .iter()
        .zip(model_lifts)
        .map(|(t, m)| (m - t.lift).abs() / t.lift.abs())
        .sum();
    s / tests.len() as f64
}

/// One test in results.json (`calibration.tests[]`).
#[derive(Debug, Clone, Serialize)]
pub struct LiftTestResult {
    /// The test's label.
    pub name: String,
    /// The channel.
    pub channel: String,
    /// First and last period of the window (the data's dates).
    pub start: String,
    /// Last period of the window.
    pub end: String,
    /// Periods in the window.
    pub periods: usize,
    /// `total` or `window`.
    pub scope: LiftScope,
    /// The spend change in total over the window (minus the window's spend for a holdout).
    pub spend_change: f64,
    /// The channel's actual spend over the window.
    pub window_spend: f64,
    /// The measured lift.
    pub lift: f64,
    /// Its standard error.
    pub standard_error: f64,
    /// The model's lift for the same change (posterior mean for a Bayesian model).
    pub model_lift: f64,
    /// Interval of the model's lift at the run's level, where the model gives one.
    pub model_lift_ci_low: Option<f64>,
    /// High end.
    pub model_lift_ci_high: Option<f64>,
    /// `(model_lift − lift) / standard_error`.
    pub z: f64,
    /// `|model_lift − lift| / |lift|`.
    pub ape: f64,
}

/// results.json `calibration`.
#[derive(Debug, Clone, Serialize)]
pub struct CalibrationResult {
    /// Whether the model was fitted to the tests (a Bayesian model's likelihood term) or they
    /// are only compared with it.
    pub fitted_to_tests: bool,
    /// Mean absolute percentage error of the model's lifts (Robyn's MAPE.LIFT).
    pub mape_lift: f64,
    /// Per test.
    pub tests: Vec<LiftTestResult>,
}

/// Every test's model lift beside its measurement (results.json `calibration`), `None` when
/// the data has no test. A Bayesian model's per-draw lifts ([`crate::model::Posterior::lifts`])
/// give the posterior mean and HDI; otherwise the lift is the channel's total coefficient times
/// its transformed difference, `m·D`, with the interval of `m` (or its draws) scaled by `D`.
pub fn results(
    data: &crate::dataset::ModelData,
    estimate: &crate::causal::CausalEstimate,
    posterior: Option<&crate::model::Posterior>,
) -> Option<CalibrationResult> {
    let tests = data.calibration.as_slice();
    if tests.is_empty() {
        return None;
    }
    let level = estimate.interval_level;
    let sampled = posterior.filter(|p| p.lifts.len() == tests.len());
    let mut ws = ChainWorkspace::default();
    let mut buf = LiftBuffers::default();
    let mut out = Vec::with_capacity(tests.len());
    for (k, t) in tests.iter().enumerate() {
        let (model_lift, ci) = match sampled {
            Some(p) => {
                let d = &p.lifts[k];
                (
                    d.iter().sum::<f64>() / d.len().max(1) as f64,
                    Some(crate::interval::hdi(d, level)),
                )
            }
            None => {
                let media = &data.media[t.channel];
                let diff =
                    t.transformed_difference(&media.chain, &media.spend, 1.0, &mut ws, &mut buf);
                let e = estimate.effects.iter().find(|e| e.channel == t.channel);
                let m = e.map_or(f64::NAN, |e| e.total_coefficient);
                let ci = e.and_then(|e| match &e.total_coefficient_draws {
                    Some(d) if !d.is_empty() => {
                        let lifts: Vec<f64> = d.iter().map(|b| b * diff).collect();
                        Some(crate::interval::hdi(&lifts, level))
                    }
                    _ => e.total_coefficient_interval.map(|(lo, hi)| {
                        let (a, b) = (lo * diff, hi * diff);
                        (a.min(b), a.max(b))
                    }),
                });
                (m * diff, ci)
            }
        };
        out.push(LiftTestResult {
            name: t.name.clone(),
            channel: data.media[t.channel].name.clone(),
            start: data.dates[t.first].to_string(),
            end: data.dates[t.last].to_string(),
            periods: t.last - t.first + 1,
            scope: t.scope,
            spend_change: t.spend_change,
            window_spend: t.window_spend,
            lift: t.lift,
            standard_error: t.standard_error,
            model_lift,
            model_lift_ci_low: ci.map(|c| c.0),
            model_lift_ci_high: ci.map(|c| c.1),
            z: (model_lift - t.lift) / t.standard_error,
            ape: (model_lift - t.lift).abs() / t.lift.abs(),
        });
    }
    let lifts: Vec<f64> = out.iter().map(|r| r.model_lift).collect();
    Some(CalibrationResult {
        fitted_to_tests: sampled.is_some(),
        mape_lift: mape_lift(tests, &lifts),
        tests: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_is_spread_in_proportion_to_spend() {
        let x = [1.0, 2.0, 3.0, 0.0, 5.0];
        let cf = counterfactual_spend(&x, 1, 3, -2.5).unwrap();
        // window spend 5: factor 0.5
        assert_eq!(cf, vec![1.0, 1.0, 1.5, 0.0, 5.0]);
        let hold = counterfactual_spend(&x, 1, 3, -5.0).unwrap();
        assert_eq!(hold, vec![1.0, 0.0, 0.0, 0.0, 5.0]);
        assert!(counterfactual_spend(&x, 1, 3, -6.0).is_err());
        // no spend in the window: evenly
        let z = [1.0, 0.0, 0.0, 4.0];
        assert_eq!(
            counterfactual_spend(&z, 1, 2, 3.0).unwrap(),
            vec![1.0, 1.5, 1.5, 4.0]
        );
        assert!(counterfactual_spend(&z, 1, 2, -1.0).is_err());
    }

    #[test]
    fn mape_lift_is_the_mean_relative_error() {
        let t = |lift: f64| LiftTest {
            index: 0,
            name: String::new(),
            channel: 0,
            first: 0,
            last: 0,
            until: 1,
            spend_change: 1.0,
            window_spend: 1.0,
            counterfactual: vec![2.0],
            lift,
            standard_error: 1.0,
            scope: LiftScope::Total,
            geos: vec![],
            geo_counterfactuals: vec![],
        };
        let v = mape_lift(&[t(10.0), t(-4.0)], &[12.0, -5.0]);
        assert!((v - 0.5 * (0.2 + 0.25)).abs() < 1e-15);
        assert_eq!(mape_lift(&[], &[]), f64::INFINITY);
    }
}
