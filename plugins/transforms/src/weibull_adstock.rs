//! Weibull adstock (flexible carry-over), Robyn's two forms.
//!
//! Ref: Robyn (facebookexperimental/Robyn, `R/R/transformation.R`, `adstock_weibull`, v3.12);
//! the Weibull lag shape goes back to Jin et al. (2017) and is discussed in Robyn's
//! "Weibull adstock" documentation.

use crate::simd::{self, BlockKernel, Real};
use crate::util::{convolve, with_ln_integers, with_scratch2, with_weights, NEGLIGIBLE};
use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which of Robyn's two Weibull lag shapes to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WeibullVariant {
    /// Survival form: weights are the cumulative product of `1 − F(j)`; the weight at lag 0 is
    /// 1 and the weights never increase (Robyn's `weibull_cdf`).
    Cdf,
    /// Density form: weights are the Weibull density at lags 1…L, min–max normalized to
    /// [0, 1]; allows a delayed peak (Robyn's `weibull_pdf`).
    Pdf,
}

/// Weibull adstock: a convolution whose lag weights follow a Weibull survival curve (`cdf`) or
/// density (`pdf`), exactly as Robyn's `adstock_weibull`.
///
/// # Formula
/// ```text
/// L = window (l_max, or the length of the training series: Robyn's windlen = length(x))
/// λ = round(quantile(1:L, scale))  = round(1 + scale·(L−1))      (R quantile type 7; round half to even)
/// z_j = (j/λ)^k,  j = 1 … L,   k = shape
/// cdf:  w_0 = 1,  w_l = Π_{j=1}^{l} (1 − F(j)) = Π_{j=1}^{l} e^{−z_j}                 (l = 1 … L−1)
/// pdf:  f_j = (k/λ)·(j/λ)^{k−1}·e^{−z_j},   w_l = (f_{l+1} − min f) / (max f − min f)
///       (if max f = min f, e.g. L = 1:  w = (1, 0, …, 0))
/// y_t = Σ_{l<min(L, t+1)} w_l·x_{t−l}           ∂y_t/∂x_{t−l} = w_l
/// ∂y_t/∂k = Σ_l ∂w_l/∂k · x_{t−l}
///   cdf:  ∂w_l/∂k = −w_l · Σ_{j=1}^{l} z_j·ln(j/λ)
///   pdf:  ∂f_j/∂k = f_j·(1/k + ln(j/λ)·(1 − z_j)),
///         ∂w_l/∂k = (f'_{l+1} − f'_{jmin})/(M−m) − w_l·(f'_{jmax} − f'_{jmin})/(M−m)
/// ∂y_t/∂scale = 0      (λ is rounded to an integer, so y is piecewise constant in scale)
/// ```
/// Conventions (Robyn's, followed literally): the lag-0 weight is `1 − F(0) = 1` for `cdf` and
/// the density at 1 (normalized) for `pdf`; the weights are not normalized to sum 1 (Robyn
/// reports the resulting "inflation" separately); the window `L` is the series length by
/// default, and `scale` is a quantile of `1…L`, so the same `scale` means a longer lag on a
/// longer window. The window is learned by [`Transform::learn`] (the length of the training
/// series) and kept for later calls on other series; before `learn`, the length of the series
/// passed to `apply` is used. Because `λ` is rounded, the derivative in `scale` is 0 almost
/// everywhere (undefined at the jumps): `scale` stays tunable by derivative-free search, while
/// gradient-based samplers see a flat direction and should fix or grid it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WeibullAdstock {
    /// Weibull shape k, > 0 (cdf: below 1 decays fast then slow, above 1 the reverse; pdf: above 1 gives a delayed peak).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub shape: f64,
    /// Weibull scale as a quantile of the window 1…L, in (0, 1]; λ = round(1 + scale·(L − 1)).
    #[schemars(range(max = 1.0), extend("exclusiveMinimum" = 0.0))]
    pub scale: f64,
    /// "cdf" (decaying survival form) or "pdf" (density form, can peak later). Default: "pdf", as Robyn's adstock_weibull.
    #[serde(default = "default_variant")]
    pub variant: WeibullVariant,
    /// Window length L in periods. Default: the length of the training series (Robyn's windlen = length(x)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub l_max: Option<u32>,
    /// The training series length, learned when `l_max` is not given.
    #[serde(skip)]
    #[schemars(skip)]
    window: Option<usize>,
}

fn default_variant() -> WeibullVariant {
    WeibullVariant::Pdf
}

impl WeibullAdstock {
    const PARAMS: &'static [ParamSpec] = &[
        ParamSpec::positive("shape"),
        ParamSpec::lower_open("scale", 0.0, 1.0),
    ];

    /// A Weibull adstock with the given parameters and no learned window.
    pub fn new(shape: f64, scale: f64, variant: WeibullVariant, l_max: Option<u32>) -> Self {
        WeibullAdstock {
            shape,
            scale,
            variant,
            l_max,
            window: None,
        }
    }

    /// The window length `L` for a series of length `n`.
    fn window_len(&self, n: usize) -> usize {
        match self.l_max {
            Some(l) => (l as usize).max(1),
            None => self.window.unwrap_or(n).max(1),
        }
    }

    /// Robyn's `scaleTrans = round(quantile(1:L, scale), 0)`.
    fn lambda(&self, big_l: usize) -> f64 {
        let idx = 1.0 + self.scale * (big_l as f64 - 1.0);
        idx.round_ties_even().max(1.0)
    }

    /// The first `w.len()` weights of the window `big_l`, and (when `dw` is given) their
    /// derivatives in `shape`.
    fn weights(&self, big_l: usize, w: &mut [f64], mut dw: Option<&mut [f64]>) {
        let m = w.len();
        let k = self.shape;
        let lam = self.lambda(big_l);
        match self.variant {
            WeibullVariant::Cdf => {
                let (mut prod, mut dsum) = (1.0, 0.0);
                for l in 0..m {
                    w[l] = prod;
                    if let Some(dw) = dw.as_deref_mut() {
                        dw[l] = -prod * dsum;
                    }
                    if prod == 0.0 {
                        w[l..].fill(0.0);
                        if let Some(dw) = dw.as_deref_mut() {
                            dw[l..].fill(0.0);
                        }
                        break;
                    }
                    let lr = ((l + 1) as f64 / lam).ln();
                    let z = (k * lr).exp(); // (j/λ)^k
                    prod *= (-z).exp();
                    dsum += z * lr;
                }
            }
            WeibullVariant::Pdf => {
                let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
                let (mut dlo, mut dhi) = (0.0, 0.0);
                for j in 1..=big_l {
                    let PdfAt { f, lr, z } = pdf_at(k, lam, j as f64);
                    let df = f * (1.0 / k + lr * (1.0 - z));
                    if f < lo {
                        (lo, dlo) = (f, df);
                    }
                    if f > hi {
                        (hi, dhi) = (f, df);
                    }
                    if j <= m {
                        w[j - 1] = f;
                        if let Some(dw) = dw.as_deref_mut() {
                            dw[j - 1] = df;
                        }
                    }
                }
                let range = hi - lo;
                if range > 0.0 && range.is_finite() {
                    for l in 0..m {
                        w[l] = (w[l] - lo) / range;
                        if let Some(dw) = dw.as_deref_mut() {
                            let v = (dw[l] - dlo) / range - w[l] * (dhi - dlo) / range;
                            dw[l] = if v.is_finite() { v } else { 0.0 };
                        }
                    }
                } else {
                    w.fill(0.0);
                    if m > 0 {
                        w[0] = 1.0;
                    }
                    if let Some(dw) = dw {
                        dw.fill(0.0);
                    }
                }
            }
        }
    }
}

/// Weights are computed in chunks of this many lags by [`WeibullAdstock::apply_weights`]
/// (measured on the 1,000-period bench cases: 64 lags 4.8 µs for the pdf weights, 128 lags
/// 2.6 µs, 256 lags 3.2 µs, as more lags past the cut are computed).
const CHUNK: usize = 128;

/// `w_l = e^{−S_l}` is below [`NEGLIGIBLE`] (of `w_0 = 1`) once `S_l > 64·ln 2 ≈ 44.36`.
const CDF_CUT: f64 = 44.37;

/// Robyn's Weibull density at one lag index, with the two intermediates its shape
/// derivative needs.
struct PdfAt {
    /// `f_j = (k/λ)·(j/λ)^{k−1}·e^{−(j/λ)^k}`.
    f: f64,
    /// `ln(j/λ)`.
    lr: f64,
    /// `z_j = (j/λ)^k`.
    z: f64,
}

/// Robyn's Weibull density at lag index `j` (scalar, libm): the one formula of
/// [`WeibullAdstock::weights`] (the reference) and of the extremes that normalize the
/// vectorized weights in [`WeibullAdstock::apply_weights`] (four values per call: as fast as
/// one padded vector block, and the reference's own bits).
fn pdf_at(k: f64, lam: f64, j: f64) -> PdfAt {
    let r = j / lam;
    let lr = r.ln();
    let z = (k * lr).exp();
    PdfAt {
        f: k / lam * (z / r) * (-z).exp(),
        lr,
        z,
    }
}

/// Robyn's min–max normalized Weibull density as a function of `ln j` (`lr = ln j − ln λ`),
/// vectorizable:
/// `w = e^{ln(k/λ) − ln(max f − min f) + (k−1)·lr − e^{k·lr}} − min f/(max f − min f)`, i.e.
/// `(f_j − min f)/(max f − min f)` of [`pdf_at`] with the division folded into the
/// exponent; non-finite values (only for extreme shapes) are 0.
#[derive(Clone, Copy)]
struct NormalizedPdfKernel {
    k: f64,
    ln_lam: f64,
    offset: f64,
    lo: f64,
}

impl NormalizedPdfKernel {
    /// An upper bound on the lag index `j ≥ from` (`from` at or past the mode) from which on
    /// `e^{g(s)} ≤ `[`NEGLIGIBLE`], `g(s) = offset + (k−1)·s − e^{k·s}`, `s = ln(j/λ)` (so the
    /// weight, `e^{g} − lo`, is negligible from there on), or `None` when the search does not
    /// settle. Past the mode `g` falls and is concave (`g'' = −k²e^{ks}`), so Newton's method
    /// lands right of the root after its first step and then descends on it from the right:
    /// every later iterate is an upper bound. It starts at `e^{ks} = offset − ln NEGLIGIBLE`
    /// (the root without the `(k−1)·s` term), where the slope is already steep; a handful of
    /// scalar steps, against ≈ 4 ns per weight not computed.
    fn negligible_from(self, from: f64) -> Option<f64> {
        let target = NEGLIGIBLE.ln();
        let k = self.k;
        let s_from = from.max(1.0).ln() - self.ln_lam;
        let mut s = ((self.offset - target).max(1.0).ln() / k).max(s_from);
        for _ in 0..12 {
            let e = (k * s).exp();
            let g = self.offset + (k - 1.0) * s - e;
            let slope = (k - 1.0) - k * e;
            if !(g.is_finite() && slope < 0.0) {
                return None;
            }
            let step = (g - target) / slope;
            if g <= target && step.abs() < 1e-3 {
                return Some((s + self.ln_lam).exp().ceil().max(from));
            }
            s = (s - step).max(s_from);
        }
        None
    }
}

impl BlockKernel for NormalizedPdfKernel {
    #[inline(always)]
    fn eval<T: Real>(self, ln_j: T) -> T {
        let lr = ln_j - T::splat(self.ln_lam);
        // z beyond e^600 gives e^{−z} = 0 as ∞ does; the exponent of f is at most
        // ln(max f/(max f − min f)) ≤ 53·ln 2, within exp_neg's range
        let z = simd::exp_capped(T::splat(self.k) * lr);
        let f = simd::exp_neg(T::splat(self.offset) + T::splat(self.k - 1.0) * lr - z);
        let w = f - T::splat(self.lo);
        T::select(w.abs().lt(T::splat(f64::INFINITY)), w, T::splat(0.0))
    }
}

/// `e^{k·lr}`, vectorizable: `(j/λ)^k` from `lr = ln(j/λ)` (the survival form's `z_j`).
#[derive(Clone, Copy)]
struct ExpScaledKernel {
    k: f64,
}

impl BlockKernel for ExpScaledKernel {
    #[inline(always)]
    fn eval<T: Real>(self, lr: T) -> T {
        simd::exp(T::splat(self.k) * lr)
    }
}

/// `e^{−s}` for `s ≥ 0`, vectorizable.
#[derive(Clone, Copy)]
struct ExpNegKernel;

impl BlockKernel for ExpNegKernel {
    #[inline(always)]
    fn eval<T: Real>(self, s: T) -> T {
        simd::exp_neg(-s)
    }
}

impl WeibullAdstock {
    /// The first `min(m, …)` lag weights of the window `big_l` for `apply`, vectorized and only
    /// as far as they matter: the trailing weights that [`convolve`] would skip (below
    /// [`NEGLIGIBLE`] of the largest) are not computed, so the cost is O(effective lags), not
    /// O(L). The values agree with [`WeibullAdstock::weights`] to a few ulps (cdf: `e^{−Σz}`
    /// instead of `Π e^{−z}`).
    fn apply_weights(&self, big_l: usize, m: usize, w: &mut Vec<f64>) {
        let (k, lam) = (self.shape, self.lambda(big_l));
        let mut j = [0.0; CHUNK];
        let mut v = [0.0; CHUNK];
        match self.variant {
            WeibullVariant::Cdf => {
                // w_0 = 1, w_l = e^{−S_l}, S_l = Σ_{i≤l} z_i, z_i = e^{k·(ln i − ln λ)}
                w.push(1.0);
                let mut sum = 0.0;
                let mut start = 1;
                // S_l ≈ ∫₀ˡ (t/λ)^k dt = λ/(k+1)·(l/λ)^{k+1} reaches the cut near
                // l* = λ·(CDF_CUT·(k+1)/λ)^{1/(k+1)}: a first chunk a little past l* (the loop
                // goes on if that is short), instead of a whole chunk of mostly skipped lags
                let l_star = lam * (CDF_CUT * (k + 1.0) / lam).powf(1.0 / (k + 1.0));
                let mut chunk = if l_star.is_finite() {
                    ((1.1 * l_star) as usize + 8)
                        .next_multiple_of(8)
                        .clamp(8, CHUNK)
                } else {
                    CHUNK
                };
                let ln_lam = lam.ln();
                with_ln_integers(m, |ln_j| {
                    while start < m && sum <= CDF_CUT {
                        let c = chunk.min(m - start);
                        chunk = CHUNK;
                        for (lr, lj) in j[..c].iter_mut().zip(&ln_j[start..]) {
                            *lr = lj - ln_lam;
                        }
                        simd::map_blocks(ExpScaledKernel { k }, &j[..c], &mut v[..c]);
                        for vi in &mut v[..c] {
                            sum += *vi;
                            *vi = sum;
                        }
                        let at = w.len();
                        w.resize(at + c, 0.0);
                        simd::map_blocks(ExpNegKernel, &v[..c], &mut w[at..]);
                        start += c;
                    }
                });
            }
            WeibullVariant::Pdf => {
                // the density rises to its mode λ·((k−1)/k)^{1/k} (k > 1) and falls after it,
                // so the extremes over 1…L are at the ends and the integers around the mode
                // (clamped into 1…L: a mode outside adds nothing)
                let (mut a, mut b) = (1.0, 1.0);
                if k > 1.0 {
                    let mode = lam * ((k - 1.0) / k).powf(1.0 / k);
                    (a, b) = (mode.floor(), mode.ceil());
                }
                let past_mode = b.max(1.0);
                let clamp = |c: f64| c.clamp(1.0, big_l as f64);
                let vals = [1.0, big_l as f64, clamp(a), clamp(b)].map(|j| {
                    let f = pdf_at(k, lam, j).f;
                    if f.is_finite() {
                        f
                    } else {
                        0.0
                    }
                });
                let (lo, hi) = (
                    vals[0].min(vals[1]),
                    vals.iter().fold(vals[0], |h, v| h.max(*v)),
                );
                let range = hi - lo;
                if !(range > 0.0 && range.is_finite()) {
                    w.push(1.0);
                    return;
                }
                let norm = NormalizedPdfKernel {
                    k,
                    ln_lam: lam.ln(),
                    offset: (k / lam).ln() - range.ln(),
                    lo: lo / range,
                };
                // compute up to where the weights become negligible (lag j − 1 for index j),
                // in whole blocks of 8; the loop goes on in chunks if that was short
                let mut stop = norm
                    .negligible_from(past_mode)
                    .map_or(m, |j| (j.min(m as f64) as usize).next_multiple_of(8).min(m));
                with_ln_integers(m, |ln_j| {
                    let mut start = 0;
                    while start < m {
                        let c = CHUNK.min(stop.max(start + 8) - start).min(m - start);
                        let at = w.len();
                        w.resize(at + c, 0.0);
                        simd::map_blocks(norm, &ln_j[start + 1..start + 1 + c], &mut w[at..]);
                        start += c;
                        // past the mode the weights only fall: stop once they are negligible
                        if start as f64 > past_mode && w[w.len() - 1] <= NEGLIGIBLE {
                            break;
                        }
                        if start >= stop {
                            stop = m;
                        }
                    }
                });
            }
        }
    }
}

#[typetag::serde(name = "weibull_adstock")]
impl Transform for WeibullAdstock {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.shape;
        out[1] = self.scale;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.shape = values[0];
        self.scale = values[1];
    }
    fn validate(&self) -> Result<()> {
        check_all(Self::PARAMS, &[self.shape, self.scale])?;
        if self.l_max == Some(0) {
            return Err(MmmError::param(
                "/l_max",
                "l_max = 0 is outside its valid range [1, ∞)",
            ));
        }
        Ok(())
    }
    fn learn(&mut self, x: &[f64]) {
        if self.l_max.is_none() {
            self.window = Some(x.len());
        }
    }
    fn learned(&self) -> Option<Vec<f64>> {
        self.window.map(|w| vec![w as f64])
    }
    fn set_learned(&mut self, values: &[f64]) {
        if let Some(&w) = values.first() {
            if w.is_finite() && w >= 1.0 {
                self.window = Some(w as usize);
            }
        }
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let big_l = self.window_len(x.len());
        let m = big_l.min(x.len());
        with_weights(|w| {
            self.apply_weights(big_l, m, w);
            convolve(x, w, out);
        });
    }
    fn jvp_input(&self, _x: &[f64], dx: &[f64], out: &mut [f64]) {
        self.apply(dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        let n = x.len();
        let big_l = self.window_len(n);
        let m = big_l.min(n);
        with_scratch2(m, |w, dw| {
            self.weights(big_l, w, Some(dw));
            convolve(x, dw, &mut out[..n]);
        });
        out[n..2 * n].fill(0.0);
    }
    fn lag_weights(&self, n: usize) -> Option<Vec<f64>> {
        let big_l = self.window_len(n);
        let mut w = vec![0.0; n];
        let m = big_l.min(n);
        self.weights(big_l, &mut w[..m], None);
        Some(w)
    }
}

mmm_core::register!(
    KIND,
    WeibullAdstock,
    "weibull_adstock",
    "Robyn's Weibull carry-over: lag weights from a Weibull survival curve (cdf) or density (pdf)",
    r#"{"shape": 2.0, "scale": 0.1, "variant": "pdf"}"#
);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mmm_core::transform::conformance;
    use WeibullVariant::{Cdf, Pdf};

    /// Spend over `n` periods: three zero periods in every 26, then 40–56.
    pub(crate) fn spend(n: usize) -> Vec<f64> {
        (0..n)
            .map(|t| {
                if t % 26 < 3 {
                    0.0
                } else {
                    40.0 + (t % 17) as f64
                }
            })
            .collect()
    }

    #[test]
    fn conformance_several_settings() {
        // test series length 40: λ = round(1 + scale·39) stays away from the rounding ties
        for t in [
            WeibullAdstock::new(0.5, 0.3, Cdf, None),
            WeibullAdstock::new(2.0, 0.1, Cdf, None),
            WeibullAdstock::new(1.0, 0.2, Cdf, Some(20)),
            WeibullAdstock::new(2.0, 0.1, Pdf, None),
            WeibullAdstock::new(0.7, 0.15, Pdf, None),
            WeibullAdstock::new(5.0, 0.3, Pdf, Some(30)),
        ] {
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{t:?}: {e}"));
        }
    }

    #[test]
    fn apply_weights_match_the_full_computation() {
        for t in [
            WeibullAdstock::new(1.5, 0.05, Cdf, None),
            WeibullAdstock::new(0.3, 0.5, Cdf, None),
            WeibullAdstock::new(2.0, 0.05, Pdf, None),
            WeibullAdstock::new(0.7, 0.2, Pdf, None),
            WeibullAdstock::new(1.0, 0.1, Pdf, None),
            WeibullAdstock::new(8.0, 0.3, Pdf, Some(52)),
            WeibullAdstock::new(50.0, 0.01, Pdf, None),
            WeibullAdstock::new(2.0, 1.0, Pdf, Some(1)),
        ] {
            for (big_l, m) in [(1000, 1000), (300, 120), (52, 52)] {
                let mut full = vec![0.0; m];
                t.weights(big_l, &mut full, None);
                let mut fast = Vec::new();
                t.apply_weights(big_l, m, &mut fast);
                assert!(fast.len() <= m, "{t:?}");
                let wmax = full.iter().fold(0.0f64, |a, b| a.max(*b));
                for (l, wf) in full.iter().enumerate() {
                    let v = fast.get(l).copied().unwrap_or(0.0);
                    // computed: 1e-13 apart, or 1e-15 of the largest weight for tiny weights
                    // (e^{−z} with a large z: the error of pow grows with z, see simd.rs);
                    // not computed: negligible (below 2^-64 of the largest)
                    let ok = if l < fast.len() {
                        (v - wf).abs() <= 1e-13 * wf.abs() + 1e-15 * wmax
                    } else {
                        *wf <= wmax * NEGLIGIBLE
                    };
                    assert!(ok, "{t:?} L={big_l} lag {l}: {v:e} vs {wf:e}");
                }
            }
        }
    }

    #[test]
    fn long_windows_take_the_fft_path_and_match_the_direct_sum() {
        // Robyn's default window over 1,000 periods: the pdf form has ≈ 350 lags that matter,
        // the cdf form ≈ 70, both on the FFT path; both agree with the direct sum to 1e-12 of
        // the largest output, and d_params (convolving the shape derivatives) too
        let x = spend(1000);
        for (t, fft) in [
            (WeibullAdstock::new(2.0, 0.05, Pdf, None), true),
            (WeibullAdstock::new(1.5, 0.05, Cdf, None), true),
            (WeibullAdstock::new(1.5, 0.05, Cdf, Some(30)), false),
        ] {
            let mut w = Vec::new();
            let big_l = t.window_len(1000);
            t.apply_weights(big_l, big_l.min(1000), &mut w);
            assert_eq!(
                crate::util::uses_fft(1000, w.len()),
                fft,
                "{t:?}: {}",
                w.len()
            );
            let (mut y, mut direct) = (vec![0.0; 1000], vec![0.0; 1000]);
            t.apply(&x, &mut y);
            crate::util::convolve_direct(&x, &w, &mut direct);
            let ymax = direct.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            for (a, b) in y.iter().zip(&direct) {
                assert!((a - b).abs() <= 1e-12 * ymax, "{t:?}: {a:e} vs {b:e}");
            }
            let mut dp = vec![0.0; 2000];
            t.d_params(&x, &mut dp);
            let mut dw = vec![0.0; big_l.min(1000)];
            let mut full = vec![0.0; big_l.min(1000)];
            t.weights(big_l, &mut full, Some(&mut dw));
            crate::util::convolve_direct(&x, &dw, &mut direct);
            let dmax = direct.iter().fold(0.0f64, |a, b| a.max(b.abs()));
            for (a, b) in dp[..1000].iter().zip(&direct) {
                assert!((a - b).abs() <= 1e-12 * dmax, "{t:?}: {a:e} vs {b:e}");
            }
        }
    }

    #[test]
    fn robyn_conventions() {
        // λ = round(1 + 0.5·51) = round(26.5) = 26 (half to even, as R's round)
        let t = WeibullAdstock::new(1.0, 0.5, Cdf, None);
        assert_eq!(t.lambda(52), 26.0);
        assert_eq!(t.lambda(1), 1.0);
        let w = t.lag_weights(52).unwrap();
        assert_eq!(w[0], 1.0);
        // shape 1: 1 − F(j) = e^{−j/λ}, so w_l = e^{−l(l+1)/(2λ)}
        for (l, wl) in w.iter().enumerate().take(10) {
            let expect = (-((l * (l + 1)) as f64) / (2.0 * 26.0)).exp();
            assert!((wl - expect).abs() < 1e-13, "{l}: {wl} {expect}");
        }
        let p = WeibullAdstock::new(3.0, 0.2, Pdf, None)
            .lag_weights(52)
            .unwrap();
        let max = p.iter().cloned().fold(f64::MIN, f64::max);
        let min = p.iter().cloned().fold(f64::MAX, f64::min);
        assert_eq!((min, max), (0.0, 1.0));
    }

    #[test]
    fn learns_the_window_from_training_data() {
        let x = conformance::test_series(52);
        let mut t = WeibullAdstock::new(2.0, 0.2, Pdf, None);
        t.learn(&x);
        let mut y52 = vec![0.0; 52];
        t.apply(&x, &mut y52);
        // a longer series reuses the learned window (L = 52): same prefix, lags ≥ 52 are zero
        let mut long = x.clone();
        long.extend(conformance::test_series(30));
        let mut y82 = vec![0.0; 82];
        t.apply(&long, &mut y82);
        for i in 0..52 {
            assert!((y52[i] - y82[i]).abs() < 1e-12);
        }
        assert_eq!(t.lag_weights(82).unwrap()[52..], [0.0; 30]);
    }

    #[test]
    fn single_period_is_identity() {
        for v in [Cdf, Pdf] {
            let t = WeibullAdstock::new(2.0, 0.5, v, None);
            let mut y = [0.0];
            t.apply(&[3.0], &mut y);
            assert_eq!(y, [3.0]);
        }
    }

    #[test]
    fn scale_derivative_is_zero_and_outputs_finite() {
        let x = conformance::test_series(30);
        let mut dp = vec![1.0; 60];
        for t in [
            WeibullAdstock::new(1e-3, 1.0, Cdf, None),
            WeibullAdstock::new(50.0, 0.01, Pdf, None),
            WeibullAdstock::new(1e-3, 0.5, Pdf, None),
        ] {
            t.d_params(&x, &mut dp);
            assert!(dp[30..].iter().all(|v| *v == 0.0));
            assert!(dp.iter().all(|v| v.is_finite()), "{t:?}");
            let mut y = vec![0.0; 30];
            t.apply(&x, &mut y);
            assert!(y.iter().all(|v| v.is_finite()), "{t:?}");
        }
    }

    #[test]
    fn rejects_bad_fields() {
        let e = WeibullAdstock::new(0.0, 0.5, Cdf, None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/shape") && e.contains("(0, ∞)"), "{e}");
        let e = WeibullAdstock::new(1.0, 1.5, Cdf, None)
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/scale") && e.contains("(0, 1]"), "{e}");
        let e = WeibullAdstock::new(1.0, 0.5, Cdf, Some(0))
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("/l_max"), "{e}");
        let r: std::result::Result<Box<dyn Transform>, _> = serde_json::from_str(
            r#"{"type":"weibull_adstock","shape":1,"scale":0.5,"variant":"weird"}"#,
        );
        assert!(r.is_err());
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use crate::weibull_adstock::WeibullVariant::{Cdf, Pdf};

    /// [`crate::util::tests::best_of_us`] over 400 runs.
    fn best_us(f: &mut dyn FnMut()) -> f64 {
        crate::util::tests::best_of_us(400, f)
    }

    /// Best-of timing of the bench's two whole-series Weibull settings and of the parts of
    /// the pdf case: weights, the convolution, one FFT of the lengths around its layout's, and
    /// the weight kernel per 1,000 values (run with
    /// `cargo test --release -p mmm-transforms weibull_timing -- --ignored --nocapture`).
    #[test]
    #[ignore]
    fn weibull_timing() {
        let x = super::tests::spend(1000);
        let mut y = vec![0.0; 1000];
        for t in [
            WeibullAdstock::new(1.5, 0.05, Cdf, None),
            WeibullAdstock::new(2.0, 0.05, Pdf, None),
        ] {
            let apply = best_us(&mut || t.apply(std::hint::black_box(&x), &mut y));
            let mut w = Vec::new();
            let weights = best_us(&mut || {
                w.clear();
                t.apply_weights(1000, 1000, std::hint::black_box(&mut w))
            });
            let conv = best_us(&mut || crate::util::convolve(std::hint::black_box(&x), &w, &mut y));
            println!(
                "{:?}: apply {apply:.2} µs, weights {weights:.2} µs ({} lags), convolution {conv:.2} µs",
                t.variant,
                w.len()
            );
        }
        let mut planner = rustfft::FftPlannerAvx::<f64>::new().expect("AVX2 and FMA");
        for m in [384usize, 432, 512, 640, 675, 768, 864] {
            let plan = planner.plan_fft_forward(m);
            let zero = rustfft::num_complex::Complex::new(0.0, 0.0);
            let (mut buf, mut scratch) =
                (vec![zero; m], vec![zero; plan.get_inplace_scratch_len()]);
            let t = best_us(&mut || {
                plan.process_with_scratch(std::hint::black_box(&mut buf), &mut scratch)
            });
            println!("complex FFT of length {m}: {t:.3} µs");
        }
        let ln_j: Vec<f64> = (1..=1000).map(|j| (j as f64).ln()).collect();
        let mut out = vec![0.0; 1000];
        let norm = NormalizedPdfKernel {
            k: 2.0,
            ln_lam: 51f64.ln(),
            offset: 0.5,
            lo: 0.0,
        };
        let t = best_us(&mut || simd::map_blocks(norm, std::hint::black_box(&ln_j), &mut out));
        println!("pdf weight kernel: {t:.3} µs per 1,000 lags");
        let t = best_us(&mut || {
            for start in (0..352).step_by(CHUNK) {
                let r = start..(start + CHUNK).min(352);
                simd::map_blocks(norm, std::hint::black_box(&ln_j[r.clone()]), &mut out[r]);
            }
        });
        println!("pdf weight kernel, 352 lags in chunks of {CHUNK}: {t:.3} µs");
        let t = best_us(&mut || {
            std::hint::black_box(std::hint::black_box(norm).negligible_from(37.0));
        });
        println!("negligible_from: {t:.3} µs");
        let t = best_us(&mut || {
            let at = std::hint::black_box([1.0, 1000.0, 36.0, 37.0]);
            std::hint::black_box(at.map(|j| pdf_at(2.0, 51.0, j).f));
        });
        println!("four extreme points: {t:.3} µs");
    }
}
