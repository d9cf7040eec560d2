//! Geo fixed effects for the frequentist models (not a plugin): `ols`, `ridge`, `lasso` and
//! `elastic_net` with `"geo": "fixed_effects"` fit a panel's geos jointly on the stacked
//! geo × period rows, with one intercept per geo, and report national figures as sums over
//! geos through the same [`Posterior`] as the Bayesian geo fit (see `docs/geo.md`).
//!
//! Ref: Wooldridge (2010), *Econometric Analysis of Cross Section and Panel Data*, ch. 10
//! (fixed effects, the within estimator); Cameron & Miller (2015), "A Practitioner's Guide to
//! Cluster-Robust Inference" (CR1 and its `G − 1` degrees of freedom); Meridian's per-capita
//! scaling of media and KPI.
//!
//! # Model (geo `g = 1…G`, period `t = 1…T`)
//! ```text
//! r_g       = p_g / p̄                  relative size (population over the mean population;
//!                                        1 for every geo without a population column)
//! ỹ_{g,t}   = y_{g,t} / r_g             the KPI of an average-size geo
//! x̃_{g,c,t} = x_{g,c,t} / r_g           the spend of an average-size geo (per capita × p̄)
//! ỹ_{g,t}   = τ_g + Σ_k δ_k·s_{t,k} + Σ_j γ_j·z_{g,t,j} + Σ_c β_{g,c}·f_c(x̃_{g,c}; θ_c)_t + ε_{g,t}
//! β_{g,c}   = β_c for every geo ("slopes": "pooled", the default) or one per geo ("per_geo")
//! ```
//! `τ_g` one intercept per geo (no global intercept, so no collinearity with dummies), `s` the
//! shared calendar terms (trend, seasonality, holidays: the national columns), `z` the geo's own
//! controls, `f_c` the spec's transform chain with its parameters shared by all geos and its
//! data-dependent constants (a `scale` divisor, `hill_robyn`'s range) as learned on the national
//! series, applied to each geo's series separately (no carry-over across geos). Transform
//! parameters in spend units therefore mean spend of an average-size geo, as in `mmm simulate`'s
//! geo panels. Regressing `ỹ` is weighted least squares on the data's scale with weights
//! `1/r_g²`: the noise is assumed homoskedastic per capita (Meridian's assumption), so large
//! geos do not dominate the fit.
//!
//! # Back to the data's units and the national figures
//! ```text
//! geo g, column j :  contribution_{g,j,t} = r_g·θ_j·X̃_{(g,t),j}      (its rows of the stacked design)
//! fitted_{g,t}    =  r_g·ỹ̂_{g,t}                    national fitted_t = Σ_g fitted_{g,t}
//! national coefficients (linear in θ, a = the row of the map A):
//!   intercept     =  Σ_g r_g·τ_g                   (the national per-period baseline level)
//!   control j     =  G·γ_j   on the population-weighted national column (w_g = r_g/G)
//!   calendar k    =  G·δ_k
//!   channel c     =  Σ_g r_g·β_{g,c}   on spend scale 1/G (the response if every geo spent
//!                                      in proportion to its population)
//! contribution    C_{g,c} = r_g·β_{g,c}·Σ_t f_c(x̃_{g,c})_t,   C_c = Σ_g C_{g,c},   ROI = C / spend
//! response curve  r_c(s) = Σ_g r_g·β_{g,c}·H·f_c(w_{g,c}·s/r_g)_∞   (w_{g,c} the geo's share of
//!                  the channel's spend: each geo keeps its current share of the budget)
//! ```
//!
//! # Intervals (OLS)
//! `V̂` is the covariance of `θ̂` on the stacked design: `"classical"` (the default, statsmodels'
//! nonrobust `σ̂²·(X'X)⁻¹` with `ν = GT − k` degrees of freedom), or `"cluster_geo"` (CR1, robust
//! to any correlation within a geo over time and to unequal variances across geos:
//! `V̂ = c·(X'X)⁻¹·(Σ_g X_g'û_g·û_g'X_g)·(X'X)⁻¹`, `c = G/(G−1)·(GT−1)/(GT−k)`, `ν = G − 1`;
//! defined for pooled slopes only — a geo's own slopes and intercept have zero score sums in
//! their cluster). Every interval is conditional on the transforms (their parameters fixed, or
//! chosen by tuning and then held fixed) and on the population scaling. National coefficients'
//! intervals are exact: `a'θ̂ ± t_ν·√(a'V̂a)`. Contributions, ROIs, shares and response curves
//! (non-linear or summed over geos) take their intervals from [`FE_DRAWS`] antithetic draws of
//! the multivariate t, `θ̂ ± L·z·√(ν/w)`, `L·L' = V̂`, `z ~ N(0, I)`, `w ~ χ²_ν`, whose mean is
//! exactly `θ̂`: a contribution is linear in `θ`, so its draws' mean is the point estimate and
//! their HDI the t interval up to Monte Carlo error. Penalized models report the point estimate
//! alone (one draw, no interval).
//!
//! # Penalized models
//! The penalty never applies to the geo intercepts: by Frisch–Waugh–Lovell the penalized slopes
//! are those of the model on the within-geo demeaned rows (`ỹ_{g,t} − ȳ̃_g`, every other column
//! likewise) without an intercept, and `τ_g = ȳ̃_g − x̄̃_g·b`. Standardizing (`standardize`) then
//! scales by the columns' within-geo standard deviations.

use crate::common::{check_problem, x_mul};
use mmm_core::model::{
    Coefficient, Column, Design, DrawsKind, FitProblem, FittedModel, Posterior, PosteriorGeo,
    PosteriorMedia, PosteriorMediaGeo, Role,
};
use mmm_core::{MmmError, Result};
use nalgebra::{DMatrix, DVector};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Number of draws of the sampling distribution behind the intervals of contributions, ROIs,
/// shares and response curves (1,000 antithetic pairs).
pub const FE_DRAWS: usize = 2000;

/// How a frequentist model treats a geo panel (`data.geo`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeoMode {
    /// Fit the national series (the geos' sums), as for national data.
    #[default]
    National,
    /// Fit the geos jointly on the stacked geo × period rows with one intercept per geo
    /// (see `docs/geo.md`); on national data (or one geo) this is the national fit.
    FixedEffects,
}

/// The media coefficients of a fixed-effects fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Slopes {
    /// One coefficient per channel, shared by the geos (per average-size geo).
    #[default]
    Pooled,
    /// One coefficient per channel and geo.
    PerGeo,
}

/// The covariance of an OLS fixed-effects fit's coefficients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Covariance {
    /// `σ̂²·(X'X)⁻¹` on the stacked design (independent, homoskedastic per-capita noise), with
    /// `GT − k` degrees of freedom.
    #[default]
    Classical,
    /// Cluster-robust by geo (CR1), with `G − 1` degrees of freedom; pooled slopes only.
    ClusterGeo,
}

/// Whether a value is its type's default (serde's `skip_serializing_if`, so that the reported
/// parameters of national fits are unchanged).
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// Checks the geo options of a model: `slopes` other than pooled needs fixed effects.
pub fn check_options(geo: GeoMode, slopes: Slopes) -> Result<()> {
    if geo == GeoMode::National && slopes != Slopes::Pooled {
        return Err(MmmError::param(
            "/slopes",
            "per-geo slopes need \"geo\": \"fixed_effects\" (a national fit has one slope per \
             channel)",
        ));
    }
    Ok(())
}

/// The stacked panel of a fixed-effects fit (see the module docs): rows geo-major
/// (`g·T + t`), columns `[τ_1 … τ_G | shared non-media columns | media columns]`, the media
/// columns one per channel (pooled) or one per channel and geo (per-geo, channel-major).
pub struct Panel {
    /// Number of geos.
    pub geos: usize,
    /// Number of periods.
    pub periods: usize,
    /// Relative sizes `r_g`.
    pub r: Vec<f64>,
    /// The stacked design.
    pub design: Design,
    /// The stacked target `ỹ`.
    pub y: Vec<f64>,
    /// National design index of each shared column (stacked columns `G…G+S`).
    pub shared: Vec<usize>,
    /// Per media column: its national design index and channel.
    pub media: Vec<(usize, usize)>,
    /// Pooled or per-geo slopes.
    pub slopes: Slopes,
    /// National design index of the intercept.
    pub intercept: usize,
}

impl Panel {
    /// Builds the stacked panel of `problem`'s geos (at least one).
    pub fn build(problem: &FitProblem<'_>, slopes: Slopes, model: &str) -> Result<Panel> {
        let design = problem.design;
        let geos = problem.geos;
        let (g_len, t_len) = (geos.len(), design.n_obs());
        let intercept = design.intercept().ok_or_else(|| {
            MmmError::param(
                "/model/geo",
                format!(
                    "{model}: a fixed-effects fit has an intercept per geo; the design has none \
                     (set baseline.intercept to true)"
                ),
            )
        })?;
        let non_media: Vec<usize> = (0..design.n_cols())
            .filter(|&j| design.columns[j].channel.is_none())
            .collect();
        let media: Vec<(usize, usize)> = (0..design.n_cols())
            .filter_map(|j| design.columns[j].channel.map(|c| (j, c)))
            .collect();
        if design.columns.iter().any(|c| c.role == Role::Mediator) {
            return Err(MmmError::param(
                "/model/geo",
                format!("{model}: a fixed-effects fit takes no mediator column"),
            ));
        }
        for g in geos {
            if g.y.len() != t_len
                || g.regressors.len() != non_media.len()
                || media
                    .iter()
                    .any(|&(_, c)| g.spend.get(c).map(Vec::len) != Some(t_len))
            {
                return Err(MmmError::Compute(format!(
                    "{model}: geo '{}' does not align with the national design",
                    g.name
                )));
            }
        }
        let populations: Option<Vec<f64>> = geos.iter().map(|g| g.population).collect();
        let r: Vec<f64> = match populations.filter(|p| p.iter().all(|v| *v > 0.0)) {
            Some(p) => {
                let mean = p.iter().sum::<f64>() / g_len as f64;
                p.iter().map(|v| v / mean).collect()
            }
            None => vec![1.0; g_len],
        };
        let shared: Vec<usize> = non_media
            .iter()
            .copied()
            .filter(|&j| j != intercept)
            .collect();
        let n = g_len * t_len;
        let mut columns = Vec::new();
        let mut data: Vec<f64> = Vec::new();
        for (g, geo) in geos.iter().enumerate() {
            columns.push(Column {
                name: format!("intercept[{}]", geo.name),
                role: Role::Intercept,
                channel: None,
            });
            data.extend((0..n).map(|i| f64::from(u8::from(i / t_len == g))));
        }
        for &j in &shared {
            let k = non_media.iter().position(|&c| c == j).unwrap_or(0);
            columns.push(design.columns[j].clone());
            for geo in geos {
                data.extend_from_slice(&geo.regressors[k]);
            }
        }
        // each geo's transformed per-average-geo spend, per media column
        let mut ws = mmm_core::transform::ChainWorkspace::default();
        let mut f: Vec<Vec<f64>> = Vec::with_capacity(media.len());
        for &(_, c) in &media {
            let chain = &problem.media[c].chain;
            let mut all = vec![0.0; n];
            for (g, geo) in geos.iter().enumerate() {
                let x: Vec<f64> = geo.spend[c].iter().map(|v| v / r[g]).collect();
                chain.apply(&x, &mut all[g * t_len..(g + 1) * t_len], &mut ws);
            }
            f.push(all);
        }
        for (k, &(j, c)) in media.iter().enumerate() {
            match slopes {
                Slopes::Pooled => {
                    columns.push(design.columns[j].clone());
                    data.extend_from_slice(&f[k]);
                }
                Slopes::PerGeo => {
                    for (g, geo) in geos.iter().enumerate() {
                        columns.push(Column {
                            name: format!("{}[{}]", design.columns[j].name, geo.name),
                            role: Role::Media,
                            channel: Some(c),
                        });
                        data.extend((0..n).map(|i| if i / t_len == g { f[k][i] } else { 0.0 }));
                    }
                }
            }
        }
        let y: Vec<f64> = geos
            .iter()
            .enumerate()
            .flat_map(|(g, geo)| {
                let rg = r[g];
                geo.y.iter().map(move |v| v / rg)
            })
            .collect();
        let p = columns.len();
        let stacked = Design {
            columns,
            x: DMatrix::from_vec(n, p, data),
        };
        check_problem(&stacked, &y, model)?;
        Ok(Panel {
            geos: g_len,
            periods: t_len,
            r,
            design: stacked,
            y,
            shared,
            media,
            slopes,
            intercept,
        })
    }

    /// Stacked column of media column `k` (index into [`Panel::media`]) in geo `g`.
    pub fn media_col(&self, k: usize, g: usize) -> usize {
        let base = self.geos + self.shared.len();
        match self.slopes {
            Slopes::Pooled => base + k,
            Slopes::PerGeo => base + k * self.geos + g,
        }
    }

    /// The within-geo demeaned rows without the intercepts (for penalized models): the
    /// design of the stacked non-intercept columns and the target, each minus its geo's mean.
    pub fn within(&self) -> (Design, Vec<f64>) {
        let (g_len, t_len) = (self.geos, self.periods);
        let demean = |v: &[f64]| -> Vec<f64> {
            let mut out = v.to_vec();
            for g in 0..g_len {
                let s = &mut out[g * t_len..(g + 1) * t_len];
                let m = s.iter().sum::<f64>() / t_len as f64;
                s.iter_mut().for_each(|x| *x -= m);
            }
            out
        };
        let p = self.design.n_cols();
        let n = g_len * t_len;
        let mut data = Vec::with_capacity(n * (p - g_len));
        for j in g_len..p {
            data.extend(demean(self.design.x.column(j).as_slice()));
        }
        let design = Design {
            columns: self.design.columns[g_len..].to_vec(),
            x: DMatrix::from_vec(n, p - g_len, data),
        };
        (design, demean(&self.y))
    }

    /// The full stacked coefficients from the within fit's slopes `b`:
    /// `τ_g = ȳ̃_g − x̄̃_g·b`.
    pub fn with_intercepts(&self, b: &[f64]) -> Vec<f64> {
        let (g_len, t_len) = (self.geos, self.periods);
        let mut theta = vec![0.0; g_len];
        theta.extend_from_slice(b);
        for (g, tau) in theta.iter_mut().enumerate().take(g_len) {
            let rows = g * t_len..(g + 1) * t_len;
            let mean = |v: &[f64]| v[rows.clone()].iter().sum::<f64>() / t_len as f64;
            let mut level = mean(&self.y);
            for (k, bk) in b.iter().enumerate() {
                level -= bk * mean(self.design.x.column(g_len + k).as_slice());
            }
            *tau = level;
        }
        theta
    }

    /// The map `A` from stacked coefficients to national ones (national design columns ×
    /// stacked columns, see the module docs).
    pub fn national_map(&self, n_cols: usize) -> DMatrix<f64> {
        let g_len = self.geos;
        let mut a = DMatrix::zeros(n_cols, self.design.n_cols());
        for g in 0..g_len {
            a[(self.intercept, g)] = self.r[g];
        }
        for (s, &j) in self.shared.iter().enumerate() {
            a[(j, g_len + s)] = g_len as f64;
        }
        for (k, &(j, _)) in self.media.iter().enumerate() {
            for g in 0..g_len {
                a[(j, self.media_col(k, g))] += self.r[g];
            }
        }
        a
    }

    /// The fitted model in the national design's terms, with the per-geo figures in its
    /// [`Posterior`]: `theta` the stacked estimate; `cov` its covariance and the degrees of
    /// freedom of its t distribution (`None` for a point fit: one draw, no interval);
    /// `statistics` and `parameters` as the model reports them.
    pub fn assemble(
        &self,
        problem: &FitProblem<'_>,
        theta: &[f64],
        cov: Option<(&DMatrix<f64>, f64)>,
        statistics: std::collections::BTreeMap<String, f64>,
        parameters: serde_json::Value,
    ) -> Result<FittedModel> {
        let design = problem.design;
        let (g_len, t_len, n_cols) = (self.geos, self.periods, design.n_cols());
        let a = self.national_map(n_cols);
        let theta_v = DVector::from_column_slice(theta);
        let national = &a * &theta_v;
        // coefficients: exact t intervals of the linear map
        let level = 0.95;
        let coefficients: Vec<Coefficient> = match cov {
            Some((v, df)) => {
                let tdist = StudentsT::new(0.0, 1.0, df).map_err(|e| {
                    MmmError::Compute(format!("fixed effects: t distribution: {e}"))
                })?;
                let q = tdist.inverse_cdf(0.5 + level / 2.0);
                let av = &a * v * a.transpose();
                design
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        let b = national[j];
                        let se = av[(j, j)].max(0.0).sqrt();
                        let t = b / se;
                        Coefficient {
                            name: c.name.clone(),
                            role: c.role,
                            estimate: b,
                            std_error: Some(se),
                            t_value: Some(t),
                            p_value: Some(2.0 * tdist.sf(t.abs())),
                            ci_low: Some(b - q * se),
                            ci_high: Some(b + q * se),
                        }
                    })
                    .collect()
            }
            None => design
                .columns
                .iter()
                .enumerate()
                .map(|(j, c)| Coefficient::point(&c.name, c.role, national[j]))
                .collect(),
        };
        // draws of θ: antithetic multivariate t, or the estimate alone
        let draws: Vec<Vec<f64>> = match cov {
            Some((v, df)) => antithetic_t_draws(theta, v, df, FE_DRAWS, problem.seed)?,
            None => vec![theta.to_vec()],
        };
        // per geo: fitted values and column contributions at θ̂
        let stacked_fit = x_mul(&self.design.x, theta);
        let x = &self.design.x;
        let mut geos_out = Vec::with_capacity(g_len);
        let mut col_total = vec![vec![0.0; t_len]; n_cols];
        for (g, geo) in problem.geos.iter().enumerate() {
            let rg = self.r[g];
            let row = |t: usize| g * t_len + t;
            let mut cols = vec![vec![0.0; t_len]; n_cols];
            cols[self.intercept].fill(rg * theta[g]);
            for (s, &j) in self.shared.iter().enumerate() {
                for t in 0..t_len {
                    cols[j][t] = rg * theta[g_len + s] * x[(row(t), g_len + s)];
                }
            }
            for (k, &(j, _)) in self.media.iter().enumerate() {
                let sc = self.media_col(k, g);
                for t in 0..t_len {
                    cols[j][t] = rg * theta[sc] * x[(row(t), sc)];
                }
            }
            for (total, col) in col_total.iter_mut().zip(&cols) {
                for (a, b) in total.iter_mut().zip(col) {
                    *a += b;
                }
            }
            // on the geo's own raw values: τ_g on the intercept's ones, the shared columns'
            // slopes on the geo's own values, both back in the data's units (× r_g)
            let mut coefficients = vec![0.0; n_cols];
            coefficients[self.intercept] = rg * theta[g];
            for (s, &j) in self.shared.iter().enumerate() {
                coefficients[j] = rg * theta[g_len + s];
            }
            geos_out.push(PosteriorGeo {
                name: geo.name.clone(),
                fitted: (0..t_len).map(|t| rg * stacked_fit[row(t)]).collect(),
                column_contributions: cols,
                coefficients,
            });
        }
        let fitted: Vec<f64> = (0..t_len)
            .map(|t| geos_out.iter().map(|g| g.fitted[t]).sum())
            .collect();
        // media per draw
        let media_post: Vec<PosteriorMedia> = self
            .media
            .iter()
            .enumerate()
            .map(|(k, &(j, c))| {
                let chain = &problem.media[c].chain;
                let mut params = vec![0.0; chain.n_params()];
                chain.get_params(&mut params);
                let total_spend: f64 = problem
                    .geos
                    .iter()
                    .map(|g| g.spend[c].iter().sum::<f64>())
                    .sum();
                let geos: Vec<PosteriorMediaGeo> = (0..g_len)
                    .map(|g| {
                        let sc = self.media_col(k, g);
                        let mass: f64 = (0..t_len).map(|t| x[(g * t_len + t, sc)]).sum();
                        let spend: f64 = problem.geos[g].spend[c].iter().sum();
                        let share = if total_spend > 0.0 {
                            spend / total_spend
                        } else {
                            self.r[g] / g_len as f64
                        };
                        let rg = self.r[g];
                        PosteriorMediaGeo {
                            input_scale: share / rg,
                            coefficient: draws.iter().map(|d| rg * d[sc]).collect(),
                            contribution: draws.iter().map(|d| rg * d[sc] * mass).collect(),
                            chain_params: Vec::new(),
                            // the stacked column is f(x_g / r_g): per average-size geo
                            spend_scale: 1.0 / rg,
                        }
                    })
                    .collect();
                let nd = draws.len();
                PosteriorMedia {
                    column: j,
                    channel: c,
                    input_scale: 1.0 / g_len as f64,
                    coefficient: (0..nd)
                        .map(|d| geos.iter().map(|g| g.coefficient[d]).sum())
                        .collect(),
                    chain_params: vec![params; nd],
                    contribution: (0..nd)
                        .map(|d| geos.iter().map(|g| g.contribution[d]).sum())
                        .collect(),
                    geos,
                }
            })
            .collect();
        let posterior = Posterior {
            names: vec![],
            chain: vec![],
            draws: vec![],
            diagnostics: serde_json::json!({
                "geo": {
                    "model": "fixed_effects",
                    "slopes": self.slopes,
                    "geos": g_len,
                    "periods": t_len,
                    "relative_size": self.r,
                    "draws": draws.len(),
                }
            }),
            warnings: vec![],
            media: media_post,
            column_contributions: col_total,
            lifts: vec![],
            geos: geos_out,
            kind: DrawsKind::SamplingDistribution,
        };
        let mut fm = FittedModel {
            coefficients,
            fitted,
            fitted_interval: None,
            interval_level: level,
            coefficient_draws: None,
            statistics,
            column_statistics: Default::default(),
            parameters,
        };
        fm.set_posterior(&posterior);
        Ok(fm)
    }
}

/// A penalized model's fixed-effects fit (see "Penalized models" in the module docs): `fit`
/// fits the national model on a design without intercept (the within-geo demeaned rows); the
/// result reports the point estimate, `r2` of the stacked fit and `within_r2` of the demeaned
/// one.
pub fn fit_within(
    problem: &FitProblem<'_>,
    slopes: Slopes,
    model: &str,
    parameters: serde_json::Value,
    fit: impl Fn(&FitProblem<'_>) -> Result<FittedModel>,
) -> Result<FittedModel> {
    let panel = Panel::build(problem, slopes, model)?;
    let (design, y) = panel.within();
    let within = fit(&FitProblem {
        design: &design,
        y: &y,
        media: problem.media,
        seed: problem.seed,
        calibration: &[],
        geos: &[],
    })?;
    let theta = panel.with_intercepts(&within.beta());
    let stacked = x_mul(&panel.design.x, &theta);
    let statistics = std::collections::BTreeMap::from([
        (
            "r2".to_string(),
            crate::common::r_squared(&panel.y, &stacked),
        ),
        (
            "within_r2".to_string(),
            within.statistics.get("r2").copied().unwrap_or(f64::NAN),
        ),
        ("geos".to_string(), panel.geos as f64),
    ]);
    panel.assemble(problem, &theta, None, statistics, parameters)
}

/// `n` draws (`n/2` antithetic pairs) of the multivariate t with location `theta`, scale
/// matrix `v` and `df` degrees of freedom: `θ ± L·z·√(df/w)`, `L·L' = v` (eigen-decomposition,
/// so a positive semi-definite `v` is fine), `z ~ N(0, I)`, `w ~ χ²_df`.
pub fn antithetic_t_draws(
    theta: &[f64],
    v: &DMatrix<f64>,
    df: f64,
    n: usize,
    seed: u64,
) -> Result<Vec<Vec<f64>>> {
    let p = theta.len();
    let eig = nalgebra::SymmetricEigen::new(v.clone());
    let mut l = eig.eigenvectors.clone();
    for (k, lambda) in eig.eigenvalues.iter().enumerate() {
        let s = lambda.max(0.0).sqrt();
        l.column_mut(k).iter_mut().for_each(|x| *x *= s);
    }
    let chi = ChiSquared::new(df)
        .map_err(|e| MmmError::Compute(format!("fixed effects: chi-squared({df}): {e}")))?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x00FE_D1A5);
    let mut out = Vec::with_capacity(n);
    let mut z = DVector::zeros(p);
    for _ in 0..n.div_ceil(2) {
        z.iter_mut()
            .for_each(|x| *x = StandardNormal.sample(&mut rng));
        let w: f64 = chi.sample(&mut rng);
        let dz = &l * &z * (df / w).sqrt();
        out.push(theta.iter().zip(dz.iter()).map(|(a, b)| a + b).collect());
        out.push(theta.iter().zip(dz.iter()).map(|(a, b)| a - b).collect());
    }
    out.truncate(n);
    Ok(out)
}
