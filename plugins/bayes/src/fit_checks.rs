//! The checks of one Bayesian fit, as the `posterior` section of results.json reports them:
//! prior and posterior predictive checks, prior against posterior for every parameter, PSIS-LOO,
//! and the model review built on them (see [`crate::checks`], [`crate::loo`],
//! [`crate::review`]).

use crate::checks::{predictive_check, stats, PriorGrid, PriorPosterior};
use crate::density::{MmmDensity, Slot};
use crate::diagnostics::{ess_mean, hdi};
use crate::model::{BayesFit, HDI_PROB};
use crate::review::{review, ReviewInput};
use mmm_core::model::{FitProblem, PosteriorMedia};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal, StudentT};
use serde_json::{json, Value};

/// Replicated series drawn from the prior for the prior predictive check.
pub const PRIOR_PREDICTIVE_DRAWS: usize = 500;

/// What [`fit_checks`] needs from the assembled fit.
pub struct FitChecksInput<'a, 'p> {
    /// The problem fitted.
    pub problem: &'a FitProblem<'p>,
    /// The density (its `mean` is evaluated at prior draws).
    pub density: &'a mut MmmDensity,
    /// The draws and diagnostics.
    pub fit: &'a BayesFit,
    /// Per media column: coefficient and contribution per draw.
    pub media_post: &'a [PosteriorMedia],
    /// Posterior-mean fitted KPI per period.
    pub fitted: &'a [f64],
    /// Posterior-mean contribution per design column and period.
    pub col_contrib: &'a [Vec<f64>],
    /// Pointwise log-likelihood `[period][draw]` (density of the KPI in its own units).
    pub log_lik: &'a [Vec<f64>],
    /// [`stats`] of each posterior predictive replication.
    pub post_stats: &'a [[f64; 3]],
    /// The Student-t noise, when the likelihood is Student-t.
    pub t_dist: Option<StudentT<f64>>,
    /// The run's seed.
    pub seed: u64,
}

/// Runs the checks; returns `{prior_predictive, posterior_predictive, prior_posterior, loo,
/// review}`.
pub fn fit_checks(c: FitChecksInput<'_, '_>) -> Value {
    // prior predictive
    let density: &mut MmmDensity = c.density;
    let grids: Vec<PriorGrid> = density.params.iter().map(PriorGrid::new).collect();
    let n = c.problem.y.len();
    let s_y = c.fit.target_scale;
    let mut rng = ChaCha8Rng::seed_from_u64(c.seed ^ 0x0050_5249_4F52);
    let mut x = vec![0.0; grids.len()];
    let mut mu = vec![0.0; n];
    let mut contrib = vec![vec![0.0; n]; density.media.len()];
    let mut yrep = vec![0.0; n];
    let sigma_k = density.sigma_index();
    let mut prior_stats = Vec::with_capacity(PRIOR_PREDICTIVE_DRAWS);
    for _ in 0..PRIOR_PREDICTIVE_DRAWS {
        for (k, g) in grids.iter().enumerate() {
            x[k] = g.sample(&mut rng);
        }
        density.mean(&x, &mut mu, &mut contrib);
        for t in 0..n {
            let e: f64 = match &c.t_dist {
                Some(td) => td.sample(&mut rng),
                None => StandardNormal.sample(&mut rng),
            };
            yrep[t] = (mu[t] + x[sigma_k] * e) * s_y;
        }
        prior_stats.push(stats(&yrep));
    }
    let prior_pc = predictive_check(c.problem.y, &prior_stats);
    let post_pc = predictive_check(c.problem.y, c.post_stats);

    // prior against posterior
    let all: Vec<&Vec<f64>> = c.fit.draws.iter().flatten().collect();
    let prior_posterior: Vec<PriorPosterior> = density
        .params
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let v: Vec<f64> = all.iter().map(|d| d[k]).collect();
            PriorPosterior::new(&p.name, &grids[k], &v)
        })
        .collect();

    // PSIS-LOO, r_eff as ArviZ: mean ESS of the mean over the parameters / draws
    let total = all.len() as f64;
    let r_eff = (0..density.params.len())
        .map(|k| {
            let chains: Vec<Vec<f64>> = c
                .fit
                .draws
                .iter()
                .map(|ch| ch.iter().map(|d| d[k]).collect())
                .collect();
            ess_mean(&chains)
        })
        .sum::<f64>()
        / density.params.len().max(1) as f64
        / total;
    let r_eff = if c.fit.draws.len() > 1 && r_eff.is_finite() && r_eff > 0.0 {
        r_eff
    } else {
        1.0
    };
    let loo = crate::loo::loo(c.log_lik, r_eff);

    // review
    let mut baseline: Vec<f64> = c.fitted.to_vec();
    for m in c.media_post {
        for (b, v) in baseline.iter_mut().zip(&c.col_contrib[m.column]) {
            *b -= v;
        }
    }
    let names = |m: &PosteriorMedia| c.problem.design.columns[m.column].name.clone();
    let media: Vec<(String, f64)> = c
        .media_post
        .iter()
        .map(|m| {
            (
                names(m),
                m.contribution.iter().sum::<f64>() / m.contribution.len().max(1) as f64,
            )
        })
        .collect();
    let roi_hdi: Vec<(String, f64, f64)> = c
        .media_post
        .iter()
        .map(|m| {
            let spend: f64 = c.problem.media[m.channel].spend.iter().sum();
            let roi: Vec<f64> = m.contribution.iter().map(|v| v / spend).collect();
            let (lo, hi) = hdi(&roi, HDI_PROB);
            (names(m), lo, hi)
        })
        .collect();
    let weak: Vec<(String, f64)> = density
        .params
        .iter()
        .zip(&prior_posterior)
        .filter(|(p, pp)| {
            matches!(p.slot, Slot::Transform { .. } | Slot::MediaCoef(_)) && pp.contraction < 0.1
        })
        .map(|(p, pp)| (p.name.clone(), pp.contraction))
        .collect();
    let ppc: Vec<(&'static str, f64)> = post_pc.iter().map(|s| (s.statistic, s.p_value)).collect();
    let max_r_hat = c
        .fit
        .summaries
        .iter()
        .map(|s| s.r_hat)
        .fold(f64::NAN, f64::max);
    let min_ess = c
        .fit
        .summaries
        .iter()
        .map(|s| s.ess_bulk)
        .fold(f64::NAN, f64::min);
    let rev = review(&ReviewInput {
        max_r_hat,
        min_ess_bulk: min_ess,
        divergences: c.fit.divergences.iter().sum(),
        draws: all.len(),
        baseline: &baseline,
        total_kpi: c.problem.y.iter().sum(),
        media: &media,
        roi_hdi: &roi_hdi,
        weak: &weak,
        ppc: &ppc,
        pareto: (loo.max_pareto_k, loo.k_threshold, loo.n_bad_k),
    });
    json!({
        "prior_predictive": {"draws": PRIOR_PREDICTIVE_DRAWS, "checks": prior_pc},
        "posterior_predictive": {"draws": c.post_stats.len(), "checks": post_pc},
        "prior_posterior": prior_posterior,
        "loo": {
            "elpd_loo": loo.elpd_loo,
            "se": loo.se,
            "p_loo": loo.p_loo,
            "r_eff": loo.r_eff,
            "k_threshold": loo.k_threshold,
            "max_pareto_k": loo.max_pareto_k,
            "n_bad_k": loo.n_bad_k,
            "pareto_k": loo.pareto_k,
            "scale": "log density of the KPI in its own units",
        },
        "review": rev,
    })
}
