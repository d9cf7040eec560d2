//! Built-in model plugins of mmm: ordinary least squares, ridge, lasso, elastic net and a
//! conjugate Bayesian linear regression.
//!
//! Each plugin is one file with one type and one registration line; shared numerics live in
//! [`common`] and [`coordinate_descent`]. See `docs/models.md` for the objectives and references.
#![deny(missing_docs)]

pub mod bayesian_linear;
pub mod common;
pub mod coordinate_descent;
pub mod elastic_net;
pub mod fixed_effects;
pub mod lasso;
pub mod ols;
pub mod residual_tests;
pub mod ridge;
