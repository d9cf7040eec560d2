//! Built-in transform plugins of mmm: adstocks, saturations and scalings.
//!
//! Each plugin is one file with one type and one registration line; see `CONTRIBUTING.md` and
//! `docs/transforms.md` (formulas, peer conventions, when to choose which).
//!
//! - adstocks: [`geometric_adstock`], [`delayed_adstock`], [`weibull_adstock`];
//! - saturations (elementwise): [`hill`], [`hill_robyn`], [`logistic`], [`michaelis_menten`],
//!   [`tanh`], [`power`], [`log`];
//! - scaling: [`scale`].

pub mod delayed_adstock;
pub mod geometric_adstock;
pub mod hill;
pub mod hill_robyn;
pub mod log;
pub mod logistic;
pub mod michaelis_menten;
pub mod power;
pub mod scale;
pub mod tanh;
pub mod weibull_adstock;

mod fft;
mod simd;
mod util;
