//! `bayesian_mmm` on a panel's geos jointly ([`BayesianMmm::fit_geo`]): the geo-hierarchical
//! model of [`crate::geo_model`], sampled, and turned into the core's national
//! [`FittedModel`] with per-geo figures in its [`Posterior`].
//!
//! # National figures from the geos (per draw, target units)
//! ```text
//! k_g            = p_g·s_y                                   (geo g's per-capita scale back to KPI units)
//! fitted_t       = Σ_g k_g·μ_{g,t}
//! yrep_t         = Σ_g k_g·(μ_{g,t} + σ_g·ε_{g,t}),   ε ~ N(0, 1) (or Student-t with ν)
//! contrib_{c,t}  = Σ_g k_g·β_{g,c}·f_c(x̃_{g,c}; θ_c)_t
//! control j      : coefficient P·s_y·γ_j/sd_j on the national (population-weighted) column,
//!                  contribution Σ_g k_g·γ_j·v_{g,t,j}/sd_j,      P = Σ_g p_g
//! intercept      : Σ_g k_g·(τ_g − Σ_j γ_j·mean_j/sd_j)  per period (the centring of every
//!                  standardized column lands in it, so the columns sum to `fitted`)
//! media c        : coefficient P·s_y·e^{m_c} (the national median effect on per-capita spend
//!                  scaled by s_c·P: `PosteriorMedia::input_scale = 1/(P·s_c)`), and per geo
//!                  coefficient k_g·β_{g,c} on input scale w_{g,c}/(p_g·s_c), where
//!                  w_{g,c} = Σ_t x_{g,c,t} / Σ_{h,t} x_{h,c,t} is the geo's share of the spend
//! ```
//! so that the national response to a national spend `s` is `Σ_g k_g·β_{g,c}·f_c(w_{g,c}·s/(p_g·s_c))`:
//! the geos' responses when each receives its current share of the channel's budget.
//! Per geo, the same sums without `Σ_g` give its fitted values and column contributions.
//!
//! Lift tests (`calibration`, national or in chosen geos) enter the density's likelihood
//! ([`crate::geo_density`], "Lift tests"); their model lifts per draw are the tested geos'
//! `Σ_g k_g·β_{g,c}·Δ_g` ([`crate::geo_density::GeoDensity::model_lifts`]).
//!
//! The national model's fit checks (posterior predictive p-values, PSIS-LOO, the review) are
//! not computed for a geo fit (its diagnostics say so); convergence diagnostics are.

use crate::density::Family;
use crate::geo_density::GeoLift;
use crate::geo_model::GeoScales;
use crate::model::{coef_from, BayesFit, BayesianMmm, MetricKind, HDI_PROB};
use mmm_core::interval::hdi;
use mmm_core::model::{
    FitProblem, FittedModel, Posterior, PosteriorGeo, PosteriorMedia, PosteriorMediaGeo, Role,
};
use mmm_core::{MmmError, Result};
use nalgebra::DMatrix;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use serde_json::json;

/// The default mass matrix of a geo fit: diagonal. A dense one is estimated from a warm-up
/// window of a few hundred draws for ~125 parameters (Meridian's `geo_media.csv`: 4 channels ×
/// (3 transform + 2 hierarchy + 20 offsets) + 20 levels + controls): too noisy to whiten the
/// posterior. Measured there (1 chain × (1,000 + 300), same seed): dense 322 gradients per
/// iteration, min bulk ESS 85; diagonal 60 gradients per iteration, min bulk ESS 182. With it
/// the preset's `target_accept` (0.9 under `robust`) left no divergences on either geo panel of
/// docs/geo.md (the dense metric had needed 0.95).
pub const GEO_METRIC: MetricKind = MetricKind::Diagonal;

/// The problem's lift tests in the geo density's units: per tested geo its counterfactual spend
/// per capita over the channel's scale, `x̃' = x'/(p_g·s_c)`, and `K_g = p_g·s_y`.
fn geo_lifts(
    problem: &FitProblem<'_>,
    density: &crate::geo_density::GeoDensity,
    scales: &GeoScales,
) -> Result<Vec<GeoLift>> {
    problem
        .calibration
        .iter()
        .map(|test| {
            let c = test.channel;
            if c >= density.media.len() || test.geo_counterfactuals.is_empty() {
                return Err(MmmError::Compute(format!(
                    "bayesian_mmm: lift test '{}' was not resolved against the panel's geos",
                    test.name
                )));
            }
            let (geos, counterfactual): (Vec<usize>, Vec<Vec<f64>>) = test
                .geo_counterfactuals
                .iter()
                .map(|(g, cf)| {
                    let scale = scales.population[*g] * scales.spend[c];
                    (*g, cf.iter().map(|v| v / scale).collect())
                })
                .unzip();
            let weights = geos
                .iter()
                .map(|&g| scales.population[g] * scales.target)
                .collect();
            Ok(GeoLift::new(
                c,
                density.media[c].n_params,
                geos,
                counterfactual,
                weights,
                (test.first, test.until),
                test.lift,
                test.standard_error,
            ))
        })
        .collect()
}

/// Where the design's columns are: its non-media columns (in order; the geos' regressors align
/// with them) and its media columns with their channels.
struct Layout {
    non_media: Vec<usize>,
    media: Vec<(usize, usize)>,
    intercept: usize,
}

impl BayesianMmm {
    /// Options of the national model that the geo model does not have yet: an error naming the
    /// spec path and the way out (`geo: "national"`).
    fn check_geo_options(&self) -> Result<()> {
        let refuse = |path: &str, what: &str| Err(MmmError::not_for_geo_fit(path, what));
        if self.target_scaling.is_some() || self.spend_scaling.is_some() {
            return refuse(
                "/model/target_scaling",
                "a chosen target or spend scaling (the geo model scales per capita, as Meridian)",
            );
        }
        Ok(())
    }

    /// Fits the panel's geos jointly (see the module docs), with the [`GEO_METRIC`] unless the
    /// spec sets one.
    pub(crate) fn fit_geo(&self, problem: &FitProblem<'_>) -> Result<FittedModel> {
        if self.metric.is_none() {
            let mut model = self.clone();
            model.metric = Some(GEO_METRIC);
            return model.fit_geo(problem);
        }
        self.check_geo_options()?;
        let design = problem.design;
        let layout = Layout {
            non_media: (0..design.n_cols())
                .filter(|&j| design.columns[j].channel.is_none())
                .collect(),
            media: (0..design.n_cols())
                .filter_map(|j| design.columns[j].channel.map(|c| (j, c)))
                .collect(),
            intercept: design.intercept().ok_or_else(|| {
                MmmError::param(
                    "/model/geo",
                    "a geo-hierarchical fit has an intercept per geo; the design has none",
                )
            })?,
        };
        let roles: Vec<Role> = layout
            .non_media
            .iter()
            .map(|&j| design.columns[j].role)
            .collect();
        let names: Vec<String> = layout
            .non_media
            .iter()
            .map(|&j| design.columns[j].name.clone())
            .collect();
        let (mut density, scales) =
            self.geo_density(problem.geos, &roles, &names, problem.media)?;
        density.lifts = geo_lifts(problem, &density, &scales)?;
        let fit = self.sample(&density, problem.seed)?;
        Ok(self.assemble_geo(problem, &mut density, &scales, &fit, &layout))
    }

    fn assemble_geo(
        &self,
        problem: &FitProblem<'_>,
        density: &mut crate::geo_density::GeoDensity,
        scales: &GeoScales,
        fit: &BayesFit,
        layout: &Layout,
    ) -> FittedModel {
        let design = problem.design;
        let (g_len, t_len) = (density.geos, density.periods);
        let n_cols = design.n_cols();
        let s_y = scales.target;
        let k: Vec<f64> = scales.population.iter().map(|p| p * s_y).collect();
        let total_population: f64 = scales.population.iter().sum();
        let all: Vec<(usize, &Vec<f64>)> = fit
            .draws
            .iter()
            .enumerate()
            .flat_map(|(c, ch)| ch.iter().map(move |d| (c, d)))
            .collect();
        let n_draws = all.len();
        // the design column of each density control, and of each density channel
        let control_col: Vec<usize> = scales
            .controls
            .iter()
            .map(|c| layout.non_media[c.regressor])
            .collect();
        let media_col: Vec<Option<usize>> = (0..density.media.len())
            .map(|c| layout.media.iter().find(|m| m.1 == c).map(|m| m.0))
            .collect();
        // spend shares of each geo per channel (population shares for a channel without spend)
        let shares: Vec<Vec<f64>> = (0..density.media.len())
            .map(|c| {
                let total: f64 = scales.spend_totals.iter().map(|g| g[c]).sum();
                (0..g_len)
                    .map(|g| {
                        if total > 0.0 {
                            scales.spend_totals[g][c] / total
                        } else {
                            scales.population[g] / total_population
                        }
                    })
                    .collect()
            })
            .collect();

        let mut coef_draws = DMatrix::zeros(n_draws, n_cols);
        let mut media_post: Vec<PosteriorMedia> = (0..density.media.len())
            .filter_map(|c| {
                media_col[c].map(|column| PosteriorMedia {
                    column,
                    channel: c,
                    input_scale: 1.0 / (total_population * scales.spend[c]),
                    coefficient: Vec::with_capacity(n_draws),
                    chain_params: Vec::with_capacity(n_draws),
                    contribution: Vec::with_capacity(n_draws),
                    geos: (0..g_len)
                        .map(|g| PosteriorMediaGeo {
                            input_scale: shares[c][g] / (scales.population[g] * scales.spend[c]),
                            coefficient: Vec::with_capacity(n_draws),
                            contribution: Vec::with_capacity(n_draws),
                            chain_params: Vec::new(),
                            spend_scale: 1.0 / (scales.population[g] * scales.spend[c]),
                        })
                        .collect(),
                })
            })
            .collect();
        let mut geo_cols = vec![vec![vec![0.0; t_len]; n_cols]; g_len];
        // per geo, the raw-unit coefficient of each non-media column, summed over the draws
        let mut geo_coefs = vec![vec![0.0; n_cols]; g_len];
        let mut geo_fitted = vec![vec![0.0; t_len]; g_len];
        let mut fitted = vec![0.0; t_len];
        let mut pp: Vec<Vec<f64>> = vec![Vec::with_capacity(n_draws); t_len];
        let mut rng = ChaCha8Rng::seed_from_u64(problem.seed ^ 0x005E_ED0F_9057);
        // the noise of the posterior predictive: standard normal or Student-t with ν
        let t_dist = match density.family {
            Family::StudentT(nu) => StudentT::new(nu).ok(),
            Family::Normal => None,
        };
        let mut mu = vec![0.0; g_len * t_len];
        let mut lifts: Vec<Vec<f64>> = vec![Vec::with_capacity(n_draws); density.lifts.len()];
        for (r, (_, x)) in all.iter().enumerate() {
            // controls: γ_{g,j} on standardized columns, back to raw units (a per-geo
            // column's national coefficient is that of its national mean γ_j)
            let mut shift = vec![0.0; g_len];
            for (j, c) in scales.controls.iter().enumerate() {
                for (g, s) in shift.iter_mut().enumerate() {
                    *s += density.control_coefficient(x, j, g) * c.center / c.scale;
                }
                let gamma = x[density.coef_index(j)];
                coef_draws[(r, control_col[j])] = total_population * s_y * gamma / c.scale;
            }
            let mut national_intercept = 0.0;
            let taus = density.intercepts(x);
            for g in 0..g_len {
                let (tau, shift) = (taus[g], shift[g]);
                national_intercept += k[g] * (tau - shift);
                let row = &mut mu[g * t_len..(g + 1) * t_len];
                row.iter_mut().for_each(|v| *v = tau);
                for t in 0..t_len {
                    geo_cols[g][layout.intercept][t] += k[g] * (tau - shift);
                }
                geo_coefs[g][layout.intercept] += k[g] * (tau - shift);
            }
            coef_draws[(r, layout.intercept)] = national_intercept;
            for (j, c) in scales.controls.iter().enumerate() {
                let col = control_col[j];
                for g in 0..g_len {
                    let gamma = density.control_coefficient(x, j, g);
                    geo_coefs[g][col] += k[g] * gamma / c.scale;
                    let z = &density.z[j][g * t_len..(g + 1) * t_len];
                    for t in 0..t_len {
                        mu[g * t_len + t] += gamma * z[t];
                        // raw value v = z·scale + center; its column carries γ·v/scale
                        geo_cols[g][col][t] += k[g] * gamma * (z[t] + c.center / c.scale);
                    }
                }
            }
            for m in media_post.iter_mut() {
                let c_idx = m.channel;
                let per_geo = density.theta_per_geo(c_idx);
                if per_geo {
                    for (g, mg) in m.geos.iter_mut().enumerate() {
                        mg.chain_params.push(density.chain_params(x, c_idx, g));
                    }
                } else {
                    m.chain_params.push(density.chain_params(x, c_idx, 0));
                }
                let betas = density.coefficients(x, c_idx);
                let f = density.transformed(x, c_idx);
                let mut total = 0.0;
                for (g, mg) in m.geos.iter_mut().enumerate() {
                    let fg = &f[g * t_len..(g + 1) * t_len];
                    let mut sum = 0.0;
                    for t in 0..t_len {
                        mu[g * t_len + t] += betas[g] * fg[t];
                        geo_cols[g][m.column][t] += k[g] * betas[g] * fg[t];
                        sum += fg[t];
                    }
                    let contribution = k[g] * betas[g] * sum;
                    mg.coefficient.push(k[g] * betas[g]);
                    mg.contribution.push(contribution);
                    total += contribution;
                }
                let median = density.log_median(x, c_idx).exp();
                coef_draws[(r, m.column)] = total_population * s_y * median;
                m.coefficient.push(total_population * s_y * median);
                m.contribution.push(total);
            }
            for (k, l) in density.model_lifts(x).into_iter().enumerate() {
                lifts[k].push(l);
            }
            for t in 0..t_len {
                let mut national = 0.0;
                let mut rep = 0.0;
                for g in 0..g_len {
                    let v = mu[g * t_len + t];
                    geo_fitted[g][t] += k[g] * v;
                    national += k[g] * v;
                    let e: f64 = match &t_dist {
                        Some(t) => t.sample(&mut rng),
                        None => StandardNormal.sample(&mut rng),
                    };
                    rep += k[g] * (v + x[density.sigma_index(g)] * e);
                }
                fitted[t] += national;
                pp[t].push(rep);
            }
        }
        let nd = n_draws.max(1) as f64;
        fitted.iter_mut().for_each(|v| *v /= nd);
        geo_fitted.iter_mut().flatten().for_each(|v| *v /= nd);
        geo_cols
            .iter_mut()
            .flatten()
            .flatten()
            .for_each(|v| *v /= nd);
        geo_coefs.iter_mut().flatten().for_each(|v| *v /= nd);
        let mut col_contrib = vec![vec![0.0; t_len]; n_cols];
        for cols in &geo_cols {
            for (total, col) in col_contrib.iter_mut().zip(cols) {
                for (a, b) in total.iter_mut().zip(col) {
                    *a += b;
                }
            }
        }
        let coefficients = design
            .columns
            .iter()
            .enumerate()
            .map(|(j, c)| coef_from(&c.name, c.role, coef_draws.column(j).as_slice()))
            .collect();
        let (lo, hi): (Vec<f64>, Vec<f64>) = pp.iter().map(|v| hdi(v, HDI_PROB)).unzip();

        let mut diagnostics = self.diagnostics_json(fit);
        if let Some(obj) = diagnostics.as_object_mut() {
            obj.insert(
                "geo".into(),
                json!({
                    "model": "hierarchical",
                    "geos": g_len,
                    "periods": t_len,
                    "target_scale_per_capita": s_y,
                    "spend_scale_per_capita": scales.spend,
                    "population": scales.population,
                    "checks": "posterior predictive checks, PSIS-LOO and the model review are \
                               computed for national fits only",
                }),
            );
        }
        let posterior = Posterior {
            names: fit.names.clone(),
            chain: all.iter().map(|(c, _)| *c).collect(),
            draws: all.iter().map(|(_, d)| (*d).clone()).collect(),
            diagnostics,
            warnings: fit.warnings.clone(),
            media: media_post,
            column_contributions: col_contrib,
            lifts,
            geos: problem
                .geos
                .iter()
                .zip(geo_fitted)
                .zip(geo_cols)
                .zip(geo_coefs)
                .map(
                    |(((g, fitted), column_contributions), coefficients)| PosteriorGeo {
                        name: g.name.clone(),
                        fitted,
                        column_contributions,
                        coefficients,
                    },
                )
                .collect(),
            kind: mmm_core::model::DrawsKind::Posterior,
        };
        let mut statistics = self.sampler_statistics(fit);
        // the noise scale per capita: the shared σ's, or the geos' mean σ_g's
        let sigma_per_capita = (0..g_len)
            .map(|g| fit.summaries[density.sigma_index(g)].mean)
            .sum::<f64>()
            / g_len.max(1) as f64
            * s_y;
        statistics.insert("sigma_per_capita".into(), sigma_per_capita);
        statistics.insert("target_scale".into(), s_y);
        statistics.insert("geos".into(), g_len as f64);
        self.fitted_model(
            coefficients,
            fitted,
            (lo, hi),
            coef_draws,
            statistics,
            &posterior,
        )
    }
}
