//! An in-house adstock: carry-over that fades as a power law, for channels whose effect lingers
//! longer than a geometric decay allows (e.g. brand TV).

use mmm_core::params::{check_all, ParamSpec};
use mmm_core::transform::{Transform, KIND};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Power-law adstock.
///
/// # Formula
/// ```text
/// a_t = Σ_{l<L} (1 + l)^(−p)·x_{t−l}
/// ∂a_t/∂x_{t−l} = (1 + l)^(−p)
/// ∂a_t/∂p       = −Σ_{l<L} ln(1 + l)·(1 + l)^(−p)·x_{t−l}
/// ```
/// where `p` is `power` and `L` is `l_max`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PowerDecay {
    /// Exponent `p` of the power-law decay of lag weights, in (0, 10].
    #[schemars(extend("exclusiveMinimum" = 0.0), range(max = 10.0))]
    pub power: f64,
    /// Number of lags `L` (default 13).
    #[serde(default = "default_l_max")]
    #[schemars(range(min = 1, max = 64))]
    pub l_max: u32,
}

fn default_l_max() -> u32 {
    13
}

const PARAMS: &[ParamSpec] = &[ParamSpec::lower_open("power", 0.0, 10.0)];

#[typetag::serde(name = "power_decay")]
impl Transform for PowerDecay {
    fn params(&self) -> &'static [ParamSpec] {
        PARAMS
    }
    fn get_params(&self, out: &mut [f64]) {
        out[0] = self.power;
    }
    fn set_params(&mut self, values: &[f64]) {
        self.power = values[0];
    }
    fn validate(&self) -> mmm_core::Result<()> {
        check_all(PARAMS, &[self.power])
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        for t in 0..x.len() {
            out[t] = (0..=t.min(self.l_max as usize - 1))
                .map(|l| (1.0 + l as f64).powf(-self.power) * x[t - l])
                .sum();
        }
    }
    fn jvp_input(&self, _x: &[f64], dx: &[f64], out: &mut [f64]) {
        self.apply(dx, out);
    }
    fn d_params(&self, x: &[f64], out: &mut [f64]) {
        for t in 0..x.len() {
            out[t] = (0..=t.min(self.l_max as usize - 1))
                .map(|l| {
                    let b = 1.0 + l as f64;
                    -b.ln() * b.powf(-self.power) * x[t - l]
                })
                .sum();
        }
    }
}

mmm_core::register!(
    KIND,
    PowerDecay,
    "power_decay",
    "In-house power-law adstock: a_t = Σ_l (1+l)^(−power)·x_{t−l}",
    r#"{"power": 1.0}"#
);

#[cfg(test)]
mod tests {
    #[test]
    fn conforms() {
        let t = super::PowerDecay {
            power: 1.3,
            l_max: 10,
        };
        mmm_core::transform::conformance::check(&t, true).unwrap();
    }
}
