//! Hints for a data column that is not found: the nearest header name, or the delimiter the
//! file seems to use when its header reads as one column. A name is suggested only when the
//! header reads as CSV column names ([`crate::input::looks_like_names`]), cut as
//! [`crate::input::shown`] cuts it, so that no hint quotes a file that is not a CSV.

/// `"; did you mean 'x'?"`, or a note that the header looks separated by `;`, tabs or `|`
/// (mmm reads comma-separated files), or an empty string.
pub fn column_hint(name: &str, headers: &[String]) -> String {
    if let [only] = headers {
        for (c, label) in [(';', "semicolons (;)"), ('\t', "tabs"), ('|', "pipes (|)")] {
            if only.contains(c) {
                return format!(
                    "; the header is one column that holds {label}: the file looks separated \
                     by {label}, but mmm reads comma-separated files (save it as CSV with commas)"
                );
            }
        }
    }
    if !crate::input::looks_like_names(headers) {
        return String::new();
    }
    match crate::suggest::nearest(name, headers.iter().map(String::as_str)) {
        Some(c) if c != name => format!("; did you mean '{}'?", crate::input::shown(c)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints() {
        let h = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(column_hint("tv", &h(&["week;sales;tv"])).contains("semicolons"));
        assert!(column_hint("tv", &h(&["week\tsales\ttv"])).contains("tabs"));
        assert_eq!(
            column_hint("sale", &h(&["week", "sales"])),
            "; did you mean 'sales'?"
        );
        assert_eq!(column_hint("zzz", &h(&["week", "sales"])), "");
    }
}
