//! The moving-block bootstrap and its interval rules live in [`mmm_core::resample`] (the
//! tuning's bootstrap over the search uses them too); re-exported here for the structures.

pub use mmm_core::resample::*;
