//! The flat (improper) prior the geo hierarchy gives a centred geo effect, whose real prior the
//! density adds itself (see [`crate::geo_density`]). Not registered as a plugin: a spec cannot
//! choose it, so no user prior is improper.

use crate::prior::{Prior, Support};
use mmm_core::Result;
use serde::{Deserialize, Serialize};

/// `p(x) ∝ 1` on the real line; `center` is where chains start.
/// # Formula
/// ```text
/// log p(x) = 0        d/dx = 0
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flat {
    /// The starting value of the chains.
    pub center: f64,
}

#[typetag::serde(name = "flat_hierarchy_member")]
impl Prior for Flat {
    fn validate(&self) -> Result<()> {
        crate::prior::check_finite("center", self.center)
    }
    fn support(&self) -> Support {
        Support::REAL
    }
    fn log_density(&self, _x: f64) -> f64 {
        0.0
    }
    fn d_log_density(&self, _x: f64) -> f64 {
        0.0
    }
    fn center(&self) -> f64 {
        self.center
    }
}
