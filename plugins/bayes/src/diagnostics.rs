//! MCMC diagnostics as ArviZ 0.23 computes them (Vehtari, Gelman, Simpson, Carpenter and
//! Bürkner, 2021, "Rank-normalization, folding, and localization: an improved R-hat for assessing
//! convergence of MCMC", Bayesian Analysis 16(2)): rank-normalized split R-hat, bulk and tail
//! effective sample size, Monte Carlo standard error of the mean, highest density interval and
//! E-BFMI. Validated against `tests/fixtures/bayes_diagnostics.json`, written by
//! `tools/fixtures/bayes_diagnostics.py` with `arviz`.
//!
//! Every function takes `chains[c][s]`: draw `s` of chain `c` (all chains of equal length).

use statrs::function::erf::erfc_inv;

/// Chains split in halves: `2·C` chains of `⌊S/2⌋` draws (first half and last half; the middle
/// draw of an odd-length chain is dropped), as ArviZ's `_split_chains`.
pub fn split_chains(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let mut out = Vec::with_capacity(2 * chains.len());
    for c in chains {
        let half = c.len() / 2;
        out.push(c[..half].to_vec());
    }
    for c in chains {
        let half = c.len() / 2;
        out.push(c[c.len() - half..].to_vec());
    }
    out
}

/// The standard normal quantile `Φ⁻¹(p) = −√2·erfc⁻¹(2p)`.
pub fn normal_quantile(p: f64) -> f64 {
    -std::f64::consts::SQRT_2 * erfc_inv(2.0 * p)
}

/// Rank normalization over all draws pooled (ties get their average rank):
/// ```text
/// z = Φ⁻¹((r − 3/8) / (S − 3/4 + 1))      (Blom's offsets, S = total number of draws)
/// ```
pub fn z_scale(chains: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let flat: Vec<f64> = chains.iter().flatten().copied().collect();
    let n = flat.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| flat[a].total_cmp(&flat[b]));
    let mut rank = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && flat[idx[j + 1]] == flat[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            rank[k] = avg;
        }
        i = j + 1;
    }
    let c = 3.0 / 8.0;
    let mut out = Vec::with_capacity(chains.len());
    let mut o = 0;
    for ch in chains {
        out.push(
            (0..ch.len())
                .map(|s| normal_quantile((rank[o + s] - c) / (n as f64 - 2.0 * c + 1.0)))
                .collect(),
        );
        o += ch.len();
    }
    out
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn var1(v: &[f64]) -> f64 {
    let m = mean(v);
    v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)
}

/// Potential scale reduction of `M` chains of `N` draws:
/// ```text
/// B = N·var(chain means),  W = mean(chain variances),  R̂ = √(((N − 1)/N·W + B/N) / W)
/// ```
pub fn rhat(chains: &[Vec<f64>]) -> f64 {
    let n = chains[0].len() as f64;
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let b = n * var1(&means);
    let w = mean(&chains.iter().map(|c| var1(c)).collect::<Vec<_>>());
    ((b / w + n - 1.0) / n).sqrt()
}

/// Rank-normalized split R-hat: the larger of the R-hat of the rank-normalized split chains
/// (bulk) and of the rank-normalized folded split chains `|x − median|` (tail).
pub fn rhat_rank(chains: &[Vec<f64>]) -> f64 {
    if chains.len() < 2 || chains[0].len() < 4 {
        return f64::NAN;
    }
    let split = split_chains(chains);
    let bulk = rhat(&z_scale(&split));
    let med = median(&split.iter().flatten().copied().collect::<Vec<_>>());
    let folded: Vec<Vec<f64>> = split
        .iter()
        .map(|c| c.iter().map(|x| (x - med).abs()).collect())
        .collect();
    let tail = rhat(&z_scale(&folded));
    bulk.max(tail)
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

/// Quantile with linear interpolation between order statistics (numpy's default):
/// `q(p) = x_(⌊h⌋) + (h − ⌊h⌋)·(x_(⌊h⌋+1) − x_(⌊h⌋))`, `h = (S − 1)·p` (0-based).
pub fn quantile(v: &[f64], p: f64) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let h = (s.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(s.len() - 1);
    s[lo] + (h - lo as f64) * (s[hi] - s[lo])
}

/// Autocovariance at lag `t` with divisor `N`: `γ_t = Σ_{i<N−t} (x_i − x̄)(x_{i+t} − x̄) / N`.
fn autocov(x: &[f64], m: f64, t: usize) -> f64 {
    let n = x.len();
    let mut s = 0.0;
    for i in 0..n - t {
        s += (x[i] - m) * (x[i + t] - m);
    }
    s / n as f64
}

/// Effective sample size of `M` chains of `N` draws (Geyer's initial positive and monotone
/// sequences, as ArviZ's `_ess`):
/// ```text
/// W⁺ = mean_c γ_{c,0}·N/(N−1),  var⁺ = W⁺·(N−1)/N + var(chain means)
/// ρ̂_t = 1 − (W⁺ − mean_c γ_{c,t}) / var⁺
/// τ̂ = −1 + 2·Σ_{t ≤ t_max} ρ̂_t (+ ρ̂_{t_max+1} if positive),  τ̂ ≥ 1/log10(M·N)
/// ESS = M·N / τ̂
/// ```
pub fn ess(chains: &[Vec<f64>]) -> f64 {
    let m = chains.len();
    let n = chains[0].len();
    let (lo, hi) = chains
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if hi - lo < 1e-15 {
        return (m * n) as f64;
    }
    let means: Vec<f64> = chains.iter().map(|c| mean(c)).collect();
    let acov_mean = |t: usize| -> f64 {
        chains
            .iter()
            .zip(&means)
            .map(|(c, &mu)| autocov(c, mu, t))
            .sum::<f64>()
            / m as f64
    };
    let nf = n as f64;
    let mean_var = acov_mean(0) * nf / (nf - 1.0);
    let mut var_plus = mean_var * (nf - 1.0) / nf;
    if m > 1 {
        var_plus += var1(&means);
    }
    let mut rho = vec![0.0; n];
    let mut rho_even = 1.0;
    rho[0] = rho_even;
    let mut rho_odd = 1.0 - (mean_var - acov_mean(1)) / var_plus;
    rho[1] = rho_odd;
    let mut t = 1;
    while t < n.saturating_sub(3) && rho_even + rho_odd > 0.0 {
        rho_even = 1.0 - (mean_var - acov_mean(t + 1)) / var_plus;
        rho_odd = 1.0 - (mean_var - acov_mean(t + 2)) / var_plus;
        if rho_even + rho_odd >= 0.0 {
            rho[t + 1] = rho_even;
            rho[t + 2] = rho_odd;
        }
        t += 2;
    }
    let max_t = t as i64 - 2;
    if rho_even > 0.0 && max_t + 1 >= 0 {
        rho[(max_t + 1) as usize] = rho_even;
    }
    let mut t = 1i64;
    while t <= max_t - 2 {
        let (a, b) = (t as usize, (t + 1) as usize);
        if rho[b] + rho[b + 1] > rho[a - 1] + rho[a] {
            rho[b] = (rho[a - 1] + rho[a]) / 2.0;
            rho[b + 1] = rho[b];
        }
        t += 2;
    }
    let total = (m * n) as f64;
    let upto = (max_t + 1).max(0) as usize;
    let mut tau = -1.0 + 2.0 * rho[..upto.min(n)].iter().sum::<f64>();
    if upto < n {
        tau += rho[upto];
    }
    let tau = tau.max(1.0 / total.log10());
    if rho.iter().any(|r| r.is_nan()) {
        return f64::NAN;
    }
    total / tau
}

/// Bulk ESS: [`ess`] of the rank-normalized split chains.
pub fn ess_bulk(chains: &[Vec<f64>]) -> f64 {
    if chains[0].len() < 4 {
        return f64::NAN;
    }
    ess(&z_scale(&split_chains(chains)))
}

/// Tail ESS: the smaller ESS of the indicators `x ≤ q(0.05)` and `x ≤ q(0.95)` on split chains.
pub fn ess_tail(chains: &[Vec<f64>]) -> f64 {
    if chains[0].len() < 4 {
        return f64::NAN;
    }
    let flat: Vec<f64> = chains.iter().flatten().copied().collect();
    let mut best = f64::INFINITY;
    for p in [0.05, 0.95] {
        let q = quantile(&flat, p);
        let ind: Vec<Vec<f64>> = chains
            .iter()
            .map(|c| c.iter().map(|&x| if x <= q { 1.0 } else { 0.0 }).collect())
            .collect();
        best = best.min(ess(&split_chains(&ind)));
    }
    best
}

/// ESS of the mean: [`ess`] of the split chains (no rank normalization).
pub fn ess_mean(chains: &[Vec<f64>]) -> f64 {
    ess(&split_chains(chains))
}

/// Monte Carlo standard error of the mean: `sd(x) / √ESS_mean` (sd with `N − 1`).
pub fn mcse_mean(chains: &[Vec<f64>]) -> f64 {
    let flat: Vec<f64> = chains.iter().flatten().copied().collect();
    var1(&flat).sqrt() / ess_mean(chains).sqrt()
}

/// Highest density interval (ArviZ's convention), shared with the rest of the workspace.
pub use mmm_core::interval::hdi;

/// Energy Bayesian fraction of missing information of one chain (Betancourt 2016):
/// `E-BFMI = mean((E_s − E_{s−1})²) / var(E)` (variance with `N − 1`); below 0.3 signals
/// poor exploration of the energy distribution.
pub fn bfmi(energy: &[f64]) -> f64 {
    if energy.len() < 3 {
        return f64::NAN;
    }
    let num = energy
        .windows(2)
        .map(|w| (w[1] - w[0]).powi(2))
        .sum::<f64>()
        / (energy.len() - 1) as f64;
    num / var1(energy)
}

/// The posterior summary of one parameter.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    /// Posterior mean.
    pub mean: f64,
    /// Posterior standard deviation (divisor `S − 1`).
    pub sd: f64,
    /// Lower end of the 94% HDI.
    pub hdi_low: f64,
    /// Upper end of the 94% HDI.
    pub hdi_high: f64,
    /// Monte Carlo standard error of the mean.
    pub mcse_mean: f64,
    /// Bulk ESS.
    pub ess_bulk: f64,
    /// Tail ESS.
    pub ess_tail: f64,
    /// Rank-normalized split R-hat.
    pub r_hat: f64,
}

/// Summarizes one parameter's chains with an HDI of probability `prob`.
pub fn summarize(chains: &[Vec<f64>], prob: f64) -> Summary {
    let flat: Vec<f64> = chains.iter().flatten().copied().collect();
    let (lo, hi) = hdi(&flat, prob);
    Summary {
        mean: mean(&flat),
        sd: var1(&flat).sqrt(),
        hdi_low: lo,
        hdi_high: hi,
        mcse_mean: mcse_mean(chains),
        ess_bulk: ess_bulk(chains),
        ess_tail: ess_tail(chains),
        r_hat: rhat_rank(chains),
    }
}
