//! The `Transform` trait: one channel's series in, a transformed series out.
//!
//! Transforms (adstock, saturation, scaling…) compose into a [`TransformChain`] per channel.
//! They write into caller-provided buffers, so that tuning can apply them millions of times
//! without allocating, and they give derivatives in their input (for marginal ROI) and in their
//! parameters (for gradient-based samplers), in forward mode:
//!
//! ```text
//! jvp_input:  out_t = Σ_s ∂y_t/∂x_s · dx_s        (Jacobian–vector product in the input)
//! d_params:   out[p·T + t] = ∂y_t/∂θ_p           (one series per continuous parameter)
//! ```

use crate::error::Result;
use crate::params::ParamSpec;
use std::fmt::Debug;

/// The plugin kind name of transforms.
pub const KIND: &str = "transform";

/// A transformation of one channel's series. See the module docs for the derivative conventions.
///
/// Implementations must not panic and must not allocate in `apply`, `jvp_input` and `d_params`
/// (the hot path); buffers have the length of `x` (and `params().len() · x.len()` for
/// `d_params`).
#[typetag::serde(tag = "type")]
pub trait Transform: Send + Sync + Debug + dyn_clone::DynClone {
    /// The continuous parameters, in the order of [`Transform::get_params`].
    fn params(&self) -> &'static [ParamSpec] {
        &[]
    }
    /// Writes the current parameter values into `out` (length `params().len()`).
    fn get_params(&self, _out: &mut [f64]) {}
    /// Sets the parameter values (length `params().len()`); callers keep them within bounds.
    fn set_params(&mut self, _values: &[f64]) {}
    /// Checks every parameter; the error names the field (`/decay`), its value and the rule.
    fn validate(&self) -> Result<()>;
    /// Learns data-dependent constants (a scale, a range) from the training input of this
    /// transform. Called before [`Transform::apply`] on training data; later calls of `apply`
    /// on other spend (response curves, budgets) keep what was learned. Default: nothing.
    fn learn(&mut self, _x: &[f64]) {}
    /// The data-dependent constants [`Transform::learn`] found (a divisor, a range), for a saved
    /// model (`model.json`); `None` (the default) for transforms that learn nothing. A
    /// transform that learns must return them here and take them back in
    /// [`Transform::set_learned`], or `mmm predict` refuses its saved model (it checks the
    /// restored chain against the history it was fitted on).
    fn learned(&self) -> Option<Vec<f64>> {
        None
    }
    /// Restores constants that [`Transform::learned`] returned. Default: nothing.
    fn set_learned(&mut self, _values: &[f64]) {}
    /// Whether `y_t` depends on `x_t` alone (saturations); adstocks return `false`.
    fn is_elementwise(&self) -> bool {
        false
    }
    /// Writes the transformed series into `out`.
    fn apply(&self, x: &[f64], out: &mut [f64]);
    /// Writes the Jacobian–vector product `J_x · dx` into `out`.
    fn jvp_input(&self, x: &[f64], dx: &[f64], out: &mut [f64]);
    /// Writes `∂y_t/∂θ_p` for every parameter `p` into `out[p·T + t]`.
    fn d_params(&self, _x: &[f64], _out: &mut [f64]) {}
    /// For an elementwise transform ([`Transform::is_elementwise`]): the output (as
    /// [`Transform::apply`]), the elementwise input derivative `d_input_t = ∂y_t/∂x_t` (as
    /// [`Transform::jvp_input`] with `dx = 1`) and every `∂y_t/∂θ_p` (as
    /// [`Transform::d_params`]) in one pass, sharing the work the three would repeat (a Hill
    /// curve's power), with the same values. Returns `false` — the default — when the transform
    /// does not offer it for its current parameters; it must then write nothing, and callers
    /// use the three methods. Where `∂y_t/∂x_t` is infinite (a concave Hill curve at 0), callers
    /// multiplying a tangent by it must give 0 for a zero tangent, as `jvp_input` does.
    fn apply_derivatives(
        &self,
        _x: &[f64],
        _out: &mut [f64],
        _d_input: &mut [f64],
        _d_params: &mut [f64],
    ) -> bool {
        false
    }
    /// Lag weights `w_0 … w_{n−1}` of an adstock (`y_t = Σ w_l x_{t−l}`), for plots; `None` for
    /// transforms that are not linear filters.
    fn lag_weights(&self, _n: usize) -> Option<Vec<f64>> {
        None
    }
}

dyn_clone::clone_trait_object!(Transform);
crate::plugin_kind_schema!(Transform, KIND, "Transform");

/// The transforms of one channel, applied in order.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct TransformChain(pub Vec<Box<dyn Transform>>);

/// Scratch buffers for a chain on series of one length, allocated once and reused.
#[derive(Debug, Clone, Default)]
pub struct ChainWorkspace {
    /// Inputs of every stage: `stage_inputs[k]` is the input to transform `k`.
    stage_inputs: Vec<Vec<f64>>,
    a: Vec<f64>,
    b: Vec<f64>,
    /// Per stage: `∂y_t/∂θ_p` of its own parameters (`p·T + t`).
    dparams: Vec<Vec<f64>>,
    /// Per stage: its elementwise input derivative, where [`Transform::apply_derivatives`]
    /// gave one (`fused[k]`).
    d_input: Vec<Vec<f64>>,
    fused: Vec<bool>,
}

impl ChainWorkspace {
    /// A workspace for `chain` on series of length `n`.
    pub fn new(chain: &TransformChain, n: usize) -> Self {
        let mut ws = ChainWorkspace::default();
        ws.ensure(chain, n);
        ws
    }
    /// Grows the buffers when `chain` on length `n` needs more than they hold; never shrinks,
    /// so one workspace serves channels whose chains differ without reallocating each time.
    fn ensure(&mut self, chain: &TransformChain, n: usize) {
        let k = chain.0.len();
        let max_p = chain.0.iter().map(|t| t.params().len()).max().unwrap_or(0);
        if self.stage_inputs.len() < k
            || self.a.len() != n
            || self.dparams.first().is_some_and(|d| d.len() < max_p * n)
        {
            let k = k.max(self.stage_inputs.len());
            let p = max_p.max(self.dparams.first().map_or(0, |d| d.len() / n.max(1)));
            *self = ChainWorkspace {
                stage_inputs: vec![vec![0.0; n]; k],
                a: vec![0.0; n],
                b: vec![0.0; n],
                dparams: vec![vec![0.0; p * n]; k],
                d_input: vec![vec![0.0; n]; k],
                fused: vec![false; k],
            };
        }
    }
}

impl TransformChain {
    /// Number of continuous parameters over all transforms.
    pub fn n_params(&self) -> usize {
        self.0.iter().map(|t| t.params().len()).sum()
    }

    /// `(transform index, spec)` of every continuous parameter, in chain order.
    pub fn param_specs(&self) -> Vec<(usize, ParamSpec)> {
        self.0
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.params().iter().map(move |p| (i, *p)))
            .collect()
    }

    /// Writes all parameter values, in chain order.
    pub fn get_params(&self, out: &mut [f64]) {
        let mut o = 0;
        for t in &self.0 {
            let k = t.params().len();
            t.get_params(&mut out[o..o + k]);
            o += k;
        }
    }

    /// Sets all parameter values, in chain order.
    pub fn set_params(&mut self, values: &[f64]) {
        let mut o = 0;
        for t in &mut self.0 {
            let k = t.params().len();
            t.set_params(&values[o..o + k]);
            o += k;
        }
    }

    /// Learns every transform's data-dependent constants from training spend `x` and writes
    /// the transformed series into `out`.
    pub fn learn_apply(&mut self, x: &[f64], out: &mut [f64], ws: &mut ChainWorkspace) {
        ws.ensure(self, x.len());
        out.copy_from_slice(x);
        for t in &mut self.0 {
            ws.a.copy_from_slice(out);
            t.learn(&ws.a);
            t.apply(&ws.a, out);
        }
    }

    /// Every transform's learned constants ([`Transform::learned`]), in chain order.
    pub fn learned(&self) -> Vec<Option<Vec<f64>>> {
        self.0.iter().map(|t| t.learned()).collect()
    }

    /// Restores learned constants (as [`TransformChain::learned`] returned them).
    pub fn set_learned(&mut self, values: &[Option<Vec<f64>>]) {
        for (t, v) in self.0.iter_mut().zip(values) {
            if let Some(v) = v {
                t.set_learned(v);
            }
        }
    }

    /// Writes the transformed series into `out` (no learning).
    pub fn apply(&self, x: &[f64], out: &mut [f64], ws: &mut ChainWorkspace) {
        ws.ensure(self, x.len());
        out.copy_from_slice(x);
        for t in &self.0 {
            ws.a.copy_from_slice(out);
            t.apply(&ws.a, out);
        }
    }

    /// Transformed series and the Jacobian–vector product `J · dx` of the whole chain.
    pub fn apply_jvp(
        &self,
        x: &[f64],
        dx: &[f64],
        out: &mut [f64],
        dout: &mut [f64],
        ws: &mut ChainWorkspace,
    ) {
        ws.ensure(self, x.len());
        out.copy_from_slice(x);
        dout.copy_from_slice(dx);
        for t in &self.0 {
            ws.a.copy_from_slice(out);
            ws.b.copy_from_slice(dout);
            t.apply(&ws.a, out);
            t.jvp_input(&ws.a, &ws.b, dout);
        }
    }

    /// Transformed series and `∂y_t/∂θ_p` of the chain output for every chain parameter `p`
    /// (chain order), written to `dout[p·T + t]` (forward mode: each transform's parameter
    /// derivatives are pushed through the transforms after it with `jvp_input`).
    pub fn apply_d_params(
        &self,
        x: &[f64],
        out: &mut [f64],
        dout: &mut [f64],
        ws: &mut ChainWorkspace,
    ) {
        let n = x.len();
        ws.ensure(self, n);
        let ChainWorkspace {
            stage_inputs,
            a,
            dparams,
            d_input,
            fused,
            ..
        } = ws;
        let len = self.0.len();
        if len == 0 {
            out.copy_from_slice(x);
            return;
        }
        // the last stage's parameter derivatives go straight to `dout` (nothing after it)
        let last_np = self.0[len - 1].params().len();
        let last_p0 = self.n_params() - last_np;
        for (k, t) in self.0.iter().enumerate() {
            stage_inputs[k].copy_from_slice(if k == 0 { x } else { out });
            let np = t.params().len();
            let own = if k + 1 == len {
                &mut dout[last_p0 * n..(last_p0 + np) * n]
            } else {
                &mut dparams[k][..np * n]
            };
            fused[k] = t.is_elementwise()
                && t.apply_derivatives(&stage_inputs[k], out, &mut d_input[k], own);
            if !fused[k] {
                t.apply(&stage_inputs[k], out);
            }
        }
        let mut p0 = 0;
        for (k, t) in self.0.iter().enumerate() {
            let np = t.params().len();
            if np == 0 {
                continue;
            }
            if k + 1 == len {
                if !fused[k] {
                    t.d_params(&stage_inputs[k], &mut dout[p0 * n..(p0 + np) * n]);
                }
                break;
            }
            if !fused[k] {
                t.d_params(&stage_inputs[k], &mut dparams[k][..np * n]);
            }
            for p in 0..np {
                let target = &mut dout[(p0 + p) * n..(p0 + p + 1) * n];
                let own = &dparams[k][p * n..(p + 1) * n];
                // the chain rule through each later stage; through an elementwise one a
                // product, where a zero tangent stays 0 even where the slope is infinite (as
                // `jvp_input` gives)
                let product = |v: f64, d: f64| if v == 0.0 { 0.0 } else { v * d };
                if fused[k + 1] {
                    for ((o, v), d) in target.iter_mut().zip(own).zip(&d_input[k + 1]) {
                        *o = product(*v, *d);
                    }
                } else {
                    self.0[k + 1].jvp_input(&stage_inputs[k + 1], own, target);
                }
                for j in k + 2..len {
                    if fused[j] {
                        for (v, d) in target.iter_mut().zip(&d_input[j]) {
                            *v = product(*v, *d);
                        }
                    } else {
                        a.copy_from_slice(target);
                        self.0[j].jvp_input(&stage_inputs[j], a, target);
                    }
                }
            }
            p0 += np;
        }
    }
}

/// Checks every transform must pass, shared by all plugins' tests (statrs'
/// `check_continuous_distribution` idea): analytic derivatives against central finite
/// differences, finite outputs, zero in gives zero out, and monotone in spend.
pub mod conformance {
    use super::Transform;

    /// A strictly positive, varying spend-like test series of length `n`.
    pub fn test_series(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| 1.0 + 0.8 * ((t as f64) * 0.7).sin() + 0.3 * ((t as f64) * 2.3).cos())
            .collect()
    }

    /// `|a − b| / max(1, |a|, |b|)`.
    pub fn rel_err(a: f64, b: f64) -> f64 {
        (a - b).abs() / 1f64.max(a.abs()).max(b.abs())
    }

    /// Maximum relative error of the analytic derivatives (input direction and every parameter)
    /// against central finite differences at `x` (which should be strictly positive).
    pub fn max_derivative_error(t: &dyn Transform, x: &[f64]) -> f64 {
        let n = x.len();
        let mut worst: f64 = 0.0;
        let mut yp = vec![0.0; n];
        let mut ym = vec![0.0; n];
        let dx: Vec<f64> = (0..n)
            .map(|i| 0.5 + ((i * 37 % 11) as f64) / 11.0)
            .collect();
        let mut jv = vec![0.0; n];
        t.jvp_input(x, &dx, &mut jv);
        let scale = x.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-12);
        let h = 1e-6 * scale;
        let xp: Vec<f64> = x.iter().zip(&dx).map(|(a, d)| a + h * d).collect();
        let xm: Vec<f64> = x.iter().zip(&dx).map(|(a, d)| a - h * d).collect();
        t.apply(&xp, &mut yp);
        t.apply(&xm, &mut ym);
        for i in 0..n {
            worst = worst.max(rel_err(jv[i], (yp[i] - ym[i]) / (2.0 * h)));
        }
        let np = t.params().len();
        if np > 0 {
            let mut theta = vec![0.0; np];
            t.get_params(&mut theta);
            let mut dp = vec![0.0; np * n];
            t.d_params(x, &mut dp);
            for p in 0..np {
                let hp = 1e-6 * theta[p].abs().max(1e-3);
                let mut tp = dyn_clone::clone_box(t);
                let mut tm = dyn_clone::clone_box(t);
                let mut th = theta.clone();
                th[p] = theta[p] + hp;
                tp.set_params(&th);
                th[p] = theta[p] - hp;
                tm.set_params(&th);
                tp.apply(x, &mut yp);
                tm.apply(x, &mut ym);
                for i in 0..n {
                    worst = worst.max(rel_err(dp[p * n + i], (yp[i] - ym[i]) / (2.0 * hp)));
                }
            }
        }
        worst
    }

    /// Runs the shared checks on a transform whose data-dependent constants were learned:
    /// derivatives within `1e-5` of finite differences, finite outputs, zero in → zero out
    /// (when `zero_preserving`), and monotone non-decreasing response to more spend in any period.
    pub fn check(t: &dyn Transform, zero_preserving: bool) -> Result<(), String> {
        let x = test_series(40);
        let err = max_derivative_error(t, &x);
        if err > 1e-5 || err.is_nan() {
            return Err(format!(
                "derivative differs from finite differences by {err:e}"
            ));
        }
        let mut y = vec![0.0; x.len()];
        t.apply(&x, &mut y);
        if y.iter().any(|v| !v.is_finite()) {
            return Err("non-finite output".into());
        }
        if zero_preserving {
            let z = vec![0.0; x.len()];
            let mut yz = vec![1.0; x.len()];
            t.apply(&z, &mut yz);
            if yz.iter().any(|v| v.abs() > 1e-12) {
                return Err(format!("zero in gave non-zero out: {yz:?}"));
            }
        }
        let mut y2 = vec![0.0; x.len()];
        for i in [0, 5, 17, 39] {
            let mut x2 = x.clone();
            x2[i] *= 1.5;
            t.apply(&x2, &mut y2);
            if y2.iter().zip(&y).any(|(b, a)| *b < *a - 1e-12) {
                return Err(format!("more spend in period {i} lowered the output"));
            }
        }
        Ok(())
    }
}
