//! Goodness-of-fit metrics, with Robyn's definitions where Robyn defines them.
//!
//! # Formula
//! ```text
//! R²        = 1 − SSR/SST,   SSR = Σ(y−ŷ)²,  SST = Σ(y−ȳ)²
//! adj. R²   = 1 − (1−R²)·(n−1)/(n−p)          (p counts the intercept, as statsmodels does)
//! RMSE      = √(SSR/n)
//! NRMSE     = RMSE / (max y − min y)          (Robyn)
//! MAE       = Σ|y−ŷ|/n
//! MAPE      = Σ_{y≠0} |(y−ŷ)/y| / #{y≠0}      (a fraction; periods with y = 0 are skipped)
//! DW        = Σ_{t≥2}(e_t − e_{t−1})² / Σ e_t²
//! DECOMP.RSSD = √Σ_i (effect_share_i − spend_share_i)²   (Robyn, paid channels)
//! ```

use serde::Serialize;

/// Fit metrics of predictions against actuals.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct FitMetrics {
    /// Coefficient of determination.
    pub r2: f64,
    /// Adjusted R² (null when n ≤ p).
    pub adj_r2: Option<f64>,
    /// Root mean squared error.
    pub rmse: f64,
    /// RMSE divided by the range of the actuals (Robyn's NRMSE).
    pub nrmse: f64,
    /// Mean absolute error.
    pub mae: f64,
    /// Mean absolute percentage error, as a fraction (periods with zero actuals skipped).
    pub mape: Option<f64>,
    /// Durbin–Watson statistic of the residuals.
    pub durbin_watson: f64,
    /// Number of observations.
    pub n_obs: usize,
    /// Number of estimated coefficients (intercept included).
    pub n_params: usize,
}

/// Computes every metric; `n_params` counts estimated coefficients including the intercept.
pub fn fit_metrics(y: &[f64], yhat: &[f64], n_params: usize) -> FitMetrics {
    let n = y.len();
    let nf = n as f64;
    let mean = y.iter().sum::<f64>() / nf;
    let ssr: f64 = y.iter().zip(yhat).map(|(a, b)| (a - b).powi(2)).sum();
    let sst: f64 = y.iter().map(|a| (a - mean).powi(2)).sum();
    let r2 = 1.0 - ssr / sst;
    let adj_r2 = (n > n_params).then(|| 1.0 - (1.0 - r2) * (nf - 1.0) / (nf - n_params as f64));
    let rmse = (ssr / nf).sqrt();
    let (lo, hi) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(*v), h.max(*v))
        });
    let nrmse = rmse / (hi - lo);
    let mae = y.iter().zip(yhat).map(|(a, b)| (a - b).abs()).sum::<f64>() / nf;
    let (s, c) = y
        .iter()
        .zip(yhat)
        .filter(|(a, _)| **a != 0.0)
        .fold((0.0, 0usize), |(s, c), (a, b)| {
            (s + ((a - b) / a).abs(), c + 1)
        });
    let mape = (c > 0).then(|| s / c as f64);
    FitMetrics {
        r2,
        adj_r2,
        rmse,
        nrmse,
        mae,
        mape,
        durbin_watson: durbin_watson(y, yhat),
        n_obs: n,
        n_params,
    }
}

/// Durbin–Watson statistic of the residuals `y − ŷ`.
pub fn durbin_watson(y: &[f64], yhat: &[f64]) -> f64 {
    let e: Vec<f64> = y.iter().zip(yhat).map(|(a, b)| a - b).collect();
    let num: f64 = e.windows(2).map(|w| (w[1] - w[0]).powi(2)).sum();
    let den: f64 = e.iter().map(|v| v * v).sum();
    num / den
}

/// Robyn's DECOMP.RSSD: `√Σ (effect_share − spend_share)²` over paid channels, where an effect
/// share is a channel's contribution over the sum of all channels' contributions and a spend
/// share its spend over total spend.
pub fn decomp_rssd(contributions: &[f64], spends: &[f64]) -> f64 {
    let tc: f64 = contributions.iter().sum();
    let ts: f64 = spends.iter().sum();
    contributions
        .iter()
        .zip(spends)
        .map(|(c, s)| (c / tc - s / ts).powi(2))
        .sum::<f64>()
        .sqrt()
}
