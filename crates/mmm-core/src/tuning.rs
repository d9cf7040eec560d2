//! Hyperparameter tuning: a search over the spec's search ranges (see [`crate::search`]) by a
//! registered strategy ([`Tuner`] plugins), scored on one or several objectives, in parallel.
//!
//! Candidates live in the unit cube `[0, 1]^d`; coordinate `k` maps to the `k`-th search range
//! (log-uniformly on a log scale). Strategies propose batches; each batch is evaluated in
//! parallel with rayon and recorded in proposal order, so results do not depend on the number
//! of threads. Every objective is minimized (`r2` is scored as `1 − R²`). With several
//! objectives the result is the Pareto front, and the chosen candidate is the front's point
//! closest to the origin after scaling each objective to [0, 1] over the front (Robyn's
//! default pick).

use crate::causal::{CausalInput, CausalStructure};
use crate::dataset::ModelData;
use crate::error::{MmmError, Result};
use crate::metrics::{decomp_rssd, fit_metrics};
use crate::model::Model;
use crate::search::{SearchParam, Target};
use crate::transform::ChainWorkspace;
use crate::validation::{fit_split, ValidationSpec};
use rayon::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;

/// The plugin kind name of tuning strategies.
pub const KIND: &str = "tuner";

/// A metric to minimize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// `1 − R²`.
    R2,
    /// Root mean squared error.
    Rmse,
    /// RMSE over the range of actuals (Robyn).
    Nrmse,
    /// Mean absolute error.
    Mae,
    /// Mean absolute percentage error.
    Mape,
    /// Robyn's DECOMP.RSSD (effect share vs spend share distance), on the training periods.
    DecompRssd,
}

/// Where objectives are scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreOn {
    /// On the test periods of the spec's `validation` split (DECOMP.RSSD on training periods).
    Validation,
    /// In sample, on all periods.
    InSample,
}

/// The spec's `tuning` section.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TuningSpec {
    /// The search strategy.
    pub strategy: Box<dyn Tuner>,
    /// Number of evaluations (default 1000).
    #[serde(default = "default_evaluations")]
    #[schemars(range(min = 1, max = 10000000))]
    pub evaluations: u32,
    /// Objectives to minimize (default `["nrmse"]`); several give a Pareto front.
    #[serde(default = "default_objectives")]
    #[schemars(length(min = 1))]
    pub objectives: Vec<Objective>,
    /// Where objectives are scored (default: `validation` when the spec has a validation
    /// section, else `in_sample`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<ScoreOn>,
    /// Seed of the search (default: the spec's seed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

fn default_evaluations() -> u32 {
    1000
}
fn default_objectives() -> Vec<Objective> {
    vec![Objective::Nrmse]
}

/// Evaluates batches of unit-cube candidates, returning one objective vector per candidate.
pub type BatchEvaluator<'a> = dyn FnMut(&[Vec<f64>]) -> Vec<Vec<f64>> + 'a;

/// A tuning strategy.
#[typetag::serde(tag = "type")]
pub trait Tuner: Send + Sync + Debug + dyn_clone::DynClone {
    /// Checks the parameters.
    fn validate(&self) -> Result<()>;
    /// Searches `[0, 1]^dim` with at most `budget` evaluations, calling `evaluate` on batches
    /// (a batch is evaluated in parallel; larger batches use the cores better). Deterministic
    /// in `seed`.
    fn search(&self, dim: usize, budget: usize, seed: u64, evaluate: &mut BatchEvaluator<'_>) -> Result<()>;
}

dyn_clone::clone_trait_object!(Tuner);
crate::plugin_kind_schema!(Tuner, KIND, "Tuner");

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
    /// Every evaluation in proposal order (for the SQLite export and plots).
    #[serde(skip)]
    pub history: Vec<Evaluation>,
}

fn objective_name(o: Objective) -> &'static str {
    match o {
        Objective::R2 => "r2",
        Objective::Rmse => "rmse",
        Objective::Nrmse => "nrmse",
        Objective::Mae => "mae",
        Objective::Mape => "mape",
        Objective::DecompRssd => "decomp_rssd",
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
        Scratch { data: self.data.clone(), model: dyn_clone::clone_box(self.model), ws: ChainWorkspace::default(), values: vec![0.0; 16] }
    }

    fn evaluate(&self, s: &mut Scratch, u: &[f64]) -> Vec<f64> {
        self.try_evaluate(s, u).unwrap_or_else(|_| vec![f64::INFINITY; self.objectives.len()])
    }

    fn try_evaluate(&self, s: &mut Scratch, u: &[f64]) -> Result<Vec<f64>> {
        let mut touched = [false; 64];
        for (p, &ui) in self.params.iter().zip(u) {
            let v = p.value_at(ui.clamp(0.0, 1.0));
            match p.target {
                Target::Transform { channel, transform, index } => {
                    let t = &mut s.data.media[channel].chain.0[transform];
                    let k = t.params().len();
                    t.get_params(&mut s.values[..k]);
                    s.values[index] = v;
                    t.set_params(&s.values[..k]);
                    if channel < 64 {
                        touched[channel] = true;
                    }
                }
                Target::Model { index } => {
                    let k = s.model.params().len();
                    s.model.get_params(&mut s.values[..k]);
                    s.values[index] = v;
                    s.model.set_params(&s.values[..k]);
                }
                Target::Unresolved => {}
            }
        }
        for (c, t) in touched.iter().enumerate().take(s.data.media.len()) {
            if *t {
                let m = &mut s.data.media[c];
                m.chain.learn_apply(&m.spend, &mut s.data.transformed[c], &mut s.ws);
            }
        }
        let metrics = match self.split {
            Some((n_train, n_test)) => {
                let (m, _) = fit_split(&s.data, self.causal, s.model.as_ref(), self.seed, n_train, n_test)?;
                (m.test, m.decomp_rssd)
            }
            None => {
                let est = self.causal.estimate(&CausalInput { data: &s.data, model: s.model.as_ref(), seed: self.seed })?;
                let stage = est.outcome_stage().ok_or_else(|| MmmError::Compute("no outcome stage".into()))?;
                let fm = fit_metrics(&stage.y, &stage.fitted.fitted, stage.fitted.coefficients.len());
                let contributions: Vec<f64> = est
                    .effects
                    .iter()
                    .map(|e| e.total_coefficient * s.data.transformed[e.channel].iter().sum::<f64>())
                    .collect();
                let spends: Vec<f64> = est.effects.iter().map(|e| s.data.media[e.channel].spend.iter().sum()).collect();
                (fm, decomp_rssd(&contributions, &spends))
            }
        };
        let (fm, rssd) = metrics;
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
            })
            .map(|v| if v.is_finite() { v } else { f64::INFINITY })
            .collect())
    }
}

/// Indices of the non-dominated rows (all objectives minimized).
pub fn pareto_front(scores: &[Vec<f64>]) -> Vec<usize> {
    let dominates = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y);
    (0..scores.len())
        .filter(|&i| scores[i].iter().all(|v| v.is_finite()))
        .filter(|&i| !(0..scores.len()).any(|j| j != i && dominates(&scores[j], &scores[i])))
        .collect()
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
    let on = spec.on.unwrap_or(if validation.is_some() { ScoreOn::Validation } else { ScoreOn::InSample });
    let split = match (on, validation) {
        (ScoreOn::Validation, Some(v)) => {
            let (n_train, _) = v.windows(data.n_obs());
            Some((n_train, data.n_obs() - n_train))
        }
        (ScoreOn::Validation, None) => {
            return Err(MmmError::param("/tuning/on", "scoring on 'validation' needs a 'validation' section in the spec"))
        }
        (ScoreOn::InSample, _) => None,
    };
    if params.is_empty() {
        return Err(MmmError::param("/tuning", "tuning needs at least one parameter given as a search range, e.g. \"decay\": {\"range\": [0.0, 0.8]}"));
    }
    let problem = Problem { data, causal, model, params, objectives: &spec.objectives, split, seed };
    let budget = spec.evaluations as usize;
    let pb = crate::progress::bar(budget as u64, "tuning");
    let mut points: Vec<Vec<f64>> = Vec::with_capacity(budget);
    let mut scores: Vec<Vec<f64>> = Vec::with_capacity(budget);
    {
        let mut evaluate = |batch: &[Vec<f64>]| -> Vec<Vec<f64>> {
            let room = budget.saturating_sub(points.len());
            let batch = &batch[..batch.len().min(room)];
            let out: Vec<Vec<f64>> = batch
                .par_iter()
                .map_init(|| problem.scratch(), |s, u| problem.evaluate(s, u))
                .collect();
            points.extend(batch.iter().cloned());
            scores.extend(out.iter().cloned());
            pb.inc(batch.len() as u64);
            out
        };
        spec.strategy.search(params.len(), budget, seed, &mut evaluate)?;
    }
    pb.finish_and_clear();

    let names: Vec<String> = spec.objectives.iter().map(|o| objective_name(*o).to_string()).collect();
    let to_eval = |i: usize| Evaluation {
        parameters: params.iter().zip(&points[i]).map(|(p, u)| (p.pointer.clone(), p.value_at(u.clamp(0.0, 1.0)))).collect(),
        objectives: names.iter().cloned().zip(scores[i].iter().copied()).collect(),
    };
    let mut front = pareto_front(&scores);
    if front.is_empty() {
        return Err(MmmError::Compute(format!("all {} tuning evaluations failed", points.len())));
    }
    front.sort_by(|&a, &b| scores[a][0].total_cmp(&scores[b][0]).then(a.cmp(&b)));
    // scale each objective to [0, 1] over the front; pick the point closest to the origin
    let k = names.len();
    let (lo, hi): (Vec<f64>, Vec<f64>) = (0..k)
        .map(|j| {
            front.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &i| (l.min(scores[i][j]), h.max(scores[i][j])))
        })
        .unzip();
    let dist = |i: usize| -> f64 {
        (0..k)
            .map(|j| {
                let r = hi[j] - lo[j];
                if r > 0.0 { ((scores[i][j] - lo[j]) / r).powi(2) } else { 0.0 }
            })
            .sum()
    };
    let best = front
        .iter()
        .copied()
        .min_by(|&a, &b| dist(a).total_cmp(&dist(b)).then(a.cmp(&b)))
        .unwrap_or(front[0]);
    let failed = scores.iter().filter(|s| s.iter().any(|v| !v.is_finite())).count();
    Ok(TuningResult {
        strategy: spec.strategy.typetag_name().to_string(),
        evaluations: points.len(),
        failed,
        objectives: names.clone(),
        on,
        search_space: params.to_vec(),
        best: to_eval(best),
        pareto: front.iter().map(|&i| to_eval(i)).collect(),
        history: (0..points.len()).map(to_eval).collect(),
    })
}
