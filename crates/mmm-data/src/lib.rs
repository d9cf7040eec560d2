//! # mmm-data
//!
//! The data layer of mmm: the experiment spec ([`spec`]) and everything that reads it, from
//! the files it names to the [`mmm_core::dataset::ModelData`] plugins get.
//!
//! - [`spec`]: the experiment spec, loaded, checked and resolved (roles, search ranges,
//!   calibration tests, memory budget).
//! - [`table`], [`frame`]: reading a CSV file, or data attached in memory, into a
//!   [`mmm_core::data::Table`].
//! - [`prepare`], [`cleaning`], [`kpi`]: long-format pivoting, cleaning, aggregation and the
//!   channels' reported KPIs.
//! - [`dataset`], [`design_check`]: building the model data from a spec and checking its design.
//!
//! It depends on `mmm-core` only; the engine (`mmm-engine`) depends on it.
#![deny(missing_docs)]
// Numeric kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop)]

pub mod budget;
pub mod calibration;
pub mod cleaning;
pub mod dataset;
pub mod design_check;
pub mod frame;
pub mod input;
pub mod kpi;
pub mod panel;
pub mod prepare;
pub mod roles;
pub mod search;
pub mod spec;
pub mod table;
