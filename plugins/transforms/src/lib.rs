//! Built-in transform plugins of mmm: adstocks, saturations and scalings.
//!
//! Each plugin is one file with one type and one registration line; see `CONTRIBUTING.md`.

pub mod geometric_adstock;
