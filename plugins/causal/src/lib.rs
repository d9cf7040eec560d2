//! Built-in causal plugins of mmm.
