//! Number formatting and HTML escaping, shared by tables and charts so that every figure in
//! the report is written the same way.
//!
//! | kind | example | rule |
//! |---|---|---|
//! | [`amount`] | `30,359,168` / `412.5` / `0.0372` | thousands separators, no decimals from 1,000 up, else 4 significant digits |
//! | [`ratio`] | `9.833` | 3 decimals (ROI, mROI, R-hat, Durbin–Watson) |
//! | [`metric`] | `0.8946` | 4 decimals (R², NRMSE, objectives) |
//! | [`pct_fraction`] | `50.7%` | a fraction shown as a percentage with 1 decimal |
//! | [`pct`] | `42.6%` | a percentage shown with 1 decimal |
//! | [`compact`] | `2.5M` | axis labels |
//!
//! Missing or non-finite values print as `—`. The exact value goes into the cell's
//! `data-value` attribute as Rust prints an `f64` (shortest text that reads back to the same
//! number), so that tests and scripts can compare it with `results.json`.

/// Shown for a missing or non-finite value.
pub const MISSING: &str = "—";

/// Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn finite(v: Option<f64>) -> Option<f64> {
    v.filter(|x| x.is_finite())
}

/// Inserts thousands separators into the integer part of `s` (which may have a sign and
/// decimals).
fn group(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut g = String::new();
    for (k, ch) in int.chars().enumerate() {
        if k > 0 && (int.len() - k) % 3 == 0 {
            g.push(',');
        }
        g.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{g}.{f}"),
        None => format!("{sign}{g}"),
    }
}

/// An amount (spend, contribution, KPI): thousands separators and no decimals from 1,000 up,
/// 4 significant digits below.
pub fn amount(v: Option<f64>) -> String {
    let Some(v) = finite(v) else {
        return MISSING.into();
    };
    let a = v.abs();
    if a >= 1e15 || (a > 0.0 && a < 1e-4) {
        format!("{v:.3e}")
    } else if a >= 1000.0 {
        group(&format!("{v:.0}"))
    } else if a == 0.0 {
        "0".into()
    } else {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 12) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    }
}

/// A value with a fixed number of decimals.
pub fn fixed(v: Option<f64>, decimals: usize) -> String {
    match finite(v) {
        Some(v) if v.abs() >= 1e9 => format!("{v:.3e}"),
        Some(v) => {
            let s = format!("{v:.decimals$}");
            // no "-0.000"
            if s.trim_start_matches('-')
                .chars()
                .all(|c| c == '0' || c == '.')
            {
                s.trim_start_matches('-').to_string()
            } else {
                group(&s)
            }
        }
        None => MISSING.into(),
    }
}

/// A ratio (ROI, marginal ROI, R-hat, Durbin–Watson): 3 decimals.
pub fn ratio(v: Option<f64>) -> String {
    fixed(v, 3)
}

/// A fit metric (R², NRMSE, objective values): 4 decimals.
pub fn metric(v: Option<f64>) -> String {
    fixed(v, 4)
}

/// A fraction shown as a percentage with 1 decimal (`0.507` → `50.7%`).
pub fn pct_fraction(v: Option<f64>) -> String {
    match finite(v) {
        Some(v) => format!("{}%", fixed(Some(100.0 * v), 1)),
        None => MISSING.into(),
    }
}

/// A percentage with 1 decimal (`42.6` → `42.6%`), signed when `signed`.
pub fn pct(v: Option<f64>, signed: bool) -> String {
    match finite(v) {
        Some(v) if signed && v > 0.0 => format!("+{}%", fixed(Some(v), 1)),
        Some(v) => format!("{}%", fixed(Some(v), 1)),
        None => MISSING.into(),
    }
}

/// A count: no decimals, thousands separators.
pub fn count(v: Option<f64>) -> String {
    match finite(v) {
        Some(v) => group(&format!("{v:.0}")),
        None => MISSING.into(),
    }
}

/// A short axis label: `2.5M`, `300k`, `0.25`.
pub fn compact(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    let a = v.abs();
    let (scaled, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if a >= 1e12 || (a > 0.0 && a < 1e-6) {
        return format!("{v:.1e}");
    }
    let s = if scaled == 0.0 {
        "0".to_string()
    } else if scaled.abs() >= 100.0 {
        format!("{scaled:.0}")
    } else if scaled.abs() >= 10.0 {
        format!("{scaled:.1}")
    } else if scaled.abs() >= 1.0 || !suffix.is_empty() {
        format!("{scaled:.2}")
    } else {
        // three significant digits below 1 (0.25, 0.0006)
        let decimals = (2 - scaled.abs().log10().floor() as i32).clamp(1, 8) as usize;
        format!("{scaled:.decimals$}")
    };
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    let s = if s == "-0" { "0".to_string() } else { s };
    format!("{s}{suffix}")
}

/// The exact value for a `data-value` attribute (empty when missing).
pub fn raw(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_group_thousands_and_keep_four_significant_digits() {
        assert_eq!(amount(Some(30359168.059)), "30,359,168");
        assert_eq!(amount(Some(-1234.5)), "-1,234");
        assert_eq!(amount(Some(412.54)), "412.5");
        assert_eq!(amount(Some(0.037216)), "0.03722");
        assert_eq!(amount(Some(0.0)), "0");
        assert_eq!(amount(Some(1.2573e40)), "1.257e40");
        assert_eq!(amount(Some(5e-12)), "5.000e-12");
        assert_eq!(amount(None), MISSING);
        assert_eq!(amount(Some(f64::NAN)), MISSING);
    }

    #[test]
    fn ratios_metrics_and_percentages() {
        assert_eq!(ratio(Some(9.83296786)), "9.833");
        assert_eq!(ratio(Some(-0.0001)), "0.000");
        assert_eq!(metric(Some(0.89462473)), "0.8946");
        assert_eq!(pct_fraction(Some(0.50661)), "50.7%");
        assert_eq!(pct(Some(42.604), true), "+42.6%");
        assert_eq!(pct(Some(-100.0), true), "-100.0%");
        assert_eq!(count(Some(2000.0)), "2,000");
    }

    #[test]
    fn compact_axis_labels() {
        assert_eq!(compact(2_500_000.0), "2.5M");
        assert_eq!(compact(300_000.0), "300k");
        assert_eq!(compact(0.25), "0.25");
        assert_eq!(compact(0.0), "0");
        assert_eq!(compact(1500.0), "1500");
        assert_eq!(compact(0.0006), "0.0006");
        assert_eq!(compact(-0.0000000001), "-1.0e-10");
        assert_eq!(compact(-1e-300 * 0.0), "0");
    }

    #[test]
    fn escapes_html() {
        assert_eq!(esc("a<b & \"c\"'"), "a&lt;b &amp; &quot;c&quot;&#39;");
    }

    #[test]
    fn raw_reads_back_exactly() {
        let v = 9.83296786522398_f64;
        assert_eq!(raw(Some(v)).parse::<f64>().unwrap(), v);
        assert_eq!(raw(None), "");
    }
}
