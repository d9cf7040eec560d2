//! The direct causal structure: every channel drives the target directly, in one stage.
//!
//! This is the structure of Robyn, Meridian, LightweightMMM and PyMC-Marketing's MMM.

use mmm_core::causal::{
    CausalEstimate, CausalInput, CausalStructure, ChannelEffect, ExperimentColumns, Stage, KIND,
};
use mmm_core::model::FitProblem;
use mmm_core::Result;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One stage: target ~ baseline + controls + every channel's transformed spend.
///
/// # Formula
/// ```text
/// y_t = Σ_j β_j·z_tj + Σ_i m_i·f_i(x_i)_t + ε_t
/// contribution_i = m_i·Σ_t f_i(x_i)_t,   ROI_i = contribution_i / Σ_t x_it
/// ```
/// where `z` are the baseline and control columns, `f_i` channel `i`'s transform chain and
/// `m_i` its coefficient. The interval of `m_i` (where the model gives one) carries over to
/// contribution and ROI, which are linear in `m_i`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Direct {}

#[typetag::serde(name = "direct")]
impl CausalStructure for Direct {
    fn validate(&self, _spec: &dyn ExperimentColumns) -> Result<()> {
        Ok(())
    }

    fn is_single_stage(&self) -> bool {
        true
    }

    fn estimate(&self, input: &CausalInput<'_>) -> Result<CausalEstimate> {
        let data = input.data;
        let design = data.design(&data.all_channels(), &[]);
        let fitted = input.model.fit(&FitProblem {
            design: &design,
            y: &data.y,
            media: &data.media,
            seed: input.seed,
            calibration: &data.calibration,
            geos: &data.geos,
        })?;
        let effects = design
            .columns
            .iter()
            .enumerate()
            .filter_map(|(j, c)| c.channel.map(|ch| (j, ch)))
            .map(|(j, ch)| {
                let coef = &fitted.coefficients[j];
                let draws = fitted
                    .coefficient_draws
                    .as_ref()
                    .map(|d| d.column(j).iter().copied().collect::<Vec<f64>>());
                ChannelEffect {
                    channel: ch,
                    total_coefficient: coef.estimate,
                    total_coefficient_draws: draws,
                    total_coefficient_interval: coef.ci_low.zip(coef.ci_high),
                    direct_coefficient: None,
                    indirect_coefficient: None,
                    direct_interval: None,
                    indirect_interval: None,
                    credit: None,
                    effect: None,
                }
            })
            .collect();
        let interval_level = fitted.interval_level;
        Ok(CausalEstimate {
            stages: vec![Stage {
                name: data.target_name.clone(),
                y: data.y.clone(),
                design,
                fitted,
            }],
            effects,
            interval_level,
            mediator_exogenous: None,
            mediation: None,
        })
    }
}

mmm_core::register!(
    KIND,
    Direct,
    "direct",
    "Every channel drives the target directly, in one model stage",
    r#"{}"#
);
