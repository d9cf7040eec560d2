//! # mmm-core
//!
//! The traits, registry, experiment spec, data layer and result types of mmm, a marketing mix
//! modeling framework. No concrete plugin lives here: transforms, models, causal structures and
//! optimizers are registered by plugin crates through [`register!`] and found by their `type`.
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
pub mod check;
pub mod cleaning;
pub mod console;
pub mod csv_hints;
pub mod data;
pub mod dataset;
pub mod design_check;
pub mod error;
pub mod experiment;
pub mod fit_warnings;
pub mod frame;
pub mod gram;
pub mod input;
pub mod interval;
pub mod json_text;
pub mod kpi;
pub mod metrics;
pub mod model;
pub mod optimizer;
pub mod output;
pub mod params;
pub mod predict;
pub mod prepare;
pub mod progress;
pub mod registry;
pub mod resample;
pub mod response;
pub mod results;
pub mod roles;
pub mod sampled_params;
pub mod saved_model;
pub mod schema_messages;
pub mod search;
pub mod spec;
pub mod staging;
pub mod suggest;
pub mod transform;
pub mod tuning;
pub mod tuning_bootstrap;
pub mod validation;

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
