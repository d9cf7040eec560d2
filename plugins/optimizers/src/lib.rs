//! Built-in budget optimizer plugins of mmm.
