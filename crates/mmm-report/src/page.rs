//! The HTML page: head with the inline stylesheet, sections, figures and tables.

use crate::format::{esc, raw};

/// The inline stylesheet (no external resources).
const CSS: &str = r#"
:root { --ink:#1f2937; --muted:#6b7280; --line:#e5e7eb; --accent:#4e79a7; --bg:#f8fafc; --warn:#b45309; --bad:#c82828; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink); font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header.top { background:#1f2937; color:#fff; padding:28px 0 22px; }
header.top h1 { margin:0 0 4px; font-size:26px; font-weight:650; letter-spacing:-0.01em; }
header.top p { margin:0; color:#cbd5e1; }
header.top code { background:#374151; color:#f9fafb; }
.wrap { max-width:1180px; margin:0 auto; padding:0 24px; }
nav.toc { background:#fff; border-bottom:1px solid var(--line); padding:10px 0; position:sticky; top:0; z-index:1; }
nav.toc a { color:var(--accent); text-decoration:none; margin-right:18px; font-size:14px; white-space:nowrap; }
section { background:#fff; border:1px solid var(--line); border-radius:10px; margin:22px 0; padding:22px 24px 26px; }
section h2 { margin:0 0 6px; font-size:20px; font-weight:650; }
section p.lead { margin:0 0 14px; color:var(--muted); max-width:880px; }
h3 { font-size:16px; margin:22px 0 8px; }
figure { margin:18px 0 8px; }
figure figcaption { font-size:14px; color:var(--muted); margin:0 0 6px; }
figure figcaption strong { color:var(--ink); font-size:15px; margin-right:6px; }
figure svg { display:block; max-width:100%; height:auto; }
table { border-collapse:collapse; margin:10px 0 6px; font-size:14px; font-variant-numeric: tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; white-space:nowrap; }
th:first-child, td:first-child { text-align:left; }
thead th { color:var(--muted); font-weight:600; border-bottom:2px solid var(--line); }
tbody tr:hover { background:#f1f5f9; }
td.warn { color:var(--warn); font-weight:600; }
td.bad { color:var(--bad); font-weight:600; }
.kpis { display:flex; flex-wrap:wrap; gap:12px; margin:6px 0 4px; }
.kpi { border:1px solid var(--line); border-radius:8px; padding:10px 16px; min-width:140px; }
.kpi .v { font-size:22px; font-weight:650; font-variant-numeric: tabular-nums; }
.kpi .k { font-size:13px; color:var(--muted); }
ul.warnings li { color:var(--warn); }
.scroll { overflow-x:auto; }
footer { color:var(--muted); font-size:13px; padding:8px 0 40px; }
code { font-size:13px; background:#f1f5f9; padding:1px 4px; border-radius:4px; }
"#;

/// A section of the report.
#[derive(Debug, Clone)]
pub struct Section {
    /// Element id (`section-fit`…).
    pub id: String,
    /// Heading.
    pub title: String,
    /// HTML body.
    pub body: String,
}

/// The whole page: title, subtitle, sections with a table of contents.
pub fn page(title: &str, subtitle: &str, sections: &[Section], footer: &str) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    s.push_str(&format!("<title>{}</title>\n", esc(title)));
    s.push_str(&format!("<style>{CSS}</style>\n</head>\n<body>\n"));
    s.push_str(&format!(
        "<header class=\"top\"><div class=\"wrap\"><h1>{}</h1><p>{}</p></div></header>\n",
        esc(title),
        subtitle
    ));
    s.push_str("<nav class=\"toc\"><div class=\"wrap\">");
    for sec in sections {
        s.push_str(&format!(
            "<a href=\"#{}\">{}</a>",
            esc(&sec.id),
            esc(&sec.title)
        ));
    }
    s.push_str("</div></nav>\n<main class=\"wrap\">\n");
    for sec in sections {
        s.push_str(&format!(
            "<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n",
            esc(&sec.id),
            esc(&sec.title),
            sec.body
        ));
    }
    s.push_str(&format!(
        "</main>\n<footer class=\"wrap\">{footer}</footer>\n</body>\n</html>\n"
    ));
    s
}

/// A figure holding an inline SVG chart, with a bold title and a caption.
pub fn figure(id: &str, title: &str, caption: &str, svg: &str) -> String {
    format!(
        "<figure id=\"{}\" class=\"chart\" data-chart=\"{}\">\n<figcaption><strong>{}</strong>{}</figcaption>\n{}\n</figure>\n",
        esc(id),
        esc(id.trim_start_matches("chart-")),
        esc(title),
        esc(caption),
        svg.trim()
    )
}

/// A paragraph of muted lead text (already HTML).
pub fn lead(html: &str) -> String {
    format!("<p class=\"lead\">{html}</p>\n")
}

/// A table cell: text shown, exact value in `data-value`, its key in `data-key`, an optional
/// class (`warn`, `bad`).
#[derive(Debug, Clone)]
pub struct Cell {
    /// Key (`roi`, `contribution`…), empty for text cells.
    pub key: String,
    /// Exact value (empty for text).
    pub value: String,
    /// Shown text.
    pub text: String,
    /// CSS class.
    pub class: Option<&'static str>,
}

impl Cell {
    /// A text cell.
    pub fn text(t: &str) -> Self {
        Cell {
            key: String::new(),
            value: String::new(),
            text: esc(t),
            class: None,
        }
    }
    /// A number cell: `shown` is the formatted text, `v` the exact value.
    pub fn num(key: &str, v: Option<f64>, shown: String) -> Self {
        Cell {
            key: key.into(),
            value: raw(v),
            text: esc(&shown),
            class: None,
        }
    }
    /// With a CSS class.
    pub fn class(mut self, c: Option<&'static str>) -> Self {
        self.class = c;
        self
    }
}

/// A table: id, header, rows of `(row attribute, cells)`; the row attribute is written as
/// `data-row="…"` and, when `row_attr` is given, also as `data-<row_attr>="…"`.
pub fn table(id: &str, row_attr: &str, header: &[&str], rows: &[(String, Vec<Cell>)]) -> String {
    let mut s = format!(
        "<div class=\"scroll\"><table id=\"{}\">\n<thead><tr>",
        esc(id)
    );
    for h in header {
        s.push_str(&format!("<th>{}</th>", esc(h)));
    }
    s.push_str("</tr></thead>\n<tbody>\n");
    for (key, cells) in rows {
        s.push_str(&format!(
            "<tr data-row=\"{k}\" data-{a}=\"{k}\">",
            k = esc(key),
            a = esc(row_attr)
        ));
        for (j, c) in cells.iter().enumerate() {
            let tag = if j == 0 { "th" } else { "td" };
            let mut attrs = String::new();
            if !c.key.is_empty() {
                attrs.push_str(&format!(" data-key=\"{}\"", esc(&c.key)));
                attrs.push_str(&format!(" data-value=\"{}\"", esc(&c.value)));
            }
            if let Some(cl) = c.class {
                attrs.push_str(&format!(" class=\"{cl}\""));
            }
            s.push_str(&format!("<{tag}{attrs}>{}</{tag}>", c.text));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</tbody>\n</table></div>\n");
    s
}

/// Headline figures as cards: `(key, label, exact value, shown text)`.
pub fn kpis(items: &[(&str, &str, Option<f64>, String)]) -> String {
    let mut s = String::from("<div class=\"kpis\">");
    for (key, label, v, shown) in items {
        s.push_str(&format!(
            "<div class=\"kpi\" data-key=\"{}\" data-value=\"{}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            esc(key),
            raw(*v),
            esc(shown),
            esc(label)
        ));
    }
    s.push_str("</div>\n");
    s
}
