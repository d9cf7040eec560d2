//! The keys `priors` accepts for one spec, and the error for a key that matches none of them.
//!
//! A prior is looked up by a parameter's full name (`tv.beta`, `tv.hill.shape`, `price`,
//! `intercept`, `sigma`), then by its group (`channel_coefficient`, `hill.shape`, `control`,
//! `baseline`, …). A key that is neither would be silently ignored; instead it is an error that
//! lists the valid keys and suggests the nearest one (Jaro–Winkler similarity from `strsim`,
//! the crate clap uses for the same purpose).

use mmm_core::{MmmError, Result};
use std::collections::BTreeSet;

/// The parameter names and groups of one spec's model.
#[derive(Debug, Clone, Default)]
pub struct PriorKeys {
    /// Full parameter names, in model order.
    pub names: Vec<String>,
    /// Groups.
    pub groups: BTreeSet<String>,
}

impl PriorKeys {
    /// Records a parameter and its group.
    pub fn add(&mut self, name: &str, group: &str) {
        self.names.push(name.to_string());
        self.groups.insert(group.to_string());
    }

    /// Records a further valid key for parameters already recorded (e.g. a channel-level key
    /// that per-geo parameters fall back to), once.
    pub fn add_name(&mut self, key: &str) {
        if !self.names.iter().any(|n| n == key) {
            self.names.push(key.to_string());
        }
    }

    /// Whether `key` names a parameter or a group.
    pub fn contains(&self, key: &str) -> bool {
        self.groups.contains(key) || self.names.iter().any(|n| n == key)
    }

    /// The valid key most similar to `key` (Jaro–Winkler, case-insensitive), if any is at
    /// least 0.7 similar.
    pub fn nearest(&self, key: &str) -> Option<&str> {
        let k = key.to_lowercase();
        self.names
            .iter()
            .map(String::as_str)
            .chain(self.groups.iter().map(String::as_str))
            .map(|c| (strsim::jaro_winkler(&k, &c.to_lowercase()), c))
            .filter(|(s, _)| *s >= 0.7)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, c)| c)
    }

    /// `Ok` when every key of `priors` is valid; otherwise an error at `/model/priors/<key>`
    /// naming the first unknown key, the nearest valid one and every valid key.
    pub fn check<'a>(&self, priors: impl IntoIterator<Item = &'a String>) -> Result<()> {
        for key in priors {
            if self.contains(key) {
                continue;
            }
            let hint = match self.nearest(key) {
                Some(n) => format!(" (did you mean '{n}'?)"),
                None => String::new(),
            };
            return Err(MmmError::param(
                format!("/model/priors/{key}"),
                format!(
                    "'{key}' names no parameter or group of this model{hint}; valid keys are the parameters {} and the groups {}",
                    self.names.join(", "),
                    self.groups.iter().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named_with_the_nearest_valid_one() {
        let mut k = PriorKeys::default();
        k.add("x1.geometric_adstock.decay", "geometric_adstock.decay");
        k.add("x1.logistic.lam", "logistic.lam");
        k.add("x1.beta", "channel_coefficient");
        k.add("sigma", "sigma");
        assert!(k.check(["x1.beta".to_string()].iter()).is_ok());
        assert!(k.check(["logistic.lam".to_string()].iter()).is_ok());
        let e = k
            .check(["x1.logistic.lamda".to_string()].iter())
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'x1.logistic.lam'"), "{e}");
        assert!(e.contains("/model/priors/x1.logistic.lamda"), "{e}");
        assert!(
            e.contains("channel_coefficient") && e.contains("x1.beta"),
            "{e}"
        );
        let e = k
            .check(["X1.beta".to_string()].iter())
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean 'x1.beta'"), "{e}");
        assert_eq!(k.nearest("chanel_coefficient"), Some("channel_coefficient"));
    }
}
