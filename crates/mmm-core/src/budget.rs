//! Memory a fit will need, estimated from the spec and the data's size and checked against the
//! machine before any work, so that `draws: 1e9` is a spec error (exit 2, at its pointer, with
//! the estimate) instead of an allocation that aborts the process.
//!
//! Counts in a spec also have fixed upper bounds in the schema (see `docs/data.md`); this check
//! covers their products (draws × chains × periods), which no single bound can.

/// Share of the available memory a fit may plan to use.
pub const USABLE_SHARE: f64 = 0.8;

/// Memory available to this process, in bytes: `MemAvailable` of `/proc/meminfo`, or 8 GiB
/// where that cannot be read.
pub fn available_memory() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb * 1024.0)
        .unwrap_or(8.0 * 1024.0 * 1024.0 * 1024.0)
}

/// Bytes in human units (`24.0 TB`).
pub fn human_bytes(b: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < units.len() {
        v /= 1000.0;
        u += 1;
    }
    format!("{v:.1} {}", units[u])
}
