//! PSIS-LOO: Pareto-smoothed importance sampling leave-one-out cross-validation (Vehtari,
//! Gelman & Gabry 2017; Vehtari et al. 2024), as ArviZ 0.23's `loo` and `psislw` compute it.
//!
//! # Formula
//! For observation `i` with pointwise log-likelihood `ℓ_is` over draws `s = 1..S`:
//! ```text
//! r_s      = −ℓ_is − max_s(−ℓ_is)                           (log importance ratios)
//! M        = ⌈min(0.2·S, 3·√(S/r_eff))⌉                      (tail length)
//! tail     = the M largest r_s above the cutoff r_(S−M) (and above log of the smallest double)
//! (k, σ)   = generalized Pareto fit to exp(tail) − exp(cutoff) (Zhang & Stephens 2009, with
//!            ArviZ's weakly informative prior on k: k ← (M·k + 5)/(M + 10))
//! tail     ← log(F⁻¹((j − ½)/M; k, σ) + exp(cutoff)), j = 1..M, in the tail's order; capped at 0
//! log w_s  = r_s − logsumexp(r)
//! elpd_i   = logsumexp_s(log w_s + ℓ_is)
//! elpd_loo = Σ_i elpd_i,   SE = √(n·Var_i(elpd_i))   (population variance)
//! p_loo    = Σ_i [logsumexp_s(ℓ_is) − log S] − elpd_loo
//! ```
//! `k` is the observation's Pareto shape: below `min(1 − 1/log10 S, 0.7)` the estimate is
//! reliable. `r_eff` is the posterior's relative efficiency: ArviZ's mean of the parameters'
//! ESS of the mean over `S`.

use serde::Serialize;

/// The result of [`loo`].
#[derive(Debug, Clone, Serialize)]
pub struct Loo {
    /// Expected log pointwise predictive density, leave-one-out.
    pub elpd_loo: f64,
    /// Its standard error.
    pub se: f64,
    /// Effective number of parameters.
    pub p_loo: f64,
    /// Number of observations.
    pub n: usize,
    /// Number of draws.
    pub draws: usize,
    /// Relative efficiency used for the tail length.
    pub r_eff: f64,
    /// The Pareto k threshold for these draws, `min(1 − 1/log10 S, 0.7)`.
    pub k_threshold: f64,
    /// Largest Pareto k.
    pub max_pareto_k: f64,
    /// Observations with k above the threshold.
    pub n_bad_k: usize,
    /// Pareto k per observation.
    pub pareto_k: Vec<f64>,
    /// `elpd_i` per observation.
    pub elpd_i: Vec<f64>,
}

fn logsumexp(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let m = v.clone().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + v.map(|x| (x - m).exp()).sum::<f64>().ln()
}

/// Generalized Pareto fit of ascending, positive `x` (Zhang & Stephens 2009 with ArviZ's prior):
/// returns `(k, σ)`.
pub fn gpd_fit(x: &[f64]) -> (f64, f64) {
    let (prior_bs, prior_k) = (3.0, 10.0);
    let n = x.len();
    let m_est = 30 + (n as f64).sqrt() as usize;
    let q = x[((n as f64) / 4.0 + 0.5) as usize - 1];
    let last = x[n - 1];
    let mut b: Vec<f64> = (1..=m_est)
        .map(|j| (1.0 - (m_est as f64 / (j as f64 - 0.5)).sqrt()) / (prior_bs * q) + 1.0 / last)
        .collect();
    let k_of = |bj: f64| x.iter().map(|v| (-bj * v).ln_1p()).sum::<f64>() / n as f64;
    let k: Vec<f64> = b.iter().map(|&bj| k_of(bj)).collect();
    let len_scale: Vec<f64> = b
        .iter()
        .zip(&k)
        .map(|(&bj, &kj)| n as f64 * ((-(bj / kj)).ln() - kj - 1.0))
        .collect();
    let mut w: Vec<f64> = len_scale
        .iter()
        .map(|li| 1.0 / len_scale.iter().map(|lj| (lj - li).exp()).sum::<f64>())
        .collect();
    let keep: Vec<bool> = w.iter().map(|v| *v >= 10.0 * f64::EPSILON).collect();
    if keep.iter().any(|k| !k) {
        let mut i = 0;
        w.retain(|_| {
            i += 1;
            keep[i - 1]
        });
        let mut i = 0;
        b.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    }
    let total: f64 = w.iter().sum();
    let b_post: f64 = b.iter().zip(&w).map(|(bj, wj)| bj * wj / total).sum();
    let k_post = k_of(b_post);
    let sigma = -k_post / b_post;
    let k_post = (n as f64 * k_post + prior_k * 0.5) / (n as f64 + prior_k);
    (k_post, sigma)
}

/// The generalized Pareto quantile `F⁻¹(p; k, σ)`.
fn gp_inv(p: f64, k: f64, sigma: f64) -> f64 {
    if sigma <= 0.0 {
        return f64::NAN;
    }
    if k.abs() < f64::EPSILON {
        -sigma * (-p).ln_1p()
    } else {
        sigma * (-k * (-p).ln_1p()).exp_m1() / k
    }
}

/// Pareto-smoothed, normalized log weights of one observation's log ratios `r` (ArviZ's
/// `_psislw`): returns the log weights and k.
pub fn psis(r: &[f64], r_eff: f64) -> (Vec<f64>, f64) {
    let s = r.len();
    let max = r.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut x: Vec<f64> = r.iter().map(|v| v - max).collect();
    let m = (0.2 * s as f64).min(3.0 * (s as f64 / r_eff).sqrt()).ceil() as usize;
    let mut order: Vec<usize> = (0..s).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let cutoff_ind = s as isize - m as isize - 1;
    let cutoff_min = f64::MIN_POSITIVE.ln();
    let xcut = x[order[cutoff_ind.max(0) as usize]].max(cutoff_min);
    let expcut = xcut.exp();
    let mut tail: Vec<usize> = (0..s).filter(|&i| x[i] > xcut).collect();
    let k = if tail.len() <= 4 {
        f64::INFINITY
    } else {
        tail.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        let vals: Vec<f64> = tail.iter().map(|&i| x[i].exp() - expcut).collect();
        let (k, sigma) = gpd_fit(&vals);
        if k.is_finite() {
            let len = tail.len() as f64;
            for (j, &i) in tail.iter().enumerate() {
                let p = (j as f64 + 0.5) / len;
                x[i] = (gp_inv(p, k, sigma) + expcut).ln();
            }
            x.iter_mut().for_each(|v| {
                if *v > 0.0 {
                    *v = 0.0
                }
            });
        }
        k
    };
    let lse = logsumexp(x.iter().copied());
    x.iter_mut().for_each(|v| *v -= lse);
    (x, k)
}

/// PSIS-LOO of a pointwise log-likelihood `log_lik[i][s]` (observation `i`, draw `s`).
pub fn loo(log_lik: &[Vec<f64>], r_eff: f64) -> Loo {
    let n = log_lik.len();
    let s = log_lik.first().map_or(0, |v| v.len());
    let mut pareto_k = Vec::with_capacity(n);
    let mut elpd_i = Vec::with_capacity(n);
    let mut lppd = 0.0;
    for ll in log_lik {
        let r: Vec<f64> = ll.iter().map(|v| -v).collect();
        let (lw, k) = psis(&r, r_eff);
        pareto_k.push(k);
        elpd_i.push(logsumexp(lw.iter().zip(ll).map(|(w, l)| w + l)));
        lppd += logsumexp(ll.iter().copied()) - (s as f64).ln();
    }
    let elpd: f64 = elpd_i.iter().sum();
    let mean = elpd / n as f64;
    let var = elpd_i.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let k_threshold = (1.0 - 1.0 / (s as f64).log10()).min(0.7);
    Loo {
        elpd_loo: elpd,
        se: (n as f64 * var).sqrt(),
        p_loo: lppd - elpd,
        n,
        draws: s,
        r_eff,
        k_threshold,
        max_pareto_k: pareto_k.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        n_bad_k: pareto_k.iter().filter(|k| **k > k_threshold).count(),
        pareto_k,
        elpd_i,
    }
}
