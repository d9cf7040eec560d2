//! # mmm-core
//!
//! The traits, registry, parameters, transform chain and result types of mmm, a marketing mix
//! modeling framework: what a plugin author needs. No concrete plugin lives here: transforms,
//! models, causal structures and optimizers are registered by plugin crates through
//! [`register!`] and found by their `type`. The experiment spec and the data layer that reads
//! it are in `mmm-data`; the view of the data plugins get is [`dataset::ModelData`].
//!
//! - [`transform::Transform`]: one channel's series → a new series, with derivatives.
//! - [`model::Model`]: a design matrix and a target → a [`model::FittedModel`].
//! - [`causal::CausalStructure`]: channels and controls → model stages and channel effects.
//! - [`optimizer::Optimizer`]: response curves → a budget allocation.
#![deny(missing_docs)]
// Numeric kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod budget;
pub mod calibration;
pub mod causal;
pub mod console;
pub mod csv_hints;
pub mod data;
pub mod dataset;
pub mod error;
pub mod geo;
pub mod gram;
pub mod input;
pub mod interval;
pub mod json_text;
pub mod kpi;
pub mod metrics;
pub mod model;
pub mod optimizer;
pub mod params;
pub mod progress;
pub mod quality;
pub mod registry;
pub mod resample;
pub mod sampled_params;
pub mod schema_messages;
pub mod search;
pub mod suggest;
pub mod sums;
pub mod transform;
pub mod tuning;
pub mod validation;
pub mod window;

pub use error::{MmmError, Result};
pub use params::ParamSpec;

/// Re-exports used by this crate's macros (so plugin crates need not name these versions).
pub mod reexports {
    pub use dyn_clone;
    pub use inventory;
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use typetag;
}
