//! Runs an experiment: spec and data in, results out. Names no plugin; the causal structure,
//! model, transforms and optimizer all come from the spec through the registry.

use crate::output::{ensure_dir, write_atomic};
use crate::response::{sample_curves, sample_posterior_curves, ChannelCurves, PosteriorCurves};
use mmm_core::causal::{CausalEstimate, CausalInput, CausalStructure};
use mmm_core::dataset::ModelData;
use mmm_core::error::{MmmError, Result};
use mmm_core::interval::hdi;
use mmm_core::metrics::fit_metrics;
use mmm_core::model::{Posterior, Role};
use mmm_data::dataset::FromSpec;

/// Posterior draws (evenly thinned) behind the optimizer's curves for a Bayesian model.
pub const POSTERIOR_CURVE_DRAWS: usize = 200;
use crate::results::{ChannelResult, CoefficientResult, DataSummary, ModelSummary, Results};
use mmm_data::spec::{LoadedSpec, SCHEMA_VERSION};
use std::path::{Path, PathBuf};

/// The response curves a run's mROI and optimizer work on: the posterior's for a Bayesian
/// model, the point estimate's otherwise.
enum FittedCurves {
    Posterior(PosteriorCurves),
    Point(ChannelCurves),
}

/// The causal structure used when the spec names none.
pub const DEFAULT_CAUSAL: &str = r#"{"type":"direct"}"#;

/// What a run produces.
#[derive(Debug, Clone)]
pub struct RunOutput {
    /// The results.
    pub results: Results,
    /// The per-period decomposition as CSV text.
    pub decomposition_csv: String,
    /// Posterior draws as CSV text (one row per chain and draw), for Bayesian models.
    pub draws_csv: Option<String>,
    /// The causal estimate (stages, effects), for further analysis.
    pub estimate: CausalEstimate,
    /// The data as used.
    pub data: ModelData,
    /// The saved model as `model.json` text (see [`crate::saved_model`]).
    pub model_json: String,
}

/// The spec's causal structure, or the default.
pub fn causal_of(loaded: &LoadedSpec) -> Result<Box<dyn CausalStructure>> {
    match &loaded.spec.causal {
        Some(c) => Ok(c.clone()),
        None => serde_json::from_str(DEFAULT_CAUSAL).map_err(|e| {
            MmmError::Compute(format!(
                "the default causal structure is not registered: {e}"
            ))
        }),
    }
}

/// Runs the spec's tuning, returning the spec refitted at the chosen parameters.
fn tune_spec(loaded: &LoadedSpec) -> Result<(LoadedSpec, Option<crate::tuning::TuningResult>)> {
    let Some(t) = &loaded.spec.tuning else {
        return Ok((loaded.clone(), None));
    };
    let data = ModelData::from_spec(loaded)?;
    check_window(loaded, &data)?;
    let causal = causal_of(loaded)?;
    check_geo(loaded, &data, causal.as_ref())?;
    let seed = t.seed.unwrap_or(loaded.spec.seed);
    let result = crate::tuning::tune(
        t,
        loaded.spec.validation.as_ref(),
        &data,
        causal.as_ref(),
        loaded.spec.model.as_ref(),
        &loaded.search,
        seed,
    )
    .map_err(|e| e.at("/tuning"))?;
    let (mut raw, _, _) = mmm_core::search::extract_ranges(&loaded.raw);
    for (pointer, value) in &result.best.parameters {
        if let Some(v) = raw.pointer_mut(pointer) {
            *v = serde_json::json!(value);
        }
    }
    if let Some(o) = raw.as_object_mut() {
        o.remove("tuning");
    }
    let spec = mmm_data::spec::parse_spec(&raw, &loaded.file)?;
    let tuned = LoadedSpec {
        spec,
        raw,
        file: loaded.file.clone(),
        dir: loaded.dir.clone(),
        search: vec![],
    };
    Ok((tuned, Some(result)))
}

/// Replaces the channels' ROI, contribution, share and mROI intervals by the bootstrap's over
/// the search, keeping the conditional ROI interval in the bootstrap's section.
fn with_search_intervals(
    mut u: crate::tuning_bootstrap::UncertaintyResult,
    channels: &mut [ChannelResult],
) -> crate::tuning_bootstrap::UncertaintyResult {
    for (c, b) in channels.iter_mut().zip(u.channels.iter_mut()) {
        b.conditional_roi_ci_low = c.roi_ci_low;
        b.conditional_roi_ci_high = c.roi_ci_high;
        (c.roi_ci_low, c.roi_ci_high) = (Some(b.roi.low), Some(b.roi.high));
        (c.contribution_ci_low, c.contribution_ci_high) =
            (Some(b.contribution.low), Some(b.contribution.high));
        (c.share_ci_low, c.share_ci_high) = (Some(b.share.low), Some(b.share.high));
        (c.mroi_ci_low, c.mroi_ci_high) = (Some(b.mroi.low), Some(b.mroi.high));
    }
    u
}

/// Fits the experiment (after tuning, when the spec asks for it) and computes its results.
pub fn run(loaded: &LoadedSpec) -> Result<RunOutput> {
    let (tuned, mut tuning) = tune_spec(loaded)?;
    let search_space = &loaded.search;
    let tuning_spec = loaded.spec.tuning.as_ref();
    let tuning_raw = loaded.raw.get("tuning").cloned();
    let loaded = &tuned;
    let data = ModelData::from_spec(loaded)?;
    check_window(loaded, &data)?;
    let causal = causal_of(loaded)?;
    causal.validate(&loaded.spec).map_err(|e| e.at("/causal"))?;
    check_geo(loaded, &data, causal.as_ref())?;
    let input = CausalInput {
        data: &data,
        model: loaded.spec.model.as_ref(),
        seed: loaded.spec.seed,
    };
    let estimate = causal.estimate(&input)?;
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    let fitted = &stage.fitted;
    let posterior = fitted.posterior();
    let mut reported_parameters = fitted.parameters.clone();
    if let Some(o) = reported_parameters.as_object_mut() {
        o.remove(mmm_core::model::POSTERIOR_KEY);
    }

    let fit = fit_metrics(&stage.y, &fitted.fitted, fitted.coefficients.len());
    let vif = fitted.column_statistics.get("vif");
    let coefficients: Vec<CoefficientResult> = fitted
        .coefficients
        .iter()
        .enumerate()
        .map(|(j, c)| CoefficientResult {
            name: c.name.clone(),
            role: c.role,
            estimate: c.estimate,
            std_error: c.std_error,
            t_value: c.t_value,
            p_value: c.p_value,
            ci_low: c.ci_low,
            ci_high: c.ci_high,
            vif: vif
                .and_then(|v| v.get(j).copied())
                .filter(|v| v.is_finite()),
        })
        .collect();

    let mut channels = Vec::new();
    for e in &estimate.effects {
        let mass: f64 = data.transformed[e.channel].iter().sum();
        let spend: f64 = data.media[e.channel].spend.iter().sum();
        let draws = posterior
            .as_ref()
            .and_then(|p| p.media.iter().find(|m| m.channel == e.channel));
        let (contribution, ci) = match draws {
            // sampled transforms: contributions per draw, not coefficient × fixed mass
            Some(d) if !d.contribution.is_empty() => (
                d.contribution.iter().sum::<f64>() / d.contribution.len() as f64,
                // one draw (a penalized geo fit's point estimate): no interval
                (d.contribution.len() > 1).then(|| hdi(&d.contribution, estimate.interval_level)),
            ),
            _ => match &e.credit {
                Some(c) => (
                    e.contribution(&data.transformed[e.channel]),
                    c.contribution_interval,
                ),
                None => (
                    e.contribution(&data.transformed[e.channel]),
                    e.total_coefficient_interval
                        .map(|(lo, hi)| scale(lo, hi, mass)),
                ),
            },
        };
        let is_mediator = e.credit.is_some();
        let per_spend = |coef: Option<f64>| coef.filter(|_| !is_mediator).map(|c| c * mass / spend);
        let per_spend_ci = |ci: Option<(f64, f64)>| {
            ci.filter(|_| !is_mediator)
                .map(|(lo, hi)| scale(lo, hi, mass / spend))
        };
        let total_effect_ci = e
            .total_coefficient_interval
            .filter(|_| is_mediator)
            .map(|(lo, hi)| scale(lo, hi, mass));
        let (direct_ci, indirect_ci) = (
            per_spend_ci(e.direct_interval),
            per_spend_ci(e.indirect_interval),
        );
        channels.push(ChannelResult {
            name: data.media[e.channel].name.clone(),
            spend,
            contribution,
            contribution_ci_low: ci.map(|c| c.0),
            contribution_ci_high: ci.map(|c| c.1),
            share: 0.0,
            share_ci_low: None,
            share_ci_high: None,
            roi: contribution / spend,
            roi_ci_low: ci.map(|c| c.0 / spend),
            roi_ci_high: ci.map(|c| c.1 / spend),
            mroi: f64::NAN,
            mroi_ci_low: None,
            mroi_ci_high: None,
            breakeven_spend: None,
            direct_coefficient: e.direct_coefficient,
            indirect_coefficient: e.indirect_coefficient,
            direct_contribution: e
                .direct_coefficient
                .filter(|_| !is_mediator)
                .map(|d| d * mass),
            indirect_contribution: e.indirect_coefficient.map(|d| d * mass),
            share_mediated: e
                .indirect_coefficient
                .filter(|_| e.total_coefficient != 0.0)
                .map(|d| d / e.total_coefficient),
            direct_roi: per_spend(e.direct_coefficient),
            direct_roi_ci_low: direct_ci.map(|c| c.0),
            direct_roi_ci_high: direct_ci.map(|c| c.1),
            indirect_roi: per_spend(e.indirect_coefficient),
            indirect_roi_ci_low: indirect_ci.map(|c| c.0),
            indirect_roi_ci_high: indirect_ci.map(|c| c.1),
            induced_contribution: e.credit.as_ref().map(|c| c.induced_contribution),
            total_effect: e
                .credit
                .as_ref()
                .map(|c| contribution + c.induced_contribution),
            total_effect_ci_low: total_effect_ci.map(|c| c.0),
            total_effect_ci_high: total_effect_ci.map(|c| c.1),
            exogenous_spend: None,
            exogenous_roi: None,
            revenue_contribution: None,
            revenue_contribution_ci_low: None,
            revenue_contribution_ci_high: None,
            revenue_roi: None,
            revenue_roi_ci_low: None,
            revenue_roi_ci_high: None,
            cpa: None,
            cpa_ci_low: None,
            cpa_ci_high: None,
            kpis: data
                .kpis
                .get(e.channel)
                .and_then(|k| k.as_ref())
                .map(|k| k.totals()),
        });
    }
    let total: f64 = channels.iter().map(|c| c.contribution).sum();
    for c in &mut channels {
        c.share = if total != 0.0 {
            c.contribution / total
        } else {
            0.0
        };
    }
    if let Some(intervals) = posterior
        .as_ref()
        .and_then(|p| share_intervals(p, &estimate, estimate.interval_level))
    {
        for (c, interval) in channels.iter_mut().zip(intervals) {
            (c.share_ci_low, c.share_ci_high) = interval.unzip();
        }
    }

    let revenue_per_kpi = match &loaded.spec.data.revenue_per_kpi {
        Some(rpk) => Some(value_in_money(
            rpk,
            &data,
            &estimate,
            posterior.as_ref(),
            &mut channels,
        )?),
        None => None,
    };

    let validation = match &loaded.spec.validation {
        Some(v) => Some(crate::validation::validate(
            v,
            &data,
            causal.as_ref(),
            loaded.spec.model.as_ref(),
            loaded.spec.seed,
        )?),
        None => None,
    };
    // a Bayesian model's curves, mROI and optimizer work on the posterior: posterior-mean
    // response with credible intervals, and the lift's credible interval from the draws;
    // the point-estimate curves are built only when there is no posterior
    let posterior_curves = posterior
        .as_ref()
        .and_then(|p| PosteriorCurves::new(&data, &estimate, p, POSTERIOR_CURVE_DRAWS));
    let curves = match posterior_curves {
        Some(pc) => FittedCurves::Posterior(pc),
        None => FittedCurves::Point(ChannelCurves::new(&data, &estimate)),
    };
    let response_curves = match &curves {
        FittedCurves::Posterior(pc) => sample_posterior_curves(pc, 41, estimate.interval_level),
        FittedCurves::Point(c) => sample_curves(c, 41),
    };
    for ((c, rc), e) in channels
        .iter_mut()
        .zip(&response_curves)
        .zip(&estimate.effects)
    {
        if e.credit.is_some() {
            // the mediator's curve is over its exogenous spend (see `ChannelCurves::new`)
            let exogenous = rc.current_spend * data.n_obs() as f64;
            c.exogenous_spend = Some(exogenous);
            c.exogenous_roi = (exogenous > 0.0).then(|| c.contribution / exogenous);
        }
        c.mroi = rc.mroi;
        c.mroi_ci_low = rc.mroi_low;
        c.mroi_ci_high = rc.mroi_high;
        c.breakeven_spend = rc.breakeven_spend;
    }
    if let (Some(t), Some(result)) = (tuning_spec, tuning.as_mut()) {
        if t.uncertainty.is_some() {
            let u = crate::tuning_bootstrap::bootstrap(&crate::tuning_bootstrap::BootstrapInput {
                tuning: t,
                validation: loaded.spec.validation.as_ref(),
                data: &data,
                estimate: &estimate,
                causal: causal.as_ref(),
                model: loaded.spec.model.as_ref(),
                params: search_space,
                tuned: search_space
                    .iter()
                    .zip(&result.best_unit)
                    .map(|(p, u)| p.value_at(*u))
                    .collect(),
                seed: t.seed.unwrap_or(loaded.spec.seed),
            })?;
            result.uncertainty = Some(with_search_intervals(u, &mut channels));
            result.intervals = crate::tuning::INTERVALS_BOOTSTRAP;
        }
    }
    let optimization = match &loaded.spec.optimizer {
        Some(o) => Some(optimize_curves(
            o.as_ref(),
            &curves,
            &data,
            &estimate,
            revenue_per_kpi.as_ref(),
        )?),
        None => None,
    };

    let mut optimization = optimization;
    if let Some(r) = optimization.as_mut() {
        note_mediator_lever(r, &data, &estimate, &response_curves);
    }

    let mut warnings = Vec::new();
    if let Some(p) = &posterior {
        warnings.extend(p.warnings.iter().cloned());
    }
    if loaded.spec.model.fits_geos() && data.geos.len() < 2 {
        warnings.push(format!(
            "the model asks for a joint geo fit (model.geo) but the data have {} geo(s): the \
             national series is fitted (with one geo the joint fit is the national fit)",
            data.geos.len()
        ));
    }
    for c in &channels {
        if c.contribution < 0.0 {
            warnings.push(format!(
                "channel '{}' has a negative contribution ({:.4}); consider a model that keeps media coefficients non-negative",
                c.name, c.contribution
            ));
        }
    }
    // a test statistic that cannot be computed (constant or overflowing target) is null
    for key in ["f_statistic", "f_pvalue"] {
        if fitted.statistics.get(key).is_some_and(|v| !v.is_finite()) {
            warnings.push(format!(
                "the model's {key} cannot be computed from these data (a constant or overflowing target?); it is reported as null"
            ));
        }
    }
    for c in &channels {
        if let Some(m) = c.share_mediated.filter(|m| !(0.0..=1.0).contains(m)) {
            warnings.push(format!(
                "channel '{}' has a share mediated of {m:.4}, outside [0, 1]: its direct ({:.4}) and indirect ({:.4}) effects per unit have opposite signs, so direct, indirect and total effects should be read separately",
                c.name,
                c.direct_coefficient.unwrap_or(f64::NAN),
                c.indirect_coefficient.unwrap_or(f64::NAN)
            ));
        }
    }
    warnings.extend(quality_warnings(
        stage,
        &fit,
        &channels,
        posterior.as_ref().is_some_and(|p| p.is_bayesian()),
        tuning.as_ref(),
    ));
    if let Some(v) = vif {
        for (j, col) in stage.design.columns.iter().enumerate() {
            if let Some(x) = v.get(j) {
                if x.is_finite() && *x > 10.0 && col.role != Role::Intercept {
                    warnings.push(format!(
                        "column '{}' has a variance inflation factor of {x:.1} (> 10)",
                        col.name
                    ));
                }
            }
        }
    }

    let calibration = mmm_core::calibration::results(&data, &estimate, posterior.as_ref());
    if let Some(c) = &calibration {
        for t in c.tests.iter().filter(|t| t.z.abs() > 3.0) {
            warnings.push(format!(
                "lift test '{}': the model's lift {:.4} is {:.1} standard errors from the \
                 measured {:.4}{}",
                t.name,
                t.model_lift,
                t.z.abs(),
                t.lift,
                if c.fitted_to_tests {
                    ""
                } else {
                    " (the model is not fitted to the tests: a Bayesian model is, and tuning can \
                     minimize \"mape_lift\")"
                }
            ));
        }
    }

    let geos = posterior
        .as_ref()
        .filter(|p| p.is_geo())
        .map(|p| geo_results(&data, p, estimate.interval_level));
    let decomposition_csv = decomposition_csv(&data, &estimate)?;
    // a posterior's draws; a frequentist geo fit's sampling distribution is not written
    let bayesian = posterior.as_ref().filter(|p| p.is_bayesian());
    let draws_csv = bayesian.map(draws_csv).transpose()?;
    let results = Results {
        schema_version: SCHEMA_VERSION.to_string(),
        name: loaded.spec.name.clone(),
        review: bayesian.and_then(|p| p.diagnostics.get("review").cloned()),
        data: DataSummary {
            path: loaded.spec.data.path.clone(),
            target: data.target_name.clone(),
            n_obs: data.n_obs(),
            frequency: data.frequency,
            start: data
                .dates
                .first()
                .map(|d| d.to_string())
                .unwrap_or_default(),
            end: data.dates.last().map(|d| d.to_string()).unwrap_or_default(),
        },
        data_quality: {
            let d = &loaded.spec.data;
            (d.format != mmm_core::quality::DataFormat::Wide
                || d.cleaning.is_some()
                || d.aggregate.is_some()
                || d.geo.is_some())
            .then(|| (*data.quality).clone())
        },
        model: ModelSummary {
            model_type: loaded.spec.model.typetag_name().to_string(),
            parameters: reported_parameters,
            causal: causal.typetag_name().to_string(),
            statistics: fitted.statistics.clone(),
        },
        fit,
        coefficients,
        channels,
        interval_level: estimate.interval_level,
        response_curves,
        tuning,
        validation,
        calibration,
        optimization,
        posterior: bayesian
            .map(|p| serde_json::json!({"diagnostics": p.diagnostics, "warnings": p.warnings})),
        warnings,
        provenance: Some(crate::results::Provenance {
            tool: "mmm".into(),
            tool_version: crate::saved_model::TOOL_VERSION.into(),
            command: "mmm run".into(),
            seed: loaded.spec.seed,
            inputs: crate::saved_model::input_files(loaded),
            spec_sha256: crate::saved_model::sha256_hex(loaded.raw.to_string().as_bytes()),
            spec: loaded.raw.clone(),
            model_format_version: crate::saved_model::MODEL_FORMAT_VERSION,
        }),
        revenue_per_kpi,
        geos,
    };
    let mut output = RunOutput {
        results,
        decomposition_csv,
        draws_csv,
        estimate,
        data,
        model_json: String::new(),
    };
    let mut saved = crate::saved_model::build(loaded, &output)?;
    saved.contribution_mcse = crate::refresh::contribution_mcse(&output);
    if tuning_spec.is_some() {
        saved.search = search_space.clone();
        saved.tuning = tuning_raw;
    }
    output.model_json = crate::saved_model::to_json(&saved)?;
    Ok(output)
}

/// Values a conversion KPI in money (`data.revenue_per_kpi`): per channel its contribution in
/// money `Σ_t r_t·c_t` — with `c_t` the channel's per-period contribution (the posterior mean's
/// for Bayesian models, else `f(x)_t` up to its coefficient, so that `Σ_t r_t·c_t / Σ_t c_t`
/// does not depend on the coefficient and scales the contribution's interval exactly) — the
/// ROI in money and the cost per acquisition `spend / contribution`. Returns the summary for
/// `results.json` → `revenue_per_kpi`.
fn value_in_money(
    rpk: &mmm_data::spec::RevenuePerKpi,
    data: &ModelData,
    estimate: &CausalEstimate,
    posterior: Option<&Posterior>,
    channels: &mut [ChannelResult],
) -> Result<serde_json::Value> {
    let n = data.n_obs();
    let (r, summary) = match rpk {
        mmm_data::spec::RevenuePerKpi::Value(v) => {
            if !(v.is_finite() && *v > 0.0) {
                return Err(MmmError::param(
                    "/data/revenue_per_kpi",
                    format!("revenue_per_kpi = {v} must be a number in (0, ∞) or a column name"),
                ));
            }
            (vec![*v; n], serde_json::json!({ "value": v }))
        }
        mmm_data::spec::RevenuePerKpi::Column(c) => {
            let v = data.table.numeric(c)?;
            if let Some(row) = v.iter().position(|x| *x < 0.0) {
                return Err(data.table.cell_error(
                    c,
                    row,
                    format!("revenue per KPI unit {} is negative", v[row]),
                ));
            }
            let mean = v.iter().sum::<f64>() / n.max(1) as f64;
            (v, serde_json::json!({ "column": c, "mean": mean }))
        }
    };
    let stage = estimate.outcome_stage();
    let mut total_revenue = 0.0;
    let mut total_spend = 0.0;
    for (c, e) in channels.iter_mut().zip(&estimate.effects) {
        let col = stage.and_then(|s| {
            s.design
                .columns
                .iter()
                .position(|col| col.role == Role::Media && col.channel == Some(e.channel))
        });
        let weights: Vec<f64> = match (posterior, col) {
            (Some(p), Some(j)) if p.column_contributions.get(j).is_some_and(|v| v.len() == n) => {
                p.column_contributions[j].clone()
            }
            _ => data.transformed[e.channel].clone(),
        };
        let wsum: f64 = weights.iter().sum();
        let ratio = if wsum != 0.0 {
            weights.iter().zip(&r).map(|(w, r)| w * r).sum::<f64>() / wsum
        } else {
            r.iter().sum::<f64>() / n.max(1) as f64
        };
        let money = c.contribution * ratio;
        c.revenue_contribution = Some(money);
        c.revenue_contribution_ci_low = c.contribution_ci_low.map(|v| v * ratio);
        c.revenue_contribution_ci_high = c.contribution_ci_high.map(|v| v * ratio);
        c.revenue_roi = (c.spend > 0.0).then(|| money / c.spend);
        c.revenue_roi_ci_low = c.roi_ci_low.map(|v| v * ratio);
        c.revenue_roi_ci_high = c.roi_ci_high.map(|v| v * ratio);
        c.cpa = (c.contribution > 0.0).then(|| c.spend / c.contribution);
        c.cpa_ci_low = c
            .contribution_ci_high
            .filter(|v| *v > 0.0)
            .map(|v| c.spend / v);
        c.cpa_ci_high = c
            .contribution_ci_low
            .filter(|v| *v > 0.0)
            .map(|v| c.spend / v);
        total_revenue += money;
        total_spend += c.spend;
    }
    let mut summary = summary;
    if let Some(o) = summary.as_object_mut() {
        o.insert("media_revenue".into(), serde_json::json!(total_revenue));
        o.insert(
            "media_revenue_roi".into(),
            serde_json::json!((total_spend > 0.0).then(|| total_revenue / total_spend)),
        );
    }
    Ok(summary)
}

/// Runs `optimizer` on the curves of a fitted run (as `mmm run` does for the spec's
/// optimizer): the posterior's curves for a Bayesian model, with the lift's credible interval
/// in `details.posterior_lift`, the point estimate's otherwise.
pub fn optimize(
    output: &RunOutput,
    optimizer: &dyn mmm_core::optimizer::Optimizer,
) -> Result<mmm_core::optimizer::OptimizationResult> {
    let (data, estimate) = (&output.data, &output.estimate);
    let posterior = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?
        .fitted
        .posterior();
    let curves = match posterior
        .as_ref()
        .and_then(|p| PosteriorCurves::new(data, estimate, p, POSTERIOR_CURVE_DRAWS))
    {
        Some(pc) => FittedCurves::Posterior(pc),
        None => FittedCurves::Point(ChannelCurves::new(data, estimate)),
    };
    optimize_curves(
        optimizer,
        &curves,
        data,
        estimate,
        output.results.revenue_per_kpi.as_ref(),
    )
}

/// The optimizer's plan on fitted curves; errors carry the pointer `/optimizer`. With a
/// planning window (`optimizer.window`) the optimizer runs on the window's curves
/// ([`crate::window::WindowCurves`], built from the same fit and, for a Bayesian model, the
/// same draws) and the result gains the window's figures; `revenue_per_kpi` is results.json's
/// `revenue_per_kpi` (for ROAS).
fn optimize_curves(
    o: &dyn mmm_core::optimizer::Optimizer,
    curves: &FittedCurves,
    data: &ModelData,
    estimate: &CausalEstimate,
    revenue_per_kpi: Option<&serde_json::Value>,
) -> Result<mmm_core::optimizer::OptimizationResult> {
    use mmm_core::optimizer::Priced;
    let level = estimate.interval_level;
    let at = |e: MmmError| e.at("/optimizer");
    let with_lift =
        |r: &mut mmm_core::optimizer::OptimizationResult, lift: serde_json::Value| match r
            .details
            .as_object_mut()
        {
            Some(d) => {
                d.insert("posterior_lift".into(), lift);
            }
            None => r.details = serde_json::json!({ "posterior_lift": lift }),
        };
    let plans = |r: &mmm_core::optimizer::OptimizationResult| -> (Vec<f64>, Vec<f64>) {
        (
            r.channels.iter().map(|c| c.current_spend).collect(),
            r.channels.iter().map(|c| c.optimal_spend).collect(),
        )
    };
    if o.geo_allocation() {
        // refused before fitting for anything but a joint geo fit (`check_geo`)
        let FittedCurves::Posterior(pc) = curves else {
            return Err(geo_allocation_refusal());
        };
        if !pc.is_geo() {
            return Err(geo_allocation_refusal());
        }
        let gc = pc.per_geo(data).map_err(at)?;
        let price = planning_revenue_per_kpi(revenue_per_kpi, data, None)?;
        let mut r = o
            .optimize(&Priced {
                curves: &gc,
                revenue_per_kpi: price,
            })
            .map_err(at)?;
        let (current, optimal) = plans(&r);
        let lift = gc.lift(&current, &optimal, level);
        r = gc.fold(r);
        with_lift(&mut r, lift);
        return Ok(r);
    }
    if let Some(w) = o.window() {
        let resolved = w
            .resolve(&data.dates, data.frequency, "/window")
            .map_err(at)?;
        let pc = match curves {
            FittedCurves::Posterior(pc) => Some(pc),
            FittedCurves::Point(_) => None,
        };
        let mut wc =
            crate::window::WindowCurves::from_fit(data, estimate, pc, resolved).map_err(at)?;
        wc.set_revenue_per_kpi(planning_revenue_per_kpi(
            revenue_per_kpi,
            data,
            Some(wc.window()),
        )?);
        let mut r = o.optimize(&wc).map_err(at)?;
        wc.report(&mut r);
        if pc.is_some() {
            let (current, optimal) = plans(&r);
            let lift = wc.lift(&current, &optimal, level);
            with_lift(&mut r, lift);
        }
        return Ok(r);
    }
    let price = planning_revenue_per_kpi(revenue_per_kpi, data, None)?;
    match curves {
        FittedCurves::Posterior(pc) => {
            let priced = Priced {
                curves: pc,
                revenue_per_kpi: price,
            };
            let mut r = o.optimize(&priced).map_err(at)?;
            let (current, optimal) = plans(&r);
            let lift = pc.lift(&current, &optimal, level);
            with_lift(&mut r, lift);
            Ok(r)
        }
        FittedCurves::Point(c) => o
            .optimize(&Priced {
                curves: c,
                revenue_per_kpi: price,
            })
            .map_err(at),
    }
}

/// The money per KPI unit the optimizers value the KPI at (ROAS, `target_roas`), from
/// results.json's `revenue_per_kpi`: its `value`, or for a column its mean over the planning
/// window's reference window (over the data without a window). `None` without
/// `data.revenue_per_kpi` (the KPI is money).
fn planning_revenue_per_kpi(
    revenue_per_kpi: Option<&serde_json::Value>,
    data: &ModelData,
    window: Option<&mmm_core::window::ResolvedWindow>,
) -> Result<Option<f64>> {
    let Some(r) = revenue_per_kpi else {
        return Ok(None);
    };
    if let Some(v) = r.get("value").and_then(|v| v.as_f64()) {
        return Ok(Some(v));
    }
    match (r.get("column").and_then(|c| c.as_str()), window) {
        (Some(c), Some(w)) => {
            let v = data.table.numeric(c)?;
            let part = &v[w.reference_start..w.reference_start + w.periods];
            Ok(Some(part.iter().sum::<f64>() / part.len().max(1) as f64))
        }
        _ => Ok(r.get("mean").and_then(|v| v.as_f64())),
    }
}

/// Places the optimizer's planning window (if any) on the data's grid, so that a window off the
/// grid or past the data fails before the fit, with the pointer of the field.
pub(crate) fn check_window(loaded: &LoadedSpec, data: &ModelData) -> Result<()> {
    if let Some(w) = loaded.spec.optimizer.as_ref().and_then(|o| o.window()) {
        w.resolve(&data.dates, data.frequency, "/window")
            .map_err(|e| e.at("/optimizer"))?;
    }
    Ok(())
}

/// Whether the run fits a panel's geos jointly: the data have several geos, the model fits geos
/// ([`mmm_core::model::Model::fits_geos`]) and the causal structure is single-stage (a
/// mediated structure fits the national series).
pub fn fits_geos_jointly(
    loaded: &LoadedSpec,
    data: &ModelData,
    causal: &dyn CausalStructure,
) -> bool {
    data.geos.len() > 1 && loaded.spec.model.fits_geos() && causal.is_single_stage()
}

/// Refuses, before any fitting, what a joint geo fit does not offer yet: tuning (unless the
/// model refits the geos per candidate, [`mmm_core::model::Model::tunes_geos`]: a
/// fixed-effects fit; its bootstrap over the search is refused), out-of-sample validation
/// (unless the model predicts held-out periods per geo, [`mmm_core::model::Model::predicts_geos`])
/// and planning windows (per-geo plans over a window are not made yet). The error names the
/// spec path and the way out (`model.geo: "national"`). Also refuses
/// `optimizer.geo_allocation` without a joint geo fit, and checks its bounds' names (channels,
/// `channel / geo` pairs, geos) against the panel.
pub(crate) fn check_geo(
    loaded: &LoadedSpec,
    data: &ModelData,
    causal: &dyn CausalStructure,
) -> Result<()> {
    let optimizer = loaded.spec.optimizer.as_ref();
    let geo_allocation = optimizer.is_some_and(|o| o.geo_allocation());
    if !fits_geos_jointly(loaded, data, causal) {
        return match geo_allocation {
            true => Err(geo_allocation_refusal()),
            false => Ok(()),
        };
    }
    if let Some(o) = optimizer.filter(|_| geo_allocation) {
        // names in the bounds (channels, pairs, geos) fail before the fit
        let pairs =
            crate::geo_allocation::GeoPairs::of_data(data).map_err(|e| e.at("/optimizer"))?;
        o.check_channels(&pairs).map_err(|e| e.at("/optimizer"))?;
    }
    let refuse = |path: &str, what: &str| Err(MmmError::not_for_geo_fit(path, what));
    match &loaded.spec.tuning {
        Some(_) if !loaded.spec.model.tunes_geos() => return refuse("/tuning", "tuning"),
        Some(t) if t.uncertainty.is_some() => {
            return refuse(
                "/tuning/uncertainty",
                "the bootstrap over the search (it resamples national periods)",
            )
        }
        _ => {}
    }
    if loaded.spec.validation.is_some() && !loaded.spec.model.predicts_geos() {
        return refuse("/validation", "out-of-sample validation");
    }
    if loaded
        .spec
        .optimizer
        .as_ref()
        .and_then(|o| o.window())
        .is_some()
    {
        return refuse("/optimizer/window", "a planning window");
    }
    Ok(())
}

/// The error for `optimizer.geo_allocation` on a fit that is not a joint geo fit.
fn geo_allocation_refusal() -> MmmError {
    MmmError::param(
        "/optimizer/geo_allocation",
        "geo_allocation allocates each channel's budget across geos and needs a joint geo fit: \
         a panel (data.geo) fitted by bayesian_mmm with \"geo\": \"hierarchical\" and a \
         single-stage causal structure; remove geo_allocation to plan national budgets",
    )
}

/// The per-period decomposition of the outcome stage: date, actual, predicted, and
/// `β_j·x_tj` for every design column (the parts sum to the prediction for linear models).
pub fn decomposition_csv(data: &ModelData, estimate: &CausalEstimate) -> Result<String> {
    let stage = estimate
        .outcome_stage()
        .ok_or_else(|| MmmError::Compute("the causal structure fitted no stage".into()))?;
    let posterior = stage.fitted.posterior();
    if let Some(p) = posterior.as_ref().filter(|p| p.is_geo()) {
        return geo_decomposition_csv(data, stage, p);
    }
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["date".to_string(), "actual".into(), "predicted".into()];
    let interval = stage.fitted.fitted_interval.as_ref();
    if interval.is_some() {
        header.push("predicted_low".into());
        header.push("predicted_high".into());
    }
    header.extend(stage.design.columns.iter().map(|c| c.name.clone()));
    let csv_err = |e: csv::Error| MmmError::Compute(format!("writing decomposition: {e}"));
    w.write_record(&header).map_err(csv_err)?;
    let beta = stage.fitted.beta();
    let credited = credited_columns(estimate);
    let parts = posterior
        .map(|p| p.column_contributions)
        .filter(|c| c.len() == beta.len());
    for t in 0..data.n_obs() {
        let mut row = vec![
            data.dates[t].to_string(),
            fmt(stage.y[t]),
            fmt(stage.fitted.fitted[t]),
        ];
        if let Some((lo, hi)) = interval {
            row.push(fmt(lo[t]));
            row.push(fmt(hi[t]));
        }
        for (j, b) in beta.iter().enumerate() {
            match (&parts, &credited[j]) {
                (Some(p), _) => row.push(fmt(p[j].get(t).copied().unwrap_or(f64::NAN))),
                (None, Some(Credited::Series(v))) => row.push(fmt(v[t])),
                (None, Some(Credited::Coefficient(m))) => row.push(fmt(m * stage.design.x[(t, j)])),
                (None, None) => row.push(fmt(b * stage.design.x[(t, j)])),
            }
        }
        w.write_record(&row).map_err(csv_err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(format!("writing decomposition: {e}")))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}

/// The decomposition of a joint geo fit: one row per geo × period (geos in panel order), with
/// the geo's actual KPI, its posterior-mean prediction and every design column's posterior-mean
/// contribution in that geo; summed over the geos of a date they give the national figures.
fn geo_decomposition_csv(
    data: &ModelData,
    stage: &mmm_core::causal::Stage,
    posterior: &Posterior,
) -> Result<String> {
    let csv_err = |e: csv::Error| MmmError::Compute(format!("writing decomposition: {e}"));
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec![
        "date".to_string(),
        "geo".into(),
        "actual".into(),
        "predicted".into(),
    ];
    header.extend(stage.design.columns.iter().map(|c| c.name.clone()));
    w.write_record(&header).map_err(csv_err)?;
    for (series, geo) in data.geos.iter().zip(&posterior.geos) {
        for t in 0..data.n_obs() {
            let mut row = vec![
                data.dates[t].to_string(),
                geo.name.clone(),
                fmt(series.y[t]),
                fmt(geo.fitted[t]),
            ];
            row.extend(
                geo.column_contributions
                    .iter()
                    .map(|c| fmt(c.get(t).copied().unwrap_or(f64::NAN))),
            );
            w.write_record(&row).map_err(csv_err)?;
        }
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(format!("writing decomposition: {e}")))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}

/// Per geo of a joint geo fit: its in-sample fit and per channel its spend, contribution and
/// ROI with their intervals at `level` (HDIs over the posterior draws; the geo's share of the
/// national spend is what its ROI divides by).
fn geo_results(
    data: &ModelData,
    posterior: &Posterior,
    level: f64,
) -> Vec<crate::results::GeoResult> {
    data.geos
        .iter()
        .zip(&posterior.geos)
        .enumerate()
        .map(|(g, (series, geo))| {
            let channels = posterior
                .media
                .iter()
                .filter_map(|m| {
                    let draws = &m.geos.get(g)?.contribution;
                    let spend: f64 = series.spend.get(m.channel)?.iter().sum();
                    let mean = draws.iter().sum::<f64>() / draws.len().max(1) as f64;
                    // one draw (a penalized fit's point estimate): no interval
                    let ci = (draws.len() > 1).then(|| hdi(draws, level));
                    let per_spend = |v: f64| (spend > 0.0).then(|| v / spend);
                    Some(crate::results::GeoChannelResult {
                        name: data.media[m.channel].name.clone(),
                        spend,
                        contribution: mean,
                        contribution_ci_low: ci.map(|c| c.0),
                        contribution_ci_high: ci.map(|c| c.1),
                        roi: per_spend(mean),
                        roi_ci_low: ci.and_then(|c| per_spend(c.0)),
                        roi_ci_high: ci.and_then(|c| per_spend(c.1)),
                    })
                })
                .collect();
            crate::results::GeoResult {
                name: series.name.clone(),
                population: series.population,
                kpi: series.y.iter().sum(),
                fit: fit_metrics(&series.y, &geo.fitted, 0),
                channels,
            }
        })
        .collect()
}

/// The fit-quality warnings of [`crate::fit_warnings`]: tuned values at a search bound,
/// Durbin–Watson outside [1.5, 2.5], a negative baseline (intercept plus trend, at the
/// coefficients' point estimates), media above 80% of the KPI, and Bayesian ROI intervals wider
/// than 10 times their mean.
fn quality_warnings(
    stage: &mmm_core::causal::Stage,
    fit: &mmm_core::metrics::FitMetrics,
    channels: &[ChannelResult],
    bayesian: bool,
    tuning: Option<&crate::tuning::TuningResult>,
) -> Vec<String> {
    use crate::fit_warnings as fw;
    let mut out = Vec::new();
    if let Some(t) = tuning {
        let chosen: Vec<(String, f64)> = t
            .best
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        out.extend(fw::tuned_at_bound(&t.search_space, &chosen));
    }
    out.extend(fw::durbin_watson(fit.durbin_watson));
    let beta = stage.fitted.beta();
    let baseline_cols: Vec<usize> = stage
        .design
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| {
            c.role == Role::Intercept || (c.role == Role::Baseline && c.name == "trend")
        })
        .map(|(j, _)| j)
        .collect();
    if !baseline_cols.is_empty() {
        let baseline: Vec<f64> = (0..stage.design.n_obs())
            .map(|t| {
                baseline_cols
                    .iter()
                    .map(|&j| beta[j] * stage.design.x[(t, j)])
                    .sum()
            })
            .collect();
        out.extend(fw::negative_baseline(&baseline));
    }
    let media: f64 = channels.iter().map(|c| c.contribution).sum();
    out.extend(fw::media_share(media, stage.y.iter().sum()));
    if bayesian {
        for c in channels {
            if let (Some(lo), Some(hi)) = (c.roi_ci_low, c.roi_ci_high) {
                out.extend(fw::wide_roi_interval(&c.name, c.roi, lo, hi));
            }
        }
    }
    out
}

/// Says in `details.mediator` of an optimization that a mediator's plan is over its exogenous
/// spend (see `ChannelCurves::set_exogenous_lever`): its name, the lever, and its current
/// observed and exogenous spend per period.
fn note_mediator_lever(
    r: &mut mmm_core::optimizer::OptimizationResult,
    data: &ModelData,
    estimate: &CausalEstimate,
    curves: &[crate::response::ResponseCurve],
) {
    let Some((e, rc)) = estimate
        .effects
        .iter()
        .zip(curves)
        .find(|(e, _)| e.credit.is_some())
    else {
        return;
    };
    let spend = &data.media[e.channel].spend;
    let note = serde_json::json!({
        "channel": data.media[e.channel].name,
        "lever": "exogenous_spend",
        "current_observed_spend": spend.iter().sum::<f64>() / spend.len().max(1) as f64,
        "current_exogenous_spend": rc.current_spend,
        "note": "the mediator's spend in this plan is its exogenous spend; what its drivers induce moves with them (in their total effects)",
    });
    match r.details.as_object_mut() {
        Some(d) => {
            d.insert("mediator".into(), note);
        }
        None => r.details = serde_json::json!({ "mediator": note }),
    }
}

/// What a decomposition column holds when the structure credits effects across columns.
#[derive(Clone, Copy)]
enum Credited<'a> {
    /// The channel's total coefficient times the column (a mediator's driver).
    Coefficient(f64),
    /// A given series (a mediated driver's effect, the mediator's credited effect).
    Series(&'a [f64]),
}

/// Per outcome-stage column, its credited content when the structure has a mediator: a
/// channel's column holds its total effect (a driver's effect series `c_i·f_i(x_i)_t + I_it`,
/// direct plus induced through the mediator, or `m_i·f_i(x_i)_t`), the mediator's column only
/// the rest of its effect; `None` everywhere otherwise (`β_j·x_tj`). Either way the parts sum
/// to the prediction.
fn credited_columns(estimate: &CausalEstimate) -> Vec<Option<Credited<'_>>> {
    let Some(stage) = estimate.outcome_stage() else {
        return vec![];
    };
    let Some(exogenous) = &estimate.mediator_exogenous else {
        return vec![None; stage.design.columns.len()];
    };
    stage
        .design
        .columns
        .iter()
        .map(|c| match (c.role, c.channel) {
            (Role::Mediator, _) => Some(Credited::Series(exogenous)),
            (_, Some(ch)) => {
                estimate
                    .effects
                    .iter()
                    .find(|e| e.channel == ch)
                    .map(|e| match &e.effect {
                        Some(series) => Credited::Series(series),
                        None => Credited::Coefficient(e.total_coefficient),
                    })
            }
            _ => None,
        })
        .collect()
}

/// The interval `[lo·k, hi·k]`, ordered.
fn scale(lo: f64, hi: f64, k: f64) -> (f64, f64) {
    let (a, b) = (lo * k, hi * k);
    (a.min(b), a.max(b))
}

/// Posterior draws as CSV: `chain`, `draw`, then one column per parameter.
fn draws_csv(p: &mmm_core::model::Posterior) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| MmmError::Compute(format!("writing draws: {e}"));
    let mut header = vec!["chain".to_string(), "draw".to_string()];
    header.extend(p.names.iter().cloned());
    w.write_record(&header).map_err(err)?;
    let mut counter = std::collections::BTreeMap::new();
    for (row, chain) in p.draws.iter().zip(&p.chain) {
        let d = counter.entry(*chain).or_insert(0usize);
        let mut rec = vec![chain.to_string(), d.to_string()];
        *d += 1;
        rec.extend(row.iter().map(|v| fmt(*v)));
        w.write_record(&rec).map_err(err)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| MmmError::Compute(format!("writing draws: {e}")))?;
    String::from_utf8(bytes).map_err(|e| MmmError::Compute(e.to_string()))
}

/// Per channel (in the order of `estimate.effects`), the HDI at `level` of its share of the
/// media contribution over the posterior draws, `c_i^(d) / Σ_j c_j^(d)` (draws whose total is 0
/// skipped; `None` for a channel with no such draw); `None` unless every channel has per-draw
/// contributions of one common length.
fn share_intervals(
    posterior: &Posterior,
    estimate: &CausalEstimate,
    level: f64,
) -> Option<Vec<Option<(f64, f64)>>> {
    let per_channel: Vec<&Vec<f64>> = estimate
        .effects
        .iter()
        .map(|e| {
            posterior
                .media
                .iter()
                .find(|m| m.channel == e.channel)
                .map(|m| &m.contribution)
                .filter(|c| !c.is_empty())
        })
        .collect::<Option<_>>()?;
    let n = per_channel.first()?.len();
    if n < 2 || per_channel.iter().any(|c| c.len() != n) {
        return None;
    }
    let totals: Vec<f64> = (0..n)
        .map(|d| per_channel.iter().map(|c| c[d]).sum())
        .collect();
    Some(
        per_channel
            .iter()
            .map(|draws| {
                let shares: Vec<f64> = draws
                    .iter()
                    .zip(&totals)
                    .filter(|(_, t)| **t != 0.0)
                    .map(|(v, t)| v / t)
                    .collect();
                (!shares.is_empty()).then(|| hdi(&shares, level))
            })
            .collect(),
    )
}

fn fmt(v: f64) -> String {
    format!("{v}")
}

/// Writes `results.json`, `decomposition.csv`, `model.json` and (Bayesian models) `draws.csv`
/// into `out_dir` (atomically).
pub fn write_outputs(out_dir: &Path, output: &RunOutput) -> Result<Vec<PathBuf>> {
    ensure_dir(out_dir)?;
    let json = serde_json::to_string_pretty(&output.results)
        .map_err(|e| MmmError::Compute(format!("serializing results: {e}")))?;
    let a = write_atomic(out_dir, "results.json", json.as_bytes())?;
    let b = write_atomic(
        out_dir,
        "decomposition.csv",
        output.decomposition_csv.as_bytes(),
    )?;
    let mut written = vec![a, b];
    written.push(write_atomic(
        out_dir,
        "model.json",
        output.model_json.as_bytes(),
    )?);
    if let Some(d) = &output.draws_csv {
        written.push(write_atomic(out_dir, "draws.csv", d.as_bytes())?);
    }
    if let Some(o) = &output.results.optimization {
        if let Some(w) = &o.window {
            let names: Vec<String> = o.channels.iter().map(|c| c.name.clone()).collect();
            let csv = crate::window::plan_csv(w, &names)?;
            written.push(write_atomic(out_dir, "window_plan.csv", csv.as_bytes())?);
        }
    }
    Ok(written)
}
