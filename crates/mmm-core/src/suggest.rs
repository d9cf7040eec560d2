//! "Did you mean …?": the nearest valid name to a misspelt one.

/// The candidate nearest to `name` when it is near enough to be a likely misspelling: the
/// smallest optimal-string-alignment distance (Levenshtein with adjacent transpositions, case-insensitive), at most `max(1, ⌊len/3⌋)` edits, ties
/// broken by candidate order.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for c in candidates {
        let d = strsim::osa_distance(&lower, &c.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `"; did you mean 'x'?"` for the nearest candidate, or an empty string.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match nearest(name, candidates) {
        Some(c) if c != name => format!("; did you mean '{c}'?"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_only_near_names() {
        let c = ["ols", "ridge", "lasso", "bayesian_mmm"];
        assert_eq!(nearest("olss", c), Some("ols"));
        assert_eq!(nearest("Ridge", c), Some("ridge"));
        assert_eq!(nearest("baysian_mmm", c), Some("bayesian_mmm"));
        assert_eq!(nearest("xgboost", c), None);
        assert_eq!(did_you_mean("lasso", c), "");
    }
}
