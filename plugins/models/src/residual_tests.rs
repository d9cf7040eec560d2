//! Residual diagnostics as statsmodels' `OLS(...).fit().summary()` prints them, plus the
//! Breusch–Pagan test for heteroskedasticity.
//!
//! Refs: scipy.stats `skew`, `kurtosis`, `skewtest`, `kurtosistest`, `normaltest`
//! (D'Agostino 1970; Anscombe & Glynn 1983; D'Agostino & Pearson 1973),
//! statsmodels `stats.stattools.jarque_bera`, `omni_normtest` and
//! `stats.diagnostic.het_breuschpagan` (Koenker's studentized form, `robust=True`).

use nalgebra::{DMatrix, DVector};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Residual normality and heteroskedasticity statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResidualTests {
    /// Sample skewness `m₃ / m₂^{3/2}` (biased moments, as scipy's default).
    pub skew: f64,
    /// Sample kurtosis `m₄ / m₂²` (Pearson's, normal = 3).
    pub kurtosis: f64,
    /// Jarque–Bera `n/6 · (S² + (K − 3)²/4)`.
    pub jarque_bera: f64,
    /// `P(χ²₂ > JB)`.
    pub jarque_bera_pvalue: f64,
    /// D'Agostino–Pearson omnibus `K² = Z_skew² + Z_kurt²` (NaN below 8 observations).
    pub omnibus: f64,
    /// `P(χ²₂ > K²)`.
    pub omnibus_pvalue: f64,
    /// Koenker's Breusch–Pagan LM `n · R²` of `e²` regressed on the design (NaN without a
    /// constant column or with a single column).
    pub breusch_pagan: f64,
    /// `P(χ²_{p−1} > LM)`.
    pub breusch_pagan_pvalue: f64,
}

/// Central moments `m_k = mean((e − ē)^k)` for k = 2, 3, 4.
fn central_moments(e: &[f64]) -> (f64, f64, f64) {
    let n = e.len() as f64;
    let mean = e.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for v in e {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    (m2 / n, m3 / n, m4 / n)
}

fn chi2_sf(x: f64, df: f64) -> f64 {
    // NaN in, NaN out (statrs panics on NaN)
    if x.is_nan() {
        return f64::NAN;
    }
    ChiSquared::new(df).map(|d| d.sf(x)).unwrap_or(f64::NAN)
}

/// scipy's `skewtest` z-score of the biased skewness `b` on `n` observations:
/// ```text
/// y  = b·√((n+1)(n+3) / (6(n−2)))
/// β₂ = 3(n² + 27n − 70)(n+1)(n+3) / ((n−2)(n+5)(n+7)(n+9))
/// W² = −1 + √(2(β₂ − 1)),  δ = 1/√(½ ln W²),  α = √(2/(W² − 1))
/// Z  = δ · asinh(y/α)
/// ```
fn skew_z(b: f64, n: f64) -> f64 {
    let mut y = b * ((n + 1.0) * (n + 3.0) / (6.0 * (n - 2.0))).sqrt();
    let beta2 = 3.0 * (n * n + 27.0 * n - 70.0) * (n + 1.0) * (n + 3.0)
        / ((n - 2.0) * (n + 5.0) * (n + 7.0) * (n + 9.0));
    let w2 = -1.0 + (2.0 * (beta2 - 1.0)).sqrt();
    let delta = 1.0 / (0.5 * w2.ln()).sqrt();
    let alpha = (2.0 / (w2 - 1.0)).sqrt();
    if y == 0.0 {
        y = 1.0;
    }
    let r = y / alpha;
    delta * (r + (r * r + 1.0).sqrt()).ln()
}

/// scipy's `kurtosistest` z-score of Pearson's kurtosis `b` on `n` observations
/// (Anscombe & Glynn 1983):
/// ```text
/// E = 3(n−1)/(n+1),  var = 24n(n−2)(n−3) / ((n+1)²(n+3)(n+5)),  x = (b − E)/√var
/// √β₁ = 6(n² − 5n + 2)/((n+7)(n+9)) · √(6(n+3)(n+5) / (n(n−2)(n−3)))
/// A = 6 + 8/√β₁ · (2/√β₁ + √(1 + 4/β₁))
/// Z = ((1 − 2/(9A)) − sign(d)·((1 − 2/A)/|d|)^{1/3}) / √(2/(9A)),  d = 1 + x·√(2/(A − 4))
/// ```
fn kurtosis_z(b: f64, n: f64) -> f64 {
    let e = 3.0 * (n - 1.0) / (n + 1.0);
    let varb2 = 24.0 * n * (n - 2.0) * (n - 3.0) / ((n + 1.0) * (n + 1.0) * (n + 3.0) * (n + 5.0));
    let x = (b - e) / varb2.sqrt();
    let sqrtbeta1 = 6.0 * (n * n - 5.0 * n + 2.0) / ((n + 7.0) * (n + 9.0))
        * (6.0 * (n + 3.0) * (n + 5.0) / (n * (n - 2.0) * (n - 3.0))).sqrt();
    let a =
        6.0 + 8.0 / sqrtbeta1 * (2.0 / sqrtbeta1 + (1.0 + 4.0 / (sqrtbeta1 * sqrtbeta1)).sqrt());
    let term1 = 1.0 - 2.0 / (9.0 * a);
    let denom = 1.0 + x * (2.0 / (a - 4.0)).sqrt();
    if denom == 0.0 {
        return f64::NAN;
    }
    let term2 = denom.signum() * ((1.0 - 2.0 / a) / denom.abs()).powf(1.0 / 3.0);
    (term1 - term2) / (2.0 / (9.0 * a)).sqrt()
}

/// Koenker's Breusch–Pagan statistic: the centered `R²` of `e²` regressed (least squares) on
/// `x`, times `n`; degrees of freedom `p − 1` (statsmodels assumes `x` holds the constant).
fn breusch_pagan(resid: &[f64], x: &DMatrix<f64>) -> (f64, f64) {
    let (n, p) = x.shape();
    if p < 2 || n <= p {
        return (f64::NAN, f64::NAN);
    }
    let e2 = DVector::from_iterator(n, resid.iter().map(|e| e * e));
    let svd = x.clone().svd(true, true);
    let Ok(beta) = svd.solve(&e2, 1e-12) else {
        return (f64::NAN, f64::NAN);
    };
    let fitted = x * beta;
    let mean = e2.mean();
    let ssr: f64 = e2
        .iter()
        .zip(fitted.iter())
        .map(|(a, b)| (a - b).powi(2))
        .sum();
    let tss: f64 = e2.iter().map(|a| (a - mean).powi(2)).sum();
    if tss == 0.0 {
        return (f64::NAN, f64::NAN);
    }
    let lm = n as f64 * (1.0 - ssr / tss);
    (lm, chi2_sf(lm, (p - 1) as f64))
}

/// All residual tests for residuals `resid` of a least-squares fit on design `x`.
/// `has_constant` says whether `x` holds a constant (Breusch–Pagan needs one).
pub fn residual_tests(resid: &[f64], x: &DMatrix<f64>, has_constant: bool) -> ResidualTests {
    let nf = resid.len() as f64;
    let (m2, m3, m4) = central_moments(resid);
    let skew = m3 / m2.powf(1.5);
    let kurtosis = m4 / (m2 * m2);
    let jarque_bera = nf / 6.0 * (skew * skew + (kurtosis - 3.0).powi(2) / 4.0);
    let (omnibus, omnibus_pvalue) = if resid.len() >= 8 {
        let k2 = skew_z(skew, nf).powi(2) + kurtosis_z(kurtosis, nf).powi(2);
        (k2, chi2_sf(k2, 2.0))
    } else {
        (f64::NAN, f64::NAN)
    };
    let (breusch_pagan, breusch_pagan_pvalue) = if has_constant {
        breusch_pagan(resid, x)
    } else {
        (f64::NAN, f64::NAN)
    };
    ResidualTests {
        skew,
        kurtosis,
        jarque_bera,
        jarque_bera_pvalue: chi2_sf(jarque_bera, 2.0),
        omnibus,
        omnibus_pvalue,
        breusch_pagan,
        breusch_pagan_pvalue,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Normal-looking residuals give large p-values; a heavy right tail is rejected.
    #[test]
    fn normality_tests_separate_normal_from_skewed() {
        // Box–Muller on a fixed LCG stream
        let mut s = 7u64;
        let mut u = || {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let normal: Vec<f64> = (0..400)
            .map(|_| (-2.0 * u().ln()).sqrt() * (2.0 * std::f64::consts::PI * u()).cos())
            .collect();
        let skewed: Vec<f64> = normal.iter().map(|z| (z * 0.8).exp()).collect();
        let x = DMatrix::from_element(400, 1, 1.0);
        let a = residual_tests(&normal, &x, true);
        let b = residual_tests(&skewed, &x, true);
        assert!(
            a.jarque_bera_pvalue > 0.01 && a.omnibus_pvalue > 0.01,
            "{a:?}"
        );
        assert!(
            b.jarque_bera_pvalue < 1e-6 && b.omnibus_pvalue < 1e-6,
            "{b:?}"
        );
        assert!(b.skew > 1.0 && b.kurtosis > 4.0);
        // one column: no Breusch–Pagan
        assert!(a.breusch_pagan.is_nan());
    }
}
