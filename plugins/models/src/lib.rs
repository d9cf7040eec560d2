//! Built-in models plugins of mmm.
