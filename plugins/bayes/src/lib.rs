//! # mmm-bayes
//!
//! Bayesian marketing mix modeling for mmm: the `bayesian_mmm` model plugin samples every
//! channel's transform parameters (adstock decay, saturation…), the channel coefficients, the
//! intercept, control and baseline coefficients and the noise scale jointly with NUTS, as
//! LightweightMMM and PyMC-Marketing's MMM do, and reports every figure with a 94% HDI.
//!
//! - [`prior`]: the `Prior` plugin kind (`"prior"`), added by this crate through the core's
//!   registry without changing it; [`priors`] holds the families, one file each.
//! - [`density`]: the log posterior on the unconstrained space with its analytic gradient.
//! - [`nuts`]: the No-U-Turn Sampler with Stan's warm-up.
//! - [`diagnostics`]: R-hat, bulk/tail ESS, MCSE, HDI and E-BFMI as ArviZ computes them.
//! - [`model`]: the `bayesian_mmm` plugin.
//!
//! ## Why not `nuts-rs`
//! `nuts-rs` 0.19.1 was tried first (see the commit message for the measurement): it pulls
//! `faer`, `pulp`, `rand` 0.10 (a second `rand` next to the workspace's 0.9) and the storage
//! traits, its `draw()` reports no energy (E-BFMI needs it) unless stats are read through its
//! `Storable` trace types, and a release build of it alone took minutes on this 2-core machine.
//! The sampler here follows Stan's `base_nuts` step for step in ~400 lines.
// Numeric kernels index several arrays with one loop variable; iterator chains would hide that.
#![allow(clippy::needless_range_loop, clippy::type_complexity)]
#![deny(missing_docs)]

pub mod checks;
pub mod density;
pub mod diagnostics;
pub mod fit_checks;
pub mod geo_density;
pub mod geo_fit;
pub mod geo_model;
pub mod loo;
pub mod model;
pub mod nuts;
pub mod prior;
pub mod prior_keys;
pub mod priors;
pub mod progress;
pub mod review;

pub use model::BayesianMmm;
pub use prior::Prior;
