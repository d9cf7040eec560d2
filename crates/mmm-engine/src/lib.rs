//! # mmm-engine
//!
//! The experiment engine of mmm: a run from a loaded spec (fit, intervals, validation, tuning
//! and its bootstrap, response curves, budget optimization, planning windows), the results
//! document, saved models with their predictions and refreshes, and the all-or-nothing
//! output folder. It is built on the plugin API of `mmm-core`; plugins never depend on it.
#![deny(missing_docs)]
// Numeric kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod check;
pub mod experiment;
pub mod fit_warnings;
pub mod geo_allocation;
pub mod output;
pub mod predict;
pub mod refresh;
pub mod response;
pub mod results;
pub mod saved_model;
pub mod staging;
pub mod tuning;
pub mod tuning_bootstrap;
pub mod validation;
pub mod window;
