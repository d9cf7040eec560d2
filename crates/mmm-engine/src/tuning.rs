//! Hyperparameter tuning: a search over the spec's search ranges (see [`mmm_core::search`]) by a
//! registered strategy ([`Tuner`] plugins), scored on one or several objectives, in parallel.
//!
//! Candidates live in the unit cube `[0, 1]^d`; coordinate `k` maps to the `k`-th search range
//! (log-uniformly on a log scale). Strategies propose batches; each batch is evaluated in
//! parallel with rayon and recorded in proposal order, so results do not depend on the number
//! of threads. Every objective is minimized (`r2` is scored as `1 − R²`). With several
//! objectives the result is the Pareto front, and the chosen candidate is the front's point
//! closest to the origin after scaling each objective to [0, 1] over the front (Robyn's
//! default pick).

use crate::validation::fit_split;
use mmm_core::causal::{CausalInput, CausalStructure};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::metrics::{decomp_rssd, fit_metrics};
use mmm_core::model::Model;
use mmm_core::search::{SearchParam, Target};
use mmm_core::sums::{dot, sum};
use mmm_core::transform::ChainWorkspace;
use mmm_core::tuning::{Objective, ScoreOn, TuningSpec};
use mmm_core::validation::ValidationSpec;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Debug;

/// One evaluated candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Parameter values by JSON pointer.
    pub parameters: BTreeMap<String, f64>,
    /// Objective values by name (minimized).
    pub objectives: BTreeMap<String, f64>,
}

/// The results.json `tuning` section.
#[derive(Debug, Clone, Serialize)]
pub struct TuningResult {
    /// The strategy's `type`.
    pub strategy: String,
    /// Number of evaluations made.
    pub evaluations: usize,
    /// Evaluations that failed (singular fit…), scored +∞.
    pub failed: usize,
    /// Objective names.
    pub objectives: Vec<String>,
    /// Where objectives were scored.
    pub on: ScoreOn,
    /// The search ranges.
    pub search_space: Vec<SearchParam>,
    /// The chosen candidate, which the rest of results.json reports (refitted).
    pub best: Evaluation,
    /// The Pareto front (non-dominated candidates), sorted by the first objective.
    pub pareto: Vec<Evaluation>,
    /// Every evaluation's objective values, in proposal order (same order as `objectives`).
    #[serde(skip)]
    pub history: Vec<Vec<f64>>,
    /// Every evaluation's parameter values, in proposal order (same order as `search_space`).
    #[serde(skip)]
    pub history_parameters: Vec<Vec<f64>>,
    /// The chosen candidate in the unit cube (same order as `search_space`).
    #[serde(skip)]
    pub best_unit: Vec<f64>,
    /// What the channels' intervals in results.json are, after tuning:
    /// `conditional_on_tuned_values` (the model's intervals, as if the tuned values had been
    /// fixed in advance: they ignore the search and are too narrow) or `bootstrap_over_search`
    /// (percentile intervals over `uncertainty`'s resamples, each with its own search).
    pub intervals: &'static str,
    /// The bootstrap over the search, with `tuning.uncertainty`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uncertainty: Option<crate::tuning_bootstrap::UncertaintyResult>,
}

/// [`TuningResult::intervals`] without `tuning.uncertainty`.
pub const INTERVALS_CONDITIONAL: &str = "conditional_on_tuned_values";
/// [`TuningResult::intervals`] with `tuning.uncertainty`.
pub const INTERVALS_BOOTSTRAP: &str = "bootstrap_over_search";

fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::R2 => "r2",
        Objective::Rmse => "rmse",
        Objective::Nrmse => "nrmse",
        Objective::Mae => "mae",
        Objective::Mape => "mape",
        Objective::DecompRssd => "decomp_rssd",
        Objective::MapeLift => "mape_lift",
    }
}

/// Everything one evaluation needs, shared read-only across threads.
struct Problem<'a> {
    data: &'a ModelData,
    causal: &'a dyn CausalStructure,
    model: &'a (dyn Model + 'static),
    params: &'a [SearchParam],
    objectives: &'a [Objective],
    split: Option<(usize, usize)>,
    seed: u64,
    /// The periods fitted and scored, when not all of them (a bootstrap resample of periods,
    /// sorted; repeats count twice): each candidate transforms the whole series, then keeps
    /// these rows.
    rows: Option<&'a [usize]>,
}

/// Per-thread scratch: a copy of the data whose tuned channels are re-transformed in place.
struct Scratch {
    data: ModelData,
    model: Box<dyn Model>,
    ws: ChainWorkspace,
    values: Vec<f64>,
}

impl Problem<'_> {
    fn scratch(&self) -> Scratch {
        Scratch {
            data: self.data.clone(),
            model: dyn_clone::clone_box(self.model),
            ws: ChainWorkspace::default(),
            values: vec![0.0; max_param_count(&self.data.media, self.model)],
        }
    }

    fn evaluate(&self, s: &mut Scratch, u: &[f64]) -> Vec<f64> {
        self.try_evaluate(s, u)
            .unwrap_or_else(|_| vec![f64::INFINITY; self.objectives.len()])
    }

    fn try_evaluate(&self, s: &mut Scratch, u: &[f64]) -> Result<Vec<f64>> {
        set_candidate(
            self.params,
            u,
            &mut s.data.media,
            &mut s.data.transformed,
            &mut s.model,
            &mut s.values,
            &mut s.ws,
        );
        let subset;
        let data: &ModelData = match self.rows {
            Some(rows) => {
                subset = s.data.subset(rows);
                &subset
            }
            None => &s.data,
        };
        let metrics = match self.split {
            Some((n_train, n_test)) => {
                let (m, est) = fit_split(
                    data,
                    self.causal,
                    s.model.as_ref(),
                    self.seed,
                    n_train,
                    n_test,
                )?;
                (
                    m.test,
                    m.decomp_rssd,
                    lifts_mape(data, &est, self.objectives),
                )
            }
            None => {
                let est = self.causal.estimate(&CausalInput {
                    data,
                    model: s.model.as_ref(),
                    seed: self.seed,
                })?;
                let stage = est
                    .outcome_stage()
                    .ok_or_else(|| MmmError::Compute("no outcome stage".into()))?;
                let fm = fit_metrics(
                    &stage.y,
                    &stage.fitted.fitted,
                    stage.fitted.coefficients.len(),
                );
                // a joint geo fit's contributions are its geos' sums (its posterior's)
                let geo = stage.fitted.posterior().filter(|p| p.is_geo());
                let contributions: Vec<f64> = est
                    .effects
                    .iter()
                    .map(|e| {
                        geo.as_ref()
                            .and_then(|p| p.media.iter().find(|m| m.channel == e.channel))
                            .filter(|m| !m.contribution.is_empty())
                            .map(|m| {
                                m.contribution.iter().sum::<f64>() / m.contribution.len() as f64
                            })
                            .unwrap_or_else(|| e.contribution(&data.transformed[e.channel]))
                    })
                    .collect();
                let spends: Vec<f64> = est
                    .effects
                    .iter()
                    .map(|e| data.media[e.channel].spend.iter().sum())
                    .collect();
                (
                    fm,
                    decomp_rssd(&contributions, &spends),
                    lifts_mape(data, &est, self.objectives),
                )
            }
        };
        let (fm, rssd, mape_lift) = metrics;
        Ok(self
            .objectives
            .iter()
            .map(|o| match o {
                Objective::R2 => 1.0 - fm.r2,
                Objective::Rmse => fm.rmse,
                Objective::Nrmse => fm.nrmse,
                Objective::Mae => fm.mae,
                Objective::Mape => fm.mape.unwrap_or(f64::INFINITY),
                Objective::DecompRssd => rssd,
                Objective::MapeLift => mape_lift,
            })
            .map(|v| if v.is_finite() { v } else { f64::INFINITY })
            .collect())
    }
}

/// MAPE.LIFT of an estimate on `data`'s lift tests (`+∞` when not among the objectives, as it
/// is then not read): each test's lift `m·D` from the channel's total coefficient and chain.
fn lifts_mape(
    data: &ModelData,
    est: &mmm_core::causal::CausalEstimate,
    objectives: &[Objective],
) -> f64 {
    if !objectives.contains(&Objective::MapeLift) {
        return f64::INFINITY;
    }
    let mut ws = ChainWorkspace::default();
    let mut buf = mmm_core::calibration::LiftBuffers::default();
    let lifts: Vec<f64> = data
        .calibration
        .iter()
        .map(|t| {
            let m = est
                .effects
                .iter()
                .find(|e| e.channel == t.channel)
                .map_or(f64::NAN, |e| e.total_coefficient);
            let media = &data.media[t.channel];
            t.model_lift(&media.chain, m, &media.spend, 1.0, &mut ws, &mut buf)
        })
        .collect();
    mmm_core::calibration::mape_lift(&data.calibration, &lifts)
}

/// The allocation-free fast path for single-stage structures with models that fit from the
/// normal equations ([`Model::fit_gram`]): the regressors' centered cross-products are computed
/// once; an evaluation re-transforms the tuned channels, forms the media's cross-products with
/// everything (`O(n·p·(q+p))`), solves a `(q+p)`-dimensional system and scores in place.
struct Fast<'a> {
    problem: &'a Problem<'a>,
    n_fit: usize,
    score: (usize, usize),
    has_intercept: bool,
    /// Non-intercept regressors over all rows.
    z: Vec<&'a [f64]>,
    /// The same, centered over the fit rows (fit rows only).
    z_centered: Vec<Vec<f64>>,
    z_mean: Vec<f64>,
    zz: Vec<f64>,
    zy: Vec<f64>,
    y_centered: Vec<f64>,
    y_mean: f64,
    roles: Vec<mmm_core::model::Role>,
    spend_fit: Vec<f64>,
    y_range_score: f64,
    /// `Σ (y − ȳ)²` over the scored window.
    sst_score: f64,
    /// `1/y` over the scored window (0 where y = 0: such periods have no percentage error).
    inv_y_score: Vec<f64>,
    /// Periods of the scored window with y ≠ 0.
    nape_score: usize,
    /// Frequency weights `w_t` (how often period `t` is in a bootstrap resample of periods, in
    /// sample only): every sum over the fit and scored rows is `Σ_t w_t·(…)`; then
    /// `z_centered` and `y_centered` hold `w_t·(z_t − z̄_w)` and `w_t·(y_t − ȳ_w)`.
    weights: Option<Vec<f64>>,
}

struct FastScratch {
    media: Vec<mmm_core::model::MediaInput>,
    transformed: Vec<Vec<f64>>,
    model: Box<dyn Model>,
    ws: ChainWorkspace,
    gws: mmm_core::gram::GramWorkspace,
    h: Vec<f64>,
    g: Vec<f64>,
    beta: Vec<f64>,
    m_mean: Vec<f64>,
    m_sum: Vec<f64>,
    /// `w_t·m_t` of one media column (weighted fits only).
    wm: Vec<f64>,
    yh: Vec<f64>,
    values: Vec<f64>,
    out: Vec<f64>,
    lift_buf: mmm_core::calibration::LiftBuffers,
}

impl<'a> Fast<'a> {
    fn new(problem: &'a Problem<'a>) -> Option<Self> {
        if !problem.causal.is_single_stage() {
            return None;
        }
        let data = problem.data;
        let n = data.n_obs();
        // a resample of periods: in sample only, as frequency weights (MAPE.LIFT needs the
        // whole series, which a resample does not have: the general path scores it)
        let weights = match problem.rows {
            Some(_) if problem.split.is_some() => return None,
            Some(_) if problem.objectives.contains(&Objective::MapeLift) => return None,
            Some(rows) => {
                let mut w = vec![0.0; n];
                for &r in rows {
                    w[r] += 1.0;
                }
                Some(w)
            }
            None => None,
        };
        let (n_fit, score) = match problem.split {
            Some((n_train, n_test)) => (n_train, (n_train, n_train + n_test)),
            None => (n, (0, n)),
        };
        let has_intercept = data
            .regressors
            .iter()
            .any(|r| r.column.role == mmm_core::model::Role::Intercept);
        let z: Vec<&[f64]> = data
            .regressors
            .iter()
            .filter(|r| r.column.role != mmm_core::model::Role::Intercept)
            .map(|r| r.values.as_slice())
            .collect();
        let mean = |v: &[f64]| match (&weights, has_intercept) {
            (_, false) => 0.0,
            (None, true) => v[..n_fit].iter().sum::<f64>() / n_fit as f64,
            (Some(w), true) => dot(w, &v[..n_fit]) / n_fit as f64,
        };
        let z_mean: Vec<f64> = z.iter().map(|c| mean(c)).collect();
        let mut z_centered: Vec<Vec<f64>> = z
            .iter()
            .zip(&z_mean)
            .map(|(c, m)| c[..n_fit].iter().map(|v| v - m).collect())
            .collect();
        let y_mean = mean(&data.y);
        let mut y_centered: Vec<f64> = data.y[..n_fit].iter().map(|v| v - y_mean).collect();
        let q = z.len();
        let mut zz = vec![0.0; q * q];
        let zy: Vec<f64> = match &weights {
            None => {
                for i in 0..q {
                    for j in 0..q {
                        zz[i + j * q] = dot(&z_centered[i], &z_centered[j]);
                    }
                }
                z_centered.iter().map(|c| dot(c, &y_centered)).collect()
            }
            Some(w) => {
                let times_w =
                    |v: &[f64]| -> Vec<f64> { v.iter().zip(w).map(|(a, b)| a * b).collect() };
                let wz: Vec<Vec<f64>> = z_centered.iter().map(|c| times_w(c)).collect();
                for i in 0..q {
                    for j in 0..q {
                        zz[i + j * q] = dot(&wz[i], &z_centered[j]);
                    }
                }
                let zy = wz.iter().map(|c| dot(c, &y_centered)).collect();
                z_centered = wz;
                y_centered = times_w(&y_centered);
                zy
            }
        };
        let mut roles: Vec<mmm_core::model::Role> = data
            .regressors
            .iter()
            .filter(|r| r.column.role != mmm_core::model::Role::Intercept)
            .map(|r| r.column.role)
            .collect();
        roles.extend(std::iter::repeat_n(
            mmm_core::model::Role::Media,
            data.media.len(),
        ));
        let spend_fit = data
            .media
            .iter()
            .map(|m| match &weights {
                None => m.spend[..n_fit].iter().sum(),
                Some(w) => dot(w, &m.spend[..n_fit]),
            })
            .collect();
        let ys = &data.y[score.0..score.1];
        let present = |t: usize| weights.as_ref().is_none_or(|w| w[score.0 + t] > 0.0);
        let (lo, hi) = ys
            .iter()
            .enumerate()
            .filter(|(t, _)| present(*t))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), (_, v)| {
                (l.min(*v), h.max(*v))
            });
        let weight = |t: usize| weights.as_ref().map_or(1.0, |w| w[score.0 + t]);
        let fast = Fast {
            problem,
            n_fit,
            score,
            has_intercept,
            z,
            z_centered,
            z_mean,
            zz,
            zy,
            y_centered,
            y_mean,
            roles,
            spend_fit,
            y_range_score: hi - lo,
            sst_score: match &weights {
                None => {
                    let m = ys.iter().sum::<f64>() / ys.len() as f64;
                    ys.iter().map(|v| (v - m).powi(2)).sum()
                }
                Some(_) => {
                    let m = ys
                        .iter()
                        .enumerate()
                        .map(|(t, v)| weight(t) * v)
                        .sum::<f64>()
                        / ys.len() as f64;
                    ys.iter()
                        .enumerate()
                        .map(|(t, v)| weight(t) * (v - m).powi(2))
                        .sum()
                }
            },
            inv_y_score: ys
                .iter()
                .map(|v| if *v != 0.0 { 1.0 / v } else { 0.0 })
                .collect(),
            nape_score: ys
                .iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(t, _)| weight(t) as usize)
                .sum(),
            weights: weights.clone(),
        };
        // the model must support the fast path
        let mut s = fast.scratch();
        let k = fast.roles.len();
        let mut h = vec![0.0; k * k];
        for j in 0..k {
            h[j + j * k] = 1.0;
        }
        let mut g = vec![0.0; k];
        let mut beta = vec![0.0; k];
        let mut sys = mmm_core::gram::GramSystem {
            h: &mut h,
            g: &mut g,
            k,
            n: n_fit,
            roles: &fast.roles,
        };
        // `None`: the model has no normal-equation form; a failed probe fit is fine
        let _probe = s.model.fit_gram(&mut sys, &mut beta, &mut s.gws)?;
        Some(fast)
    }

    fn scratch(&self) -> FastScratch {
        let data = self.problem.data;
        let k = self.roles.len();
        FastScratch {
            media: data.media.clone(),
            transformed: data.transformed.clone(),
            model: dyn_clone::clone_box(self.problem.model),
            ws: ChainWorkspace::new(
                &data
                    .media
                    .first()
                    .map(|m| m.chain.clone())
                    .unwrap_or_default(),
                data.n_obs(),
            ),
            gws: mmm_core::gram::GramWorkspace::new(k),
            h: vec![0.0; k * k],
            g: vec![0.0; k],
            beta: vec![0.0; k],
            m_mean: vec![0.0; data.media.len()],
            m_sum: vec![0.0; data.media.len()],
            wm: vec![
                0.0;
                if self.weights.is_some() {
                    self.n_fit
                } else {
                    0
                }
            ],
            yh: vec![0.0; self.score.1 - self.score.0],
            values: vec![0.0; max_param_count(&data.media, self.problem.model)],
            out: vec![0.0; self.problem.objectives.len()],
            lift_buf: mmm_core::calibration::LiftBuffers::new(data.n_obs()),
        }
    }

    /// Scores one candidate into `s.out` (allocation-free).
    fn evaluate(&self, s: &mut FastScratch, u: &[f64]) -> bool {
        let p = self.problem;
        set_candidate(
            p.params,
            u,
            &mut s.media,
            &mut s.transformed,
            &mut s.model,
            &mut s.values,
            &mut s.ws,
        );
        let n_fit = self.n_fit;
        let q = self.z.len();
        let pm = s.media.len();
        let k = q + pm;
        for (j, t) in s.transformed.iter().enumerate() {
            s.m_sum[j] = match &self.weights {
                None => sum(&t[..n_fit]),
                Some(w) => dot(w, &t[..n_fit]),
            };
            s.m_mean[j] = if self.has_intercept {
                s.m_sum[j] / n_fit as f64
            } else {
                0.0
            };
        }
        s.g[..q].copy_from_slice(&self.zy);
        for a in 0..q {
            for b in 0..q {
                s.h[a + b * k] = self.zz[a + b * q];
            }
        }
        for j in 0..pm {
            let m = &s.transformed[j][..n_fit];
            for i in 0..q {
                let v = dot(m, &self.z_centered[i]);
                s.h[(q + j) + i * k] = v;
                s.h[i + (q + j) * k] = v;
            }
            let wm: &[f64] = match &self.weights {
                None => m,
                Some(w) => {
                    for ((o, a), b) in s.wm.iter_mut().zip(m).zip(w) {
                        *o = a * b;
                    }
                    &s.wm
                }
            };
            for l in 0..=j {
                let ml = &s.transformed[l][..n_fit];
                let v = dot(wm, ml) - n_fit as f64 * s.m_mean[j] * s.m_mean[l];
                s.h[(q + j) + (q + l) * k] = v;
                s.h[(q + l) + (q + j) * k] = v;
            }
            s.g[q + j] = dot(m, &self.y_centered);
        }
        let mut sys = mmm_core::gram::GramSystem {
            h: &mut s.h,
            g: &mut s.g,
            k,
            n: n_fit,
            roles: &self.roles,
        };
        match s.model.fit_gram(&mut sys, &mut s.beta, &mut s.gws) {
            Some(Ok(())) => {}
            _ => return false,
        }
        let b = &s.beta;
        let mut b0 = 0.0;
        if self.has_intercept {
            b0 = self.y_mean;
            for i in 0..q {
                b0 -= self.z_mean[i] * b[i];
            }
            for j in 0..pm {
                b0 -= s.m_mean[j] * b[q + j];
            }
        }
        let (start, end) = self.score;
        // predictions over the scored window, column by column (contiguous, vectorizable)
        let yh = &mut s.yh[..end - start];
        yh.fill(b0);
        for i in 0..q {
            let (col, bi) = (&self.z[i][start..end], b[i]);
            for (o, v) in yh.iter_mut().zip(col) {
                *o += v * bi;
            }
        }
        for j in 0..pm {
            let (col, bj) = (&s.transformed[j][start..end], b[q + j]);
            for (o, v) in yh.iter_mut().zip(col) {
                *o += v * bj;
            }
        }
        let (mut ssr, mut sae, mut sape) = (0.0, 0.0, 0.0);
        let y = &p.data.y[start..end];
        let needs_ape = p.objectives.contains(&Objective::Mape);
        match &self.weights {
            None => {
                for (yt, yht) in y.iter().zip(yh.iter()) {
                    let e = yt - yht;
                    ssr += e * e;
                    sae += e.abs();
                }
                if needs_ape {
                    for ((yt, yht), inv) in y.iter().zip(yh.iter()).zip(&self.inv_y_score) {
                        sape += ((yt - yht) * inv).abs();
                    }
                }
            }
            Some(w) => {
                let w = &w[start..end];
                for ((yt, yht), wt) in y.iter().zip(yh.iter()).zip(w) {
                    let e = yt - yht;
                    ssr += wt * e * e;
                    sae += wt * e.abs();
                }
                if needs_ape {
                    for (((yt, yht), inv), wt) in
                        y.iter().zip(yh.iter()).zip(&self.inv_y_score).zip(w)
                    {
                        sape += wt * ((yt - yht) * inv).abs();
                    }
                }
            }
        }
        let (sst, nape) = (self.sst_score, self.nape_score);
        let nn = (end - start) as f64;
        let rmse = (ssr / nn).sqrt();
        let (mut tc, mut ts) = (0.0, 0.0);
        for j in 0..pm {
            tc += b[q + j] * s.m_sum[j];
            ts += self.spend_fit[j];
        }
        let mut rssd = 0.0;
        for j in 0..pm {
            let c = b[q + j] * s.m_sum[j];
            rssd += (c / tc - self.spend_fit[j] / ts).powi(2);
        }
        let rssd = rssd.sqrt();
        // MAPE.LIFT: Σ_k |b_k·D_k − L_k| / |L_k| / K, D_k from the candidate's chain
        let mut mape_lift = f64::INFINITY;
        let tests = p.data.calibration.as_slice();
        if !tests.is_empty() && p.objectives.contains(&Objective::MapeLift) {
            let mut ape = 0.0;
            for t in tests {
                let m = &s.media[t.channel];
                let lift = t.model_lift(
                    &m.chain,
                    b[q + t.channel],
                    &m.spend,
                    1.0,
                    &mut s.ws,
                    &mut s.lift_buf,
                );
                ape += (lift - t.lift).abs() / t.lift.abs();
            }
            mape_lift = ape / tests.len() as f64;
        }
        for (o, obj) in s.out.iter_mut().zip(p.objectives) {
            let v = match obj {
                Objective::R2 => ssr / sst,
                Objective::Rmse => rmse,
                Objective::Nrmse => rmse / self.y_range_score,
                Objective::Mae => sae / nn,
                Objective::Mape => {
                    if nape > 0 {
                        sape / nape as f64
                    } else {
                        f64::INFINITY
                    }
                }
                Objective::DecompRssd => rssd,
                Objective::MapeLift => mape_lift,
            };
            *o = if v.is_finite() { v } else { f64::INFINITY };
        }
        true
    }
}

/// Evaluates `points` one after another on the fast path, on this thread, with one scratch
/// allocated before the loop; returns how many evaluations succeeded, or `None` when the spec
/// has no fast path. For benchmarks that count the inner loop's allocations.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn fast_path_probe(
    spec: &TuningSpec,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &(dyn Model + 'static),
    params: &[SearchParam],
    points: &[Vec<f64>],
    before_loop: &mut dyn FnMut(),
) -> Option<usize> {
    let problem = Problem {
        data,
        causal,
        model,
        params,
        objectives: &spec.objectives,
        split: None,
        seed: 0,
        rows: None,
    };
    let fast = Fast::new(&problem)?;
    let mut s = fast.scratch();
    before_loop();
    Some(points.iter().filter(|u| fast.evaluate(&mut s, u)).count())
}

/// The longest parameter list of any transform or of the model (the size of the buffer that
/// [`set_candidate`] reads and writes parameters through).
pub(crate) fn max_param_count(media: &[mmm_core::model::MediaInput], model: &dyn Model) -> usize {
    media
        .iter()
        .flat_map(|m| m.chain.0.iter().map(|t| t.params().len()))
        .chain(std::iter::once(model.params().len()))
        .max()
        .unwrap_or(0)
}

/// Sets a unit-cube candidate's parameter values on the channels' chains and the model, and
/// re-transforms the channels whose parameters changed (learning on the full series), without
/// allocating. `values` needs room for the largest parameter list.
pub(crate) fn set_candidate(
    params: &[SearchParam],
    u: &[f64],
    media: &mut [mmm_core::model::MediaInput],
    transformed: &mut [Vec<f64>],
    model: &mut Box<dyn Model>,
    values: &mut [f64],
    ws: &mut ChainWorkspace,
) {
    let mut touched = [false; 64];
    for (p, &ui) in params.iter().zip(u) {
        let v = p.value_at(ui.clamp(0.0, 1.0));
        match p.target {
            Target::Transform {
                channel,
                transform,
                index,
            } => {
                let t = &mut media[channel].chain.0[transform];
                let k = t.params().len();
                t.get_params(&mut values[..k]);
                values[index] = v;
                t.set_params(&values[..k]);
                if channel < 64 {
                    touched[channel] = true;
                }
            }
            Target::Model { index } => {
                let k = model.params().len();
                model.get_params(&mut values[..k]);
                values[index] = v;
                model.set_params(&values[..k]);
            }
            Target::Unresolved => {}
        }
    }
    for (c, m) in media.iter_mut().enumerate() {
        if c >= 64 || touched[c] {
            m.chain.learn_apply(&m.spend, &mut transformed[c], ws);
        }
    }
}

/// Indices of the non-dominated rows (all objectives minimized), ascending.
///
/// Rows are visited in lexicographic order of their objectives; a row can then only be
/// dominated by a row visited before it, so comparing against the front found so far suffices:
/// `O(n log n + n·|front|)`.
pub fn pareto_front(scores: &[Vec<f64>]) -> Vec<usize> {
    let dominates = |a: &[f64], b: &[f64]| {
        a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
    };
    let mut order: Vec<usize> = (0..scores.len())
        .filter(|&i| scores[i].iter().all(|v| v.is_finite()))
        .collect();
    order.sort_by(|&a, &b| {
        scores[a]
            .iter()
            .zip(&scores[b])
            .map(|(x, y)| x.total_cmp(y))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let mut front: Vec<usize> = Vec::new();
    for i in order {
        if !front.iter().any(|&j| dominates(&scores[j], &scores[i])) {
            front.push(i);
        }
    }
    front.sort_unstable();
    front
}

/// Runs the search and returns the result with the chosen parameter values.
pub fn tune(
    spec: &TuningSpec,
    validation: Option<&ValidationSpec>,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &(dyn Model + 'static),
    params: &[SearchParam],
    seed: u64,
) -> Result<TuningResult> {
    tune_with(spec, validation, data, causal, model, params, seed, true)
}

/// [`tune`], with the allocation-free fast path allowed or not (tests compare both).
#[allow(clippy::too_many_arguments)]
pub fn tune_with(
    spec: &TuningSpec,
    validation: Option<&ValidationSpec>,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &(dyn Model + 'static),
    params: &[SearchParam],
    seed: u64,
    allow_fast_path: bool,
) -> Result<TuningResult> {
    search(
        spec,
        validation,
        data,
        causal,
        model,
        params,
        seed,
        allow_fast_path,
        true,
        None,
    )
}

/// [`tune_with`] on a resample of periods: every candidate transforms the whole series, then is
/// fitted and scored on the periods `rows` only (a period listed twice counts twice), as the
/// bootstrap over the search does (`tuning.uncertainty`, `resample: "periods"`):
///
/// ```text
/// objective(θ) = score of the fit of y_r on x_r(θ), r ∈ rows,  x(θ) = the chain on all periods
/// ```
///
/// In sample, the fast path uses frequency weights `w_t = #{r ∈ rows : r = t}`; tests compare
/// it with the general path, which fits the selected rows.
#[allow(clippy::too_many_arguments)]
pub fn tune_on_rows(
    spec: &TuningSpec,
    validation: Option<&ValidationSpec>,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &(dyn Model + 'static),
    params: &[SearchParam],
    seed: u64,
    allow_fast_path: bool,
    rows: &[usize],
) -> Result<TuningResult> {
    search(
        spec,
        validation,
        data,
        causal,
        model,
        params,
        seed,
        allow_fast_path,
        false,
        Some(rows),
    )
}

/// The windows the objectives are scored on: `None` for in sample, else `(n_fit, n_score)`,
/// fit on the first `n_fit` periods and scored on the next `n_score` (one per fold).
fn score_windows(
    on: ScoreOn,
    validation: Option<&ValidationSpec>,
    n: usize,
) -> Result<Vec<Option<(usize, usize)>>> {
    match (on, validation) {
        (ScoreOn::InSample, _) => Ok(vec![None]),
        (ScoreOn::Validation, Some(v)) => {
            let (n_train, _) = v.windows(n);
            Ok(vec![Some((n_train, n - n_train))])
        }
        (ScoreOn::Folds, Some(v)) if v.folds.is_some() => {
            let (_, folds) = v.windows(n);
            if folds.is_empty() {
                return Err(MmmError::param(
                    "/on",
                    format!(
                        "scoring on 'folds' needs at least one rolling-origin fold; the \
                         validation section's test periods ({}) leave none with two training \
                         periods",
                        v.n_test(n)
                    ),
                ));
            }
            Ok(folds.into_iter().map(Some).collect())
        }
        // pointers here are relative to the tuning section (the caller prefixes `/tuning`)
        (ScoreOn::Folds, _) => Err(MmmError::param(
            "/on",
            "scoring on 'folds' needs a 'validation' section with 'folds', e.g. \
             \"validation\": {\"test_fraction\": 0.2, \"folds\": 4}",
        )),
        (ScoreOn::Validation, None) => Err(MmmError::param(
            "/on",
            "scoring on 'validation' needs a 'validation' section in the spec",
        )),
    }
}

/// The search itself; `show_progress: false` keeps its bar hidden (the bootstrap over the
/// search shows one bar for all its resamples). With `rows`, every candidate is fitted and
/// scored on those periods only (a bootstrap resample of periods, see
/// [`crate::tuning_bootstrap`]), on the general path.
#[allow(clippy::too_many_arguments)]
pub(crate) fn search(
    spec: &TuningSpec,
    validation: Option<&ValidationSpec>,
    data: &ModelData,
    causal: &dyn CausalStructure,
    model: &(dyn Model + 'static),
    params: &[SearchParam],
    seed: u64,
    allow_fast_path: bool,
    show_progress: bool,
    rows: Option<&[usize]>,
) -> Result<TuningResult> {
    let on = spec.on.unwrap_or(if validation.is_some() {
        ScoreOn::Validation
    } else {
        ScoreOn::InSample
    });
    let windows = score_windows(on, validation, rows.map_or(data.n_obs(), <[usize]>::len))?;
    if params.is_empty() {
        return Err(MmmError::param("", "tuning needs at least one parameter given as a search range, e.g. \"decay\": {\"range\": [0.0, 0.8]}"));
    }
    let problems: Vec<Problem<'_>> = windows
        .iter()
        .map(|&split| Problem {
            data,
            causal,
            model,
            params,
            objectives: &spec.objectives,
            split,
            seed,
            rows,
        })
        .collect();
    let fast: Option<Vec<Fast<'_>>> = if allow_fast_path {
        problems.iter().map(Fast::new).collect()
    } else {
        None
    };
    let budget = spec.evaluations as usize;
    let pb = if show_progress {
        mmm_core::progress::bar(budget as u64, "tuning")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let k = spec.objectives.len();
    let folds = problems.len() as f64;
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(budget.min(1 << 16));
    let mut scores: Vec<Vec<f64>> = Vec::with_capacity(budget.min(1 << 16));
    {
        let mut evaluate = |batch: &[Vec<f64>]| -> Vec<Vec<f64>> {
            let room = budget.saturating_sub(points.len());
            let batch = &batch[..batch.len().min(room)];
            let out: Vec<Vec<f64>> = match &fast {
                Some(fs) => {
                    // workers write into one flat buffer (no allocation per evaluation, and none
                    // freed across threads); rows are split off on this thread
                    let mut flat = vec![f64::INFINITY; batch.len() * k];
                    // fixed chunks of candidates, one scratch each: results land by position,
                    // so they do not depend on how rayon schedules the chunks
                    const CHUNK: usize = 512;
                    flat.par_chunks_mut(k * CHUNK)
                        .zip(batch.par_chunks(CHUNK))
                        .for_each(|(o, us)| {
                            let mut ss: Vec<FastScratch> = fs.iter().map(Fast::scratch).collect();
                            for (o, u) in o.chunks_mut(k).zip(us) {
                                // the mean over the windows (one window but for folds)
                                let mut ok = true;
                                o.fill(0.0);
                                for (f, s) in fs.iter().zip(ss.iter_mut()) {
                                    if !f.evaluate(s, u) {
                                        ok = false;
                                        break;
                                    }
                                    for (a, v) in o.iter_mut().zip(&s.out) {
                                        *a += v;
                                    }
                                }
                                if ok {
                                    o.iter_mut().for_each(|a| *a /= folds);
                                } else {
                                    o.fill(f64::INFINITY);
                                }
                            }
                        });
                    flat.chunks(k).map(<[f64]>::to_vec).collect()
                }
                None => batch
                    .par_iter()
                    .with_min_len(8)
                    .map_init(
                        || problems.iter().map(Problem::scratch).collect::<Vec<_>>(),
                        |ss, u| {
                            let mut acc = vec![0.0; k];
                            for (p, s) in problems.iter().zip(ss.iter_mut()) {
                                for (a, v) in acc.iter_mut().zip(p.evaluate(s, u)) {
                                    *a += v;
                                }
                            }
                            acc.iter().map(|a| a / folds).collect()
                        },
                    )
                    .collect(),
            };
            points.extend(batch.iter().cloned());
            scores.extend(out.iter().cloned());
            pb.inc(batch.len() as u64);
            out
        };
        spec.strategy
            .search(params.len(), budget, seed, &mut evaluate)?;
    }
    pb.finish_and_clear();
    let problem = &problems[0];

    let names: Vec<String> = spec
        .objectives
        .iter()
        .map(|o| objective_name(*o).to_string())
        .collect();
    let to_eval = |i: usize| Evaluation {
        parameters: params
            .iter()
            .zip(&points[i])
            .map(|(p, u)| (p.pointer.clone(), p.value_at(u.clamp(0.0, 1.0))))
            .collect(),
        objectives: names
            .iter()
            .cloned()
            .zip(scores[i].iter().copied())
            .collect(),
    };
    let mut front = pareto_front(&scores);
    if front.is_empty() {
        return Err(all_failed(problem, params, &points));
    }
    front.sort_by(|&a, &b| scores[a][0].total_cmp(&scores[b][0]).then(a.cmp(&b)));
    // scale each objective to [0, 1] over the front; pick the point closest to the origin
    let k = names.len();
    let (lo, hi): (Vec<f64>, Vec<f64>) = (0..k)
        .map(|j| {
            front
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &i| {
                    (l.min(scores[i][j]), h.max(scores[i][j]))
                })
        })
        .unzip();
    let dist = |i: usize| -> f64 {
        (0..k)
            .map(|j| {
                let r = hi[j] - lo[j];
                if r > 0.0 {
                    ((scores[i][j] - lo[j]) / r).powi(2)
                } else {
                    0.0
                }
            })
            .sum()
    };
    let best = front
        .iter()
        .copied()
        .min_by(|&a, &b| dist(a).total_cmp(&dist(b)).then(a.cmp(&b)))
        .unwrap_or(front[0]);
    let failed = scores
        .iter()
        .filter(|s| s.iter().any(|v| !v.is_finite()))
        .count();
    let best_unit = points[best].iter().map(|u| u.clamp(0.0, 1.0)).collect();
    Ok(TuningResult {
        strategy: spec.strategy.typetag_name().to_string(),
        evaluations: points.len(),
        failed,
        objectives: names.clone(),
        on,
        search_space: params.to_vec(),
        best: to_eval(best),
        pareto: front.iter().map(|&i| to_eval(i)).collect(),
        history_parameters: points
            .iter()
            .map(|u| {
                params
                    .iter()
                    .zip(u)
                    .map(|(p, v)| p.value_at(v.clamp(0.0, 1.0)))
                    .collect()
            })
            .collect(),
        history: scores,
        best_unit,
        intervals: INTERVALS_CONDITIONAL,
        uncertainty: None,
    })
}

/// The error when every evaluation failed: the search ranges the user gave admit no model that
/// can be fitted (exit 2). Names the first candidate and why it failed (re-evaluated on the
/// general path, which keeps the error).
fn all_failed(problem: &Problem<'_>, params: &[SearchParam], points: &[Vec<f64>]) -> MmmError {
    let first = points.first().map(|u| {
        let at = params
            .iter()
            .zip(u)
            .map(|(p, u)| format!("{} = {}", p.pointer, p.value_at(u.clamp(0.0, 1.0))))
            .collect::<Vec<_>>()
            .join(", ");
        let why = match problem.try_evaluate(&mut problem.scratch(), u) {
            Err(e) => e.to_string(),
            Ok(v) => format!("objectives {v:?} are not finite"),
        };
        format!("; the first, at {at}, failed with: {why}")
    });
    MmmError::param(
        "",
        format!(
            "all {} tuning evaluations failed: no candidate of the search ranges ({}) gives a \
             model that can be fitted{}",
            points.len(),
            params
                .iter()
                .map(|p| p.pointer.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            first.unwrap_or_default()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::pareto_front;

    #[test]
    fn front_matches_brute_force() {
        let mut state = 7u64;
        let mut rnd = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((state >> 40) % 50) as f64
        };
        let scores: Vec<Vec<f64>> = (0..400).map(|_| vec![rnd(), rnd(), rnd()]).collect();
        let dominates = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
        };
        let brute: Vec<usize> = (0..scores.len())
            .filter(|&i| !(0..scores.len()).any(|j| dominates(&scores[j], &scores[i])))
            .collect();
        assert_eq!(pareto_front(&scores), brute);
    }
}
