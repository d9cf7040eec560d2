//! Scaling by a learned or fixed constant.
//!
//! Ref: PyMC-Marketing divides each channel by its maximum over the training data before
//! adstock and saturation (`MaxAbsScaler`; `scaling = {"channel": {"method": "max" | "mean"}}`
//! in its multidimensional MMM), so that decay and saturation parameters are unit-free.

use mmm_core::transform::{Transform, KIND};
use mmm_core::{MmmError, Result};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A statistic of the training input to divide by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScaleStat {
    /// The largest absolute value of the training input (PyMC-Marketing's max scaling).
    Max,
    /// The mean of the training input.
    Mean,
}

/// What to divide by: a statistic learned from the training input, or a fixed positive number.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ScaleBy {
    /// "max" or "mean" of the training input, learned by `learn`.
    Stat(ScaleStat),
    /// A fixed positive divisor.
    Value(f64),
}

/// Scaling: divides the series by a constant, learned from the training input or given.
///
/// # Formula
/// ```text
/// y_t = x_t / s,   s = max_t |x_train,t|  ("max"),  mean_t x_train,t  ("mean"),  or the given number
/// ∂y_t/∂x_t = 1/s          (no continuous parameters)
/// ```
/// `s` is learned by [`Transform::learn`] and kept for later calls on other spend, so a
/// response curve at twice the training spend reaches 2 where training peaked at 1. Before
/// `learn`, and when the learned statistic is not positive and finite (all-zero training
/// spend), `s = 1`. Chains such as `scale("max") → geometric_adstock(l_max 8, normalize) →
/// logistic` reproduce PyMC-Marketing's channel pipeline.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    /// "max" (largest absolute training value), "mean" (training mean) or a positive number to divide by. Default: "max".
    #[serde(default = "default_by")]
    pub by: ScaleBy,
    /// The learned divisor.
    #[serde(skip)]
    #[schemars(skip)]
    learned: Option<f64>,
}

fn default_by() -> ScaleBy {
    ScaleBy::Stat(ScaleStat::Max)
}

impl Scale {
    /// A scaling with nothing learned yet.
    pub fn new(by: ScaleBy) -> Self {
        Scale { by, learned: None }
    }

    /// The divisor `s` in use.
    pub fn divisor(&self) -> f64 {
        match self.by {
            ScaleBy::Value(v) => v,
            ScaleBy::Stat(_) => self.learned.unwrap_or(1.0),
        }
    }
}

#[typetag::serde(name = "scale")]
impl Transform for Scale {
    fn validate(&self) -> Result<()> {
        match self.by {
            ScaleBy::Value(v) if !(v > 0.0 && v.is_finite()) => Err(MmmError::param(
                "/by",
                format!("by = {v} must be \"max\", \"mean\" or a number in (0, ∞)"),
            )),
            _ => Ok(()),
        }
    }
    fn learn(&mut self, x: &[f64]) {
        let s = match self.by {
            ScaleBy::Value(_) => return,
            ScaleBy::Stat(ScaleStat::Max) => x.iter().fold(0.0f64, |m, v| m.max(v.abs())),
            ScaleBy::Stat(ScaleStat::Mean) => x.iter().sum::<f64>() / x.len().max(1) as f64,
        };
        self.learned = Some(if s > 0.0 && s.is_finite() { s } else { 1.0 });
    }
    fn learned(&self) -> Option<Vec<f64>> {
        self.learned.map(|s| vec![s])
    }
    fn set_learned(&mut self, values: &[f64]) {
        if let Some(&s) = values.first() {
            self.learned = Some(s);
        }
    }
    fn is_elementwise(&self) -> bool {
        true
    }
    fn apply(&self, x: &[f64], out: &mut [f64]) {
        let inv = 1.0 / self.divisor();
        for (o, &xi) in out.iter_mut().zip(x) {
            *o = xi * inv;
        }
    }
    fn jvp_input(&self, _x: &[f64], dx: &[f64], out: &mut [f64]) {
        self.apply(dx, out);
    }
    fn lag_weights(&self, n: usize) -> Option<Vec<f64>> {
        let mut w = vec![0.0; n];
        if let Some(w0) = w.first_mut() {
            *w0 = 1.0 / self.divisor();
        }
        Some(w)
    }
}

mmm_core::register!(
    KIND,
    Scale,
    "scale",
    "Divides by a constant: the max or mean of the training input, or a given number",
    r#"{"by": "max"}"#
);

#[cfg(test)]
mod tests {
    use super::*;
    use mmm_core::transform::conformance;

    #[test]
    fn conformance_several_settings() {
        let x = conformance::test_series(40);
        for by in [
            ScaleBy::Stat(ScaleStat::Max),
            ScaleBy::Stat(ScaleStat::Mean),
            ScaleBy::Value(250.0),
        ] {
            let mut t = Scale::new(by);
            t.learn(&x);
            conformance::check(&t, true).unwrap_or_else(|e| panic!("{by:?}: {e}"));
        }
    }

    #[test]
    fn learns_and_keeps_the_divisor() {
        let mut t = Scale::new(ScaleBy::Stat(ScaleStat::Max));
        assert_eq!(t.divisor(), 1.0);
        t.learn(&[1.0, 4.0, 2.0]);
        let mut y = [0.0; 2];
        t.apply(&[8.0, 2.0], &mut y);
        assert_eq!(y, [2.0, 0.5]);
        let mut m = Scale::new(ScaleBy::Stat(ScaleStat::Mean));
        m.learn(&[1.0, 4.0, 1.0]);
        assert_eq!(m.divisor(), 2.0);
        m.learn(&[0.0, 0.0]);
        assert_eq!(m.divisor(), 1.0);
    }

    #[test]
    fn json_forms() {
        for (s, d) in [
            (r#"{"type":"scale"}"#, 1.0),
            (r#"{"type":"scale","by":"mean"}"#, 1.0),
            (r#"{"type":"scale","by":20}"#, 20.0),
        ] {
            let t: Box<dyn Transform> = serde_json::from_str(s).unwrap();
            t.validate().unwrap();
            let mut y = [0.0];
            t.apply(&[20.0], &mut y);
            assert_eq!(y[0], 20.0 / d);
        }
        let t: Box<dyn Transform> = serde_json::from_str(r#"{"type":"scale","by":-2}"#).unwrap();
        let e = t.validate().unwrap_err().to_string();
        assert!(e.contains("/by") && e.contains("(0, ∞)"), "{e}");
        assert!(
            serde_json::from_str::<Box<dyn Transform>>(r#"{"type":"scale","by":"median"}"#)
                .is_err()
        );
    }
}
