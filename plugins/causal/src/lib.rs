//! Built-in causal structure plugins of mmm.
//!
//! Each plugin is one file with one type and one registration line.

pub mod bootstrap;
pub mod direct;
pub mod mediated;
