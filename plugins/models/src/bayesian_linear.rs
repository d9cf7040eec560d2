//! Bayesian linear regression with a conjugate normal–inverse-gamma prior, sampled exactly.
//!
//! Truncated posterior by rejection or by the Gibbs sampler of Rodriguez-Yam, Davis & Scharf
//! (2004), "Efficient Gibbs sampling of truncated multivariate normal with application to
//! constrained linear regression"; truncated normals by Robert (1995).
//!
//! Ref: Gelman et al. (2013), "Bayesian Data Analysis", 3rd ed., §14.8 (conjugate normal linear
//! model); Murphy (2007), "Conjugate Bayesian analysis of the Gaussian distribution"; default
//! prior scales in the spirit of rstanarm's autoscaled `normal(0, 2.5)` priors.

use crate::common::{check_problem, collinear_columns, r_squared, x_mul, Positivity};
use mmm_core::model::{Coefficient, Design, FitProblem, FittedModel, Model, Role, KIND};
use mmm_core::params::ParamSpec;
use mmm_core::{MmmError, Result};
use nalgebra::{DMatrix, DVector};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Gamma, StandardNormal};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A normal prior on one coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NormalPrior {
    /// Prior mean (in the units set by `prior_units`).
    pub mean: f64,
    /// Prior scale > 0 (in the units set by `prior_units`; see the model's documentation).
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub scale: f64,
}

/// Coefficient priors: a default, optional overrides by role, and overrides by column name.
/// A column takes its prior from `columns` if named there, else from its role's entry, else
/// from `default`; the intercept, when not given, is nearly flat (mean 0, scale 1e6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Priors {
    /// Prior of every coefficient not otherwise given (default: mean 0, scale 2.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<NormalPrior>,
    /// Prior of the intercept (default: mean 0, scale 1e6, i.e. nearly flat; not from `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intercept: Option<NormalPrior>,
    /// Prior of baseline coefficients (trend, seasonality…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<NormalPrior>,
    /// Prior of control coefficients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<NormalPrior>,
    /// Prior of media coefficients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<NormalPrior>,
    /// Prior of mediator coefficients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mediator: Option<NormalPrior>,
    /// Priors of single columns, by column name (these win over role and default).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub columns: BTreeMap<String, NormalPrior>,
}

/// Units of the prior means and scales.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PriorUnits {
    /// Effect on y in sd(y) per sd(x_j): coefficient units are `value · sd(y)/sd(x_j)`.
    #[default]
    Standardized,
    /// Coefficient units (y per unit of x_j).
    Raw,
}

/// Bayesian linear regression with a conjugate normal–inverse-gamma prior.
///
/// # Formula
/// ```text
/// y = X·β + ε,  ε ~ N(0, σ²·I)
/// σ² ~ InvGamma(a0, b0)                      β_j | σ² ~ N(m_j, σ²·τ_j²)
/// standardized units: m_j = mean_j·sd(y)/sd(x_j),  τ_j = scale_j/sd(x_j)
/// raw units:          m_j = mean_j,                τ_j = scale_j/sd(y)
///   (so at σ = sd(y) the prior sd of β_j is scale_j in the chosen units; a constant column
///    uses its root mean square for sd(x_j); sds are population sds)
/// Λ₀ = diag(τ⁻²),  Λ_n = X'X + Λ₀,  m_n = Λ_n⁻¹(Λ₀m + X'y)
/// a_n = a0 + n/2,  b_n = b0 + ½(‖y − X·m_n‖² + (m_n − m)'Λ₀(m_n − m))
/// σ² | y ~ InvGamma(a_n, b_n),  β | σ², y ~ N(m_n, σ²·Λ_n⁻¹)
/// marginally β | y ~ t_{2a_n}(m_n, (b_n/a_n)·Λ_n⁻¹)
/// ```
/// Positivity: coefficients named by `positive` are kept ≥ 0, which is the posterior under the
/// prior truncated at zero. Joint draws of (σ², β) are first redrawn until they satisfy the
/// constraint (exact i.i.d. draws); if that needs more than 20 tries per draw on average, the
/// sampler switches to an exact-conditional Gibbs sampler of the truncated posterior (univariate
/// truncated normals, burn-in 500, thinning 5: correlated draws of the same target). The
/// statistics `acceptance_rate` (NaN under Gibbs) and `gibbs` (0/1) say which ran. Estimates are posterior means of the draws, `std_error` posterior sds, and
/// `ci_low`/`ci_high` 95% equal-tailed credible intervals; no t or p values.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BayesianLinear {
    /// Normal priors of the coefficients (default, by role, by column name).
    #[serde(default)]
    pub priors: Priors,
    /// Units of prior means and scales: "standardized" (default) or "raw".
    #[serde(default)]
    pub prior_units: PriorUnits,
    /// Shape a0 > 0 of the inverse-gamma prior on the noise variance (default 1).
    #[serde(default = "default_a0")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub a0: f64,
    /// Scale b0 > 0 of the inverse-gamma prior on the noise variance, in units of y²
    /// (default: 0.1 × var(y)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("exclusiveMinimum" = 0.0))]
    pub b0: Option<f64>,
    /// Which coefficients are kept non-negative: "none", "media" (default) or "all".
    #[serde(default)]
    pub positive: Positivity,
    /// Number of posterior draws (default 2000).
    #[serde(default = "default_draws")]
    #[schemars(range(min = 10, max = 1000000))]
    pub draws: u32,
}

fn default_a0() -> f64 {
    1.0
}

fn default_draws() -> u32 {
    2000
}

const DEFAULT_PRIOR: NormalPrior = NormalPrior {
    mean: 0.0,
    scale: 2.5,
};
const INTERCEPT_PRIOR: NormalPrior = NormalPrior {
    mean: 0.0,
    scale: 1e6,
};

impl Default for BayesianLinear {
    fn default() -> Self {
        BayesianLinear {
            priors: Priors::default(),
            prior_units: PriorUnits::default(),
            a0: default_a0(),
            b0: None,
            positive: Positivity::default(),
            draws: default_draws(),
        }
    }
}

fn check_prior(p: &NormalPrior, pointer: &str) -> Result<()> {
    if !p.mean.is_finite() {
        return Err(MmmError::param(
            format!("{pointer}/mean"),
            format!("mean = {} must be a finite number", p.mean),
        ));
    }
    ParamSpec::positive("scale")
        .check(p.scale)
        .map_err(|e| match e {
            MmmError::InvalidParameter { message, .. } => {
                MmmError::param(format!("{pointer}/scale"), message)
            }
            other => other,
        })
}

/// Linear-interpolated quantile of sorted data (numpy's default).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Joint draws are tried this many times per requested draw before the sampler switches from
/// rejection to Gibbs.
const REJECTION_FACTOR: usize = 20;
/// Gibbs sampler: iterations discarded at the start, and iterations per kept draw.
const GIBBS_BURN_IN: usize = 500;
const GIBBS_THIN: usize = 5;

/// Draws of (β, σ) and the acceptance rate.
type Draws = (DMatrix<f64>, Vec<f64>, f64);

/// The untruncated NIG posterior and the positivity mask.
struct Posterior<'a> {
    mn: &'a DVector<f64>,
    lam_n: &'a DMatrix<f64>,
    /// `L'` of the Cholesky factor `Λ_n = L·L'`.
    lt: &'a DMatrix<f64>,
    an: f64,
    bn: f64,
    mask: &'a [bool],
}

impl Posterior<'_> {
    fn gamma(shape: f64, rate: f64) -> Result<Gamma<f64>> {
        Gamma::new(shape, 1.0 / rate).map_err(|e| {
            MmmError::Compute(format!(
                "bayesian_linear: posterior of the noise variance: {e}"
            ))
        })
    }

    /// Exact i.i.d. draws by joint rejection; `None` when `max_attempts` are used up first.
    fn rejection(
        &self,
        draws: usize,
        any_mask: bool,
        max_attempts: usize,
        rng: &mut ChaCha8Rng,
    ) -> Result<Option<Draws>> {
        let p = self.mn.len();
        let gamma = Self::gamma(self.an, self.bn)?;
        let mut beta = DMatrix::zeros(draws, p);
        let mut sig = vec![0.0; draws];
        let mut z = DVector::zeros(p);
        let (mut d, mut attempts) = (0usize, 0usize);
        while d < draws {
            if attempts >= max_attempts {
                return Ok(None);
            }
            attempts += 1;
            let g: f64 = rng.sample(gamma);
            let sigma = (1.0 / g).sqrt();
            for v in z.iter_mut() {
                *v = rng.sample(StandardNormal);
            }
            // β = m_n + σ·L'⁻¹z  ⇒  cov = σ²·(L·L')⁻¹
            let Some(u) = self.lt.solve_upper_triangular(&z) else {
                return Err(MmmError::Compute(
                    "bayesian_linear: triangular solve failed".into(),
                ));
            };
            let ok = !any_mask || (0..p).all(|j| !self.mask[j] || self.mn[j] + sigma * u[j] >= 0.0);
            if ok {
                for j in 0..p {
                    beta[(d, j)] = self.mn[j] + sigma * u[j];
                }
                sig[d] = sigma;
                d += 1;
            }
        }
        Ok(Some((beta, sig, draws as f64 / attempts as f64)))
    }

    /// Gibbs sampler of the truncated posterior (Rodriguez-Yam, Davis & Scharf 2004): σ² | β is
    /// InvGamma(a_n + p/2, b_n + ½(β − m_n)'Λ_n(β − m_n)); β_j | β₋ⱼ, σ² is normal with mean
    /// m_j − Σ_{k≠j} Λ_jk(β_k − m_k)/Λ_jj and variance σ²/Λ_jj, truncated at 0 where constrained.
    fn gibbs(&self, draws: usize, rng: &mut ChaCha8Rng) -> Result<(DMatrix<f64>, Vec<f64>)> {
        let p = self.mn.len();
        let lam = self.lam_n;
        // feasible start: the posterior mean, constrained entries moved onto [0, ∞)
        let mut r = DVector::from_fn(p, |j, _| {
            if self.mask[j] && self.mn[j] < 0.0 {
                -self.mn[j]
            } else {
                0.0
            }
        });
        let mut beta = DMatrix::zeros(draws, p);
        let mut sig = vec![0.0; draws];
        let total = GIBBS_BURN_IN + draws * GIBBS_THIN;
        let mut kept = 0;
        for it in 0..total {
            let q = r.dot(&(lam * &r));
            let g: f64 = rng.sample(Self::gamma(self.an + p as f64 / 2.0, self.bn + 0.5 * q)?);
            let sigma = (1.0 / g).sqrt();
            for j in 0..p {
                let ljj = lam[(j, j)];
                let cross: f64 = (0..p).filter(|k| *k != j).map(|k| lam[(j, k)] * r[k]).sum();
                let mu = self.mn[j] - cross / ljj;
                let s = sigma / ljj.sqrt();
                let b = if self.mask[j] {
                    truncated_normal_above_zero(mu, s, rng)
                } else {
                    mu + s * rng.sample::<f64, _>(StandardNormal)
                };
                r[j] = b - self.mn[j];
            }
            if it >= GIBBS_BURN_IN && it == GIBBS_BURN_IN + kept * GIBBS_THIN && kept < draws {
                for j in 0..p {
                    beta[(kept, j)] = self.mn[j] + r[j];
                }
                sig[kept] = sigma;
                kept += 1;
            }
        }
        Ok((beta, sig))
    }
}

/// A draw of N(μ, s²) truncated to [0, ∞): naive rejection when the bound is at most 0.5 sd above
/// the mean, Robert's (1995) exponential proposal otherwise.
fn truncated_normal_above_zero(mu: f64, s: f64, rng: &mut ChaCha8Rng) -> f64 {
    let a = -mu / s;
    if a <= 0.5 {
        loop {
            let z: f64 = rng.sample(StandardNormal);
            if z >= a {
                return (mu + s * z).max(0.0);
            }
        }
    }
    let lambda = (a + (a * a + 4.0).sqrt()) / 2.0;
    loop {
        let u1: f64 = rng.random::<f64>();
        let z = a - (1.0 - u1).ln() / lambda;
        let u2: f64 = rng.random::<f64>();
        if u2 <= (-(z - lambda).powi(2) / 2.0).exp() {
            return (mu + s * z).max(0.0);
        }
    }
}

impl BayesianLinear {
    const PARAMS: &'static [ParamSpec] = &[];

    fn prior_for(&self, name: &str, role: Role) -> NormalPrior {
        if let Some(p) = self.priors.columns.get(name) {
            return *p;
        }
        let by_role = match role {
            Role::Intercept => self.priors.intercept.or(Some(INTERCEPT_PRIOR)),
            Role::Baseline => self.priors.baseline,
            Role::Control => self.priors.control,
            Role::Media => self.priors.media,
            Role::Mediator => self.priors.mediator,
        };
        by_role.or(self.priors.default).unwrap_or(DEFAULT_PRIOR)
    }

    /// Prior means `m` and conditional scales `τ` per design column.
    fn prior_vectors(&self, design: &Design, y: &[f64]) -> Result<(DVector<f64>, DVector<f64>)> {
        for name in self.priors.columns.keys() {
            if !design.columns.iter().any(|c| &c.name == name) {
                return Err(MmmError::param(
                    format!("/priors/columns/{name}"),
                    format!("there is no design column named '{name}'"),
                ));
            }
        }
        let n = design.n_obs() as f64;
        let my = y.iter().sum::<f64>() / n;
        let sdy = (y.iter().map(|v| (v - my).powi(2)).sum::<f64>() / n).sqrt();
        let sdy = if sdy > 0.0 { sdy } else { 1.0 };
        let p = design.n_cols();
        let mut m = DVector::zeros(p);
        let mut tau = DVector::zeros(p);
        for (j, c) in design.columns.iter().enumerate() {
            let pr = self.prior_for(&c.name, c.role);
            match self.prior_units {
                PriorUnits::Standardized => {
                    let col = design.x.column(j);
                    let mean = col.sum() / n;
                    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
                    let mut sx = var.sqrt();
                    if sx == 0.0 {
                        let rms = (col.iter().map(|v| v * v).sum::<f64>() / n).sqrt();
                        sx = if rms > 0.0 { rms } else { 1.0 };
                    }
                    m[j] = pr.mean * sdy / sx;
                    tau[j] = pr.scale / sx;
                }
                PriorUnits::Raw => {
                    m[j] = pr.mean;
                    tau[j] = pr.scale / sdy;
                }
            }
        }
        Ok((m, tau))
    }
}

#[typetag::serde(name = "bayesian_linear")]
impl Model for BayesianLinear {
    fn params(&self) -> &'static [ParamSpec] {
        Self::PARAMS
    }
    /// The draws of the coefficients and σ, and the `n × draws` posterior mean and predictive:
    /// `draws·(k + 2·n + 1)·8` bytes.
    fn memory_estimate(&self, n_obs: usize, n_cols: usize) -> Option<(f64, String)> {
        let per_draw = n_cols as f64 + 2.0 * n_obs as f64 + 1.0;
        Some((
            self.draws as f64 * per_draw * 8.0,
            format!(
                "{} draws × (columns + 2 × periods + 1) × 8 bytes",
                self.draws
            ),
        ))
    }
    fn validate(&self) -> Result<()> {
        ParamSpec::positive("a0").check(self.a0)?;
        if let Some(b0) = self.b0 {
            ParamSpec::positive("b0").check(b0)?;
        }
        if !(10..=1_000_000).contains(&self.draws) {
            return Err(MmmError::param(
                "/draws",
                format!("draws = {} must lie in [10, 1000000]", self.draws),
            ));
        }
        let p = &self.priors;
        for (key, pr) in [
            ("default", &p.default),
            ("intercept", &p.intercept),
            ("baseline", &p.baseline),
            ("control", &p.control),
            ("media", &p.media),
            ("mediator", &p.mediator),
        ] {
            if let Some(pr) = pr {
                check_prior(pr, &format!("/priors/{key}"))?;
            }
        }
        for (name, pr) in &p.columns {
            check_prior(pr, &format!("/priors/columns/{name}"))?;
        }
        Ok(())
    }

    fn fit(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        self.validate()?;
        let design = problem.design;
        let y = problem.y;
        check_problem(design, y, "bayesian_linear")?;
        let (n, p) = (design.n_obs(), design.n_cols());
        let x = &design.x;
        let (m0, tau) = self.prior_vectors(design, y)?;
        let lam0 = tau.map(|t| 1.0 / (t * t));
        let mut lam_n = x.tr_mul(x);
        for j in 0..p {
            lam_n[(j, j)] += lam0[j];
        }
        let yv = DVector::from_column_slice(y);
        let rhs = x.tr_mul(&yv) + lam0.component_mul(&m0);
        let Some(chol) = lam_n.clone().cholesky() else {
            let all: Vec<usize> = (0..p).collect();
            return Err(MmmError::Compute(format!(
                "bayesian_linear: the posterior precision X'X + Λ₀ is not positive definite; {}",
                collinear_columns(design, &all)
            )));
        };
        let mn = chol.solve(&rhs);
        let nf = n as f64;
        let my = y.iter().sum::<f64>() / nf;
        let var_y = y.iter().map(|v| (v - my).powi(2)).sum::<f64>() / nf;
        let b0 = self.b0.unwrap_or(0.1 * var_y).max(f64::MIN_POSITIVE);
        let resid = &yv - x * &mn;
        let dm = &mn - &m0;
        let an = self.a0 + nf / 2.0;
        let bn = b0 + 0.5 * (resid.norm_squared() + dm.component_mul(&lam0).dot(&dm));
        let l = chol.l(); // Λ_n = L·L'
        let lt = l.transpose();
        let mask: Vec<bool> = design
            .columns
            .iter()
            .map(|c| self.positive.constrains(c.role))
            .collect();
        let any_mask = mask.iter().any(|m| *m);

        let draws = self.draws as usize;
        let mut rng = ChaCha8Rng::seed_from_u64(problem.seed);
        let post = Posterior {
            mn: &mn,
            lam_n: &lam_n,
            lt: &lt,
            an,
            bn,
            mask: &mask,
        };
        let mut sampler = "rejection";
        let (beta_draws, sigma_draws, acceptance) = match post.rejection(
            draws,
            any_mask,
            draws.saturating_mul(REJECTION_FACTOR),
            &mut rng,
        )? {
            Some(r) => r,
            None => {
                sampler = "gibbs";
                let (b, s) = post.gibbs(draws, &mut rng)?;
                (b, s, f64::NAN)
            }
        };

        // summaries
        let df = draws as f64;
        let mut coefficients = Vec::with_capacity(p);
        let (mut lo90, mut hi90) = (vec![0.0; p], vec![0.0; p]);
        let mut mean_beta = vec![0.0; p];
        let mut buf = vec![0.0; draws];
        for (j, c) in design.columns.iter().enumerate() {
            let col = beta_draws.column(j);
            let mean = col.sum() / df;
            let sd = (col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (df - 1.0)).sqrt();
            buf.copy_from_slice(col.as_slice());
            buf.sort_by(f64::total_cmp);
            lo90[j] = quantile(&buf, 0.05);
            hi90[j] = quantile(&buf, 0.95);
            mean_beta[j] = mean;
            coefficients.push(Coefficient {
                name: c.name.clone(),
                role: c.role,
                estimate: mean,
                std_error: Some(sd),
                t_value: None,
                p_value: None,
                ci_low: Some(quantile(&buf, 0.025)),
                ci_high: Some(quantile(&buf, 0.975)),
            });
        }
        let fitted = x_mul(x, &mean_beta);
        // posterior predictive: x_i·β_d + σ_d·ε
        let mu = x * beta_draws.transpose(); // n × draws
        let (mut plo, mut phi) = (vec![0.0; n], vec![0.0; n]);
        for i in 0..n {
            for (dd, b) in buf.iter_mut().enumerate() {
                let e: f64 = rng.sample(StandardNormal);
                *b = mu[(i, dd)] + sigma_draws[dd] * e;
            }
            buf.sort_by(f64::total_cmp);
            plo[i] = quantile(&buf, 0.025);
            phi[i] = quantile(&buf, 0.975);
        }
        let sigma_mean = sigma_draws.iter().sum::<f64>() / df;
        let statistics = BTreeMap::from([
            ("r2".to_string(), r_squared(y, &fitted)),
            ("sigma".to_string(), sigma_mean),
            ("acceptance_rate".to_string(), acceptance),
            ("gibbs".to_string(), f64::from(u8::from(sampler == "gibbs"))),
            ("draws".to_string(), df),
            ("posterior_a_n".to_string(), an),
            ("posterior_b_n".to_string(), bn),
        ]);
        let column_statistics = BTreeMap::from([
            ("ci90_low".to_string(), lo90),
            ("ci90_high".to_string(), hi90),
            ("prior_mean".to_string(), m0.as_slice().to_vec()),
            (
                "prior_conditional_scale".to_string(),
                tau.as_slice().to_vec(),
            ),
        ]);
        Ok(FittedModel {
            coefficients,
            fitted,
            fitted_interval: Some((plo, phi)),
            interval_level: 0.95,
            coefficient_draws: Some(beta_draws),
            statistics,
            column_statistics,
            parameters: serde_json::to_value(self).unwrap_or_default(),
        })
    }
}

mmm_core::register!(
    KIND,
    BayesianLinear,
    "bayesian_linear",
    "Conjugate normal–inverse-gamma Bayesian regression with per-column priors, seeded draws and positive media by exact truncation",
    r#"{"priors": {"default": {"mean": 0, "scale": 2.5}, "media": {"mean": 0, "scale": 1}}, "positive": "media", "draws": 2000}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::model::Column;

    fn problem() -> (Design, Vec<f64>) {
        let n = 60;
        let x = DMatrix::from_fn(n, 3, |i, j| match j {
            0 => 1.0,
            1 => ((i * 7) % 11) as f64,
            _ => (i as f64 * 0.3).cos() * 4.0 + 5.0,
        });
        let y = (0..n)
            .map(|i| 10.0 + 0.5 * x[(i, 1)] + 0.05 * x[(i, 2)] + ((i * 13) % 5) as f64 * 0.4)
            .collect();
        let columns = vec![
            Column {
                name: "const".into(),
                role: Role::Intercept,
                channel: None,
            },
            Column {
                name: "ctrl".into(),
                role: Role::Control,
                channel: None,
            },
            Column {
                name: "tv".into(),
                role: Role::Media,
                channel: Some(0),
            },
        ];
        (Design { columns, x }, y)
    }

    #[test]
    fn seeded_and_positive() {
        let (d, y) = problem();
        let m = BayesianLinear {
            draws: 500,
            ..Default::default()
        };
        let pr = FitProblem {
            design: &d,
            y: &y,
            media: &[],
            seed: 42,
            calibration: &[],
            geos: &[],
        };
        let a = m.fit(&pr).unwrap();
        let b = m.fit(&pr).unwrap();
        assert_eq!(a.beta(), b.beta());
        let draws = a.coefficient_draws.as_ref().unwrap();
        assert_eq!(draws.shape(), (500, 3));
        assert!(draws.column(2).iter().all(|v| *v >= 0.0));
        let c = FitProblem { seed: 43, ..pr };
        assert_ne!(m.fit(&c).unwrap().beta(), a.beta());
        let (lo, hi) = a.fitted_interval.as_ref().unwrap();
        assert!(lo.iter().zip(hi).all(|(l, h)| l < h));
        let lo90 = &a.column_statistics["ci90_low"];
        for (j, co) in a.coefficients.iter().enumerate() {
            assert!(co.ci_low.unwrap() <= lo90[j] && co.t_value.is_none());
        }
    }

    #[test]
    fn unknown_column_prior_and_bad_scale_are_parameter_errors() {
        let (d, y) = problem();
        let mut m = BayesianLinear {
            draws: 100,
            ..Default::default()
        };
        m.priors.columns.insert(
            "radio".into(),
            NormalPrior {
                mean: 0.0,
                scale: 1.0,
            },
        );
        let e = m
            .fit(&FitProblem {
                design: &d,
                y: &y,
                media: &[],
                seed: 1,
                calibration: &[],
                geos: &[],
            })
            .unwrap_err();
        assert!(e.to_string().contains("/priors/columns/radio"), "{e}");
        let mut m = BayesianLinear::default();
        m.priors.media = Some(NormalPrior {
            mean: 0.0,
            scale: -1.0,
        });
        let e = m.validate().unwrap_err().to_string();
        assert!(e.contains("/priors/media/scale"), "{e}");
        let e = BayesianLinear {
            a0: 0.0,
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(e.to_string().contains("/a0"));
    }
}
