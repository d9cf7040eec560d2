//! Chart primitives drawn with plotters' SVG backend: x–y panels (lines, bands, points,
//! reference lines) alone or in a grid of small multiples, and horizontal bar charts with
//! intervals. Every chart is returned as an `<svg>` string; text is SVG `<text>` in the
//! browser's sans-serif font, so no font files are needed.

use crate::format::compact;
use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Width of every chart in pixels (the page's content width).
pub const WIDTH: u32 = 1040;

/// Categorical palette (Tableau 10), used in order for channels everywhere in the report.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(78, 121, 167),
    RGBColor(242, 142, 43),
    RGBColor(89, 161, 79),
    RGBColor(225, 87, 89),
    RGBColor(118, 183, 178),
    RGBColor(237, 201, 72),
    RGBColor(176, 122, 161),
    RGBColor(255, 157, 167),
    RGBColor(156, 117, 95),
    RGBColor(186, 176, 172),
];
/// Text and axes.
pub const INK: RGBColor = RGBColor(31, 41, 55);
/// Secondary text, axes and the actual series.
pub const MUTED: RGBColor = RGBColor(107, 114, 128);
/// Grid lines.
pub const GRID: RGBColor = RGBColor(229, 231, 235);
/// Highlights (break-even, the chosen candidate).
pub const ALERT: RGBColor = RGBColor(200, 40, 40);
/// The baseline in decompositions.
pub const BASELINE: RGBColor = RGBColor(203, 213, 225);
/// Controls in decompositions.
pub const CONTROLS: RGBColor = RGBColor(148, 163, 184);

/// A colour of the report.
pub type PlotColor = RGBColor;

/// The palette colour of the `i`-th channel.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn font(size: u32) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&INK)
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// How axis tick values are written.
#[derive(Debug, Clone)]
pub enum Ticks {
    /// `2.5M`, `300k`, `0.25`.
    Compact,
    /// Whole numbers.
    Integer,
    /// The tick is an index into these labels (dates).
    Labels(Vec<String>),
}

impl Ticks {
    fn format(&self, v: f64) -> String {
        match self {
            Ticks::Compact => compact(v),
            Ticks::Integer => {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{}", v.round() as i64)
                } else {
                    String::new()
                }
            }
            Ticks::Labels(l) => {
                let i = v.round();
                if (v - i).abs() > 1e-6 || i < 0.0 {
                    return String::new();
                }
                l.get(i as usize).cloned().unwrap_or_default()
            }
        }
    }
}

/// A line and/or points.
#[derive(Debug, Clone)]
pub struct Line {
    /// Legend text (none: not in the legend).
    pub label: Option<String>,
    /// Colour.
    pub color: RGBColor,
    /// Points; non-finite points break the line.
    pub points: Vec<(f64, f64)>,
    /// Stroke width (0: no line, points only).
    pub width: u32,
    /// Dashed stroke.
    pub dashed: bool,
    /// Radius of a dot at each point (0: none).
    pub dots: u32,
}

impl Line {
    /// A solid line.
    pub fn new(label: Option<&str>, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Line {
            label: label.map(str::to_string),
            color,
            points,
            width: 2,
            dashed: false,
            dots: 0,
        }
    }
    /// Points only.
    pub fn scatter(label: Option<&str>, color: RGBColor, points: Vec<(f64, f64)>, r: u32) -> Self {
        Line {
            width: 0,
            dots: r,
            ..Line::new(label, color, points)
        }
    }
}

/// A filled area between two curves.
#[derive(Debug, Clone)]
pub struct Band {
    /// Legend text.
    pub label: Option<String>,
    /// Colour.
    pub color: RGBColor,
    /// Fill opacity.
    pub opacity: f64,
    /// `(x, low, high)`; non-finite rows are skipped.
    pub rows: Vec<(f64, f64, f64)>,
}

/// A labelled point (current spend, break-even, the chosen candidate).
#[derive(Debug, Clone)]
pub struct Marker {
    /// Legend text.
    pub label: Option<String>,
    /// Colour.
    pub color: RGBColor,
    /// Position.
    pub at: (f64, f64),
    /// Text written beside the point.
    pub text: Option<String>,
    /// Draw a diamond instead of a dot.
    pub diamond: bool,
}

/// A vertical reference line.
#[derive(Debug, Clone)]
pub struct VLine {
    /// Legend text.
    pub label: Option<String>,
    /// Colour.
    pub color: RGBColor,
    /// Position.
    pub x: f64,
}

/// One x–y chart.
#[derive(Debug, Clone)]
pub struct Panel {
    /// Title drawn above the panel (small multiples); full-size charts take their title from
    /// the HTML figure.
    pub title: Option<String>,
    /// x axis description.
    pub x_desc: String,
    /// y axis description.
    pub y_desc: String,
    /// x tick format.
    pub x_ticks: Ticks,
    /// y tick format.
    pub y_ticks: Ticks,
    /// Filled areas, drawn first.
    pub bands: Vec<Band>,
    /// Lines and points.
    pub lines: Vec<Line>,
    /// Reference lines.
    pub vlines: Vec<VLine>,
    /// Labelled points, drawn last.
    pub markers: Vec<Marker>,
    /// Fixed x range (else from the data).
    pub x_range: Option<(f64, f64)>,
    /// Whether the y range includes 0.
    pub y_zero: bool,
    /// Legend position (none: no legend).
    pub legend: Option<SeriesLabelPosition>,
    /// Font size of tick labels.
    pub tick_size: u32,
}

impl Panel {
    /// An empty panel with the given axis descriptions.
    pub fn new(x_desc: &str, y_desc: &str) -> Self {
        Panel {
            title: None,
            x_desc: x_desc.into(),
            y_desc: y_desc.into(),
            x_ticks: Ticks::Compact,
            y_ticks: Ticks::Compact,
            bands: vec![],
            lines: vec![],
            vlines: vec![],
            markers: vec![],
            x_range: None,
            y_zero: false,
            legend: Some(SeriesLabelPosition::UpperLeft),
            tick_size: 14,
        }
    }

    fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let mut xs: Vec<f64> = vec![];
        let mut ys: Vec<f64> = vec![];
        for b in &self.bands {
            for &(x, lo, hi) in &b.rows {
                xs.push(x);
                ys.push(lo);
                ys.push(hi);
            }
        }
        for l in &self.lines {
            for &(x, y) in &l.points {
                xs.push(x);
                ys.push(y);
            }
        }
        for m in &self.markers {
            xs.push(m.at.0);
            ys.push(m.at.1);
        }
        for v in &self.vlines {
            xs.push(v.x);
        }
        if self.y_zero {
            ys.push(0.0);
        }
        let span = |v: &[f64]| {
            let f = v.iter().copied().filter(|x| x.is_finite());
            let lo = f.clone().fold(f64::INFINITY, f64::min);
            let hi = f.fold(f64::NEG_INFINITY, f64::max);
            if !lo.is_finite() {
                (0.0, 1.0)
            } else if hi - lo <= 1e-12 * hi.abs().max(1.0) {
                (lo - 0.5 * lo.abs().max(1.0), hi + 0.5 * hi.abs().max(1.0))
            } else {
                (lo, hi)
            }
        };
        let x = self.x_range.unwrap_or_else(|| {
            let (a, b) = span(&xs);
            // room for dots and markers at the edges
            let dotted = !self.markers.is_empty() || self.lines.iter().any(|l| l.dots > 0);
            let pad = if dotted { 0.03 * (b - a) } else { 0.0 };
            (a - pad, b + pad)
        });
        let (ylo, yhi) = span(&ys);
        let pad = 0.06 * (yhi - ylo);
        let ylo = if self.y_zero && ylo >= 0.0 {
            ylo
        } else {
            ylo - pad
        };
        (x, (ylo, yhi + pad))
    }
}

/// Largest axis value a chart draws: beyond it (data near `f64::MAX`) plotters' tick search
/// never ends or its pixel arithmetic overflows; such a chart shows a note instead.
const MAX_AXIS: f64 = 1e100;

/// Whether an axis range can be drawn: finite, increasing, within ±[`MAX_AXIS`].
fn drawable(lo: f64, hi: f64) -> bool {
    lo.is_finite() && hi.is_finite() && lo < hi && lo.abs() <= MAX_AXIS && hi.abs() <= MAX_AXIS
}

/// The note drawn instead of a chart whose values are too large to draw.
fn too_large<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> Result<(), String> {
    area.draw(&Text::new(
        format!("values too large to draw (beyond ±{MAX_AXIS:e}); see the tables"),
        (20, 30),
        font(14),
    ))
    .map_err(err)
}

/// Splits a series at non-finite points.
fn runs(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out = vec![];
    let mut cur = vec![];
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            cur.push((x, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn legend_line<'b>(
    c: RGBColor,
    w: u32,
    dots: u32,
) -> impl Fn((i32, i32)) -> DynElement<'static, SVGBackend<'b>, (i32, i32)> {
    move |(x, y)| {
        if w == 0 {
            Circle::new((x + 9, y), dots.max(3), c.filled()).into_dyn()
        } else {
            PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(w.max(2))).into_dyn()
        }
    }
}

fn draw_panel<'b>(area: &DrawingArea<SVGBackend<'b>, Shift>, p: &Panel) -> Result<(), String> {
    let ((x0, x1), (y0, y1)) = p.ranges();
    let small = p.title.is_some();
    let mut b = ChartBuilder::on(area);
    b.margin(10)
        .margin_right(22)
        .x_label_area_size(if p.x_desc.is_empty() { 26 } else { 46 })
        .y_label_area_size(if p.y_desc.is_empty() { 52 } else { 74 });
    if let Some(t) = &p.title {
        b.caption(
            t,
            ("sans-serif", 14, FontStyle::Bold).into_font().color(&INK),
        );
    }
    if !drawable(x0, x1) || !drawable(y0, y1) {
        return too_large(area);
    }
    let mut chart = b.build_cartesian_2d(x0..x1, y0..y1).map_err(err)?;
    let xf = |v: &f64| p.x_ticks.format(*v);
    let yf = |v: &f64| p.y_ticks.format(*v);
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .axis_style(MUTED)
        .label_style(font(p.tick_size))
        .axis_desc_style(font(if small { 12 } else { 14 }))
        .x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .x_labels(if small { 5 } else { 9 })
        .y_labels(if small { 5 } else { 7 })
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .draw()
        .map_err(err)?;
    if y0 < 0.0 && y1 > 0.0 {
        chart
            .draw_series(LineSeries::new(
                vec![(x0, 0.0), (x1, 0.0)],
                MUTED.stroke_width(1),
            ))
            .map_err(err)?;
    }
    for band in &p.bands {
        let rows: Vec<_> = band
            .rows
            .iter()
            .copied()
            .filter(|r| r.0.is_finite() && r.1.is_finite() && r.2.is_finite())
            .collect();
        if rows.is_empty() {
            continue;
        }
        let mut poly: Vec<(f64, f64)> = rows.iter().map(|r| (r.0, r.2)).collect();
        poly.extend(rows.iter().rev().map(|r| (r.0, r.1)));
        let fill = band.color.mix(band.opacity);
        let anno = chart
            .draw_series(std::iter::once(Polygon::new(poly, fill.filled())))
            .map_err(err)?;
        if let Some(l) = &band.label {
            anno.label(l.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 18, y + 6)], fill.filled()));
        }
    }
    for v in &p.vlines {
        let c = v.color;
        let anno = chart
            .draw_series(DashedLineSeries::new(
                vec![(v.x, y0), (v.x, y1)],
                6,
                4,
                c.stroke_width(2),
            ))
            .map_err(err)?;
        if let Some(l) = &v.label {
            anno.label(l.as_str()).legend(move |(x, y)| {
                DashedPathElement::new(vec![(x, y), (x + 18, y)], 5, 3, c.stroke_width(2))
            });
        }
    }
    for line in &p.lines {
        let c = line.color;
        let mut labelled = false;
        for run in runs(&line.points) {
            let anno = if line.width == 0 {
                chart
                    .draw_series(
                        run.iter()
                            .map(|&pt| Circle::new(pt, line.dots, c.mix(0.85).filled())),
                    )
                    .map_err(err)?
            } else if line.dashed {
                chart
                    .draw_series(DashedLineSeries::new(
                        run.clone(),
                        6,
                        4,
                        c.stroke_width(line.width),
                    ))
                    .map_err(err)?
            } else {
                chart
                    .draw_series(LineSeries::new(run.clone(), c.stroke_width(line.width)))
                    .map_err(err)?
            };
            if let (Some(l), false) = (&line.label, labelled) {
                anno.label(l.as_str())
                    .legend(legend_line(c, line.width, line.dots));
                labelled = true;
            }
            if line.width > 0 && line.dots > 0 {
                chart
                    .draw_series(run.iter().map(|&pt| Circle::new(pt, line.dots, c.filled())))
                    .map_err(err)?;
            }
        }
    }
    for m in &p.markers {
        if !(m.at.0.is_finite() && m.at.1.is_finite()) {
            continue;
        }
        let c = m.color;
        if m.diamond {
            let anno = chart
                .draw_series(std::iter::once(
                    EmptyElement::at(m.at)
                        + Polygon::new(vec![(0, -8), (8, 0), (0, 8), (-8, 0)], WHITE.filled())
                        + Polygon::new(vec![(0, -6), (6, 0), (0, 6), (-6, 0)], c.filled()),
                ))
                .map_err(err)?;
            if let Some(l) = &m.label {
                anno.label(l.as_str()).legend(move |(x, y)| {
                    Polygon::new(
                        vec![(x + 9, y - 6), (x + 15, y), (x + 9, y + 6), (x + 3, y)],
                        c.filled(),
                    )
                });
            }
        } else {
            let anno = chart
                .draw_series(std::iter::once(
                    EmptyElement::at(m.at)
                        + Circle::new((0, 0), 7, WHITE.filled())
                        + Circle::new((0, 0), 5, c.filled()),
                ))
                .map_err(err)?;
            if let Some(l) = &m.label {
                anno.label(l.as_str())
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, c.filled()));
            }
        }
        if let Some(t) = &m.text {
            let style = font(12).pos(Pos::new(HPos::Left, VPos::Bottom));
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at(m.at) + Text::new(t.clone(), (8, -8), style),
                ))
                .map_err(err)?;
        }
    }
    if let Some(pos) = &p.legend {
        let any = p.lines.iter().any(|l| l.label.is_some())
            || p.bands.iter().any(|b| b.label.is_some())
            || p.markers.iter().any(|m| m.label.is_some())
            || p.vlines.iter().any(|v| v.label.is_some());
        if any {
            chart
                .configure_series_labels()
                .position(pos.clone())
                .background_style(WHITE.mix(0.9))
                .border_style(GRID)
                .label_font(font(if small { 12 } else { 14 }))
                .margin(10)
                .draw()
                .map_err(err)?;
        }
    }
    Ok(())
}

/// One panel as an SVG of `WIDTH × height`.
pub fn xy(panel: &Panel, height: u32) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_panel(&root, panel)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Panels in a grid of `cols` columns, each `panel_height` tall.
pub fn grid(panels: &[Panel], cols: usize, panel_height: u32) -> Result<String, String> {
    let cols = cols.clamp(1, panels.len().max(1));
    let rows = panels.len().div_ceil(cols).max(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, panel_height * rows as u32))
            .into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let areas = root.split_evenly((rows, cols));
        for (p, a) in panels.iter().zip(areas.iter()) {
            draw_panel(a, p)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// One series of bars (one bar per category).
#[derive(Debug, Clone)]
pub struct BarGroup {
    /// Legend text.
    pub label: Option<String>,
    /// Colour (per group), or per category when `per_category` is set.
    pub color: RGBColor,
    /// Colours per category (overrides `color`).
    pub per_category: Option<Vec<RGBColor>>,
    /// Values per category.
    pub values: Vec<Option<f64>>,
    /// Intervals per category.
    pub intervals: Vec<Option<(f64, f64)>>,
}

/// A horizontal bar chart: categories top to bottom, one bar per group in each.
#[derive(Debug, Clone)]
pub struct Bars {
    /// Category names.
    pub categories: Vec<String>,
    /// Bar series.
    pub groups: Vec<BarGroup>,
    /// x axis description.
    pub x_desc: String,
    /// Value labels at the bar ends.
    pub value_text: fn(Option<f64>) -> String,
    /// A dashed reference line at this x, with its legend text.
    pub reference: Option<(f64, String)>,
}

/// A horizontal bar chart as an SVG `WIDTH` wide, its height from the number of bars.
pub fn bars(b: &Bars) -> Result<String, String> {
    let n = b.categories.len().max(1);
    let k = b.groups.len().max(1);
    let bar_px: u32 = if k == 1 { 24 } else { 14 };
    let legend_px = if b.groups.iter().any(|g| g.label.is_some()) || b.reference.is_some() {
        34
    } else {
        0
    };
    let height = 70 + legend_px + n as u32 * (bar_px * k as u32 + 14);
    let mut lo = 0.0_f64;
    let mut hi = 0.0_f64;
    for g in &b.groups {
        for v in g.values.iter().flatten().filter(|v| v.is_finite()) {
            lo = lo.min(*v);
            hi = hi.max(*v);
        }
        for (a, z) in g.intervals.iter().flatten() {
            if a.is_finite() && z.is_finite() {
                lo = lo.min(*a);
                hi = hi.max(*z);
            }
        }
    }
    if let Some((r, _)) = &b.reference {
        lo = lo.min(*r);
        hi = hi.max(*r);
    }
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let span = hi - lo;
    let (x0, x1) = (
        if lo < 0.0 { lo - 0.14 * span } else { 0.0 },
        if hi > 0.0 { hi + 0.16 * span } else { 0.0 },
    );
    let longest = b
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let mut svg = String::new();
    if !drawable(x0, x1) {
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, 60)).into_drawing_area();
            root.fill(&WHITE).map_err(err)?;
            too_large(&root)?;
            root.present().map_err(err)?;
        }
        return Ok(svg);
    }
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (legend_area, plot_area) = root.split_vertically(legend_px);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(46)
            .y_label_area_size((longest * 8 + 24).clamp(60, 260))
            .build_cartesian_2d(x0..x1, (0..n - 1).into_segmented())
            .map_err(err)?;
        let cats = &b.categories;
        let yf = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < n => cats[n - 1 - *i].clone(),
            _ => String::new(),
        };
        let xf = |v: &f64| compact(*v);
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .label_style(font(14))
            .axis_desc_style(font(14))
            .x_desc(b.x_desc.as_str())
            .x_labels(8)
            .y_labels(n)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .draw()
            .map_err(err)?;
        let seg = chart.plotting_area().dim_in_pixel().1 / n as u32;
        let pad = seg.saturating_sub(bar_px * k as u32) / 2;
        let ink = INK;
        for (g, group) in b.groups.iter().enumerate() {
            let top = pad + g as u32 * bar_px;
            let bottom = seg.saturating_sub(top + bar_px);
            let rects: Vec<_> = group
                .values
                .iter()
                .enumerate()
                .filter_map(|(i, v)| v.filter(|v| v.is_finite()).map(|v| (i, v)))
                .map(|(i, v)| {
                    let s = n - 1 - i;
                    let c = group
                        .per_category
                        .as_ref()
                        .and_then(|p| p.get(i).copied())
                        .unwrap_or(group.color);
                    let mut r = Rectangle::new(
                        [
                            (0.0, SegmentValue::Exact(s)),
                            (v, SegmentValue::Exact(s + 1)),
                        ],
                        c.filled(),
                    );
                    r.set_margin(top, bottom, 0, 0);
                    r
                })
                .collect();
            let c = group.color;
            let anno = chart.draw_series(rects).map_err(err)?;
            if let Some(l) = &group.label {
                anno.label(l.as_str()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled())
                });
            }
            // intervals: a 2px whisker through the bar's middle with caps
            let mid_top = top + bar_px / 2 - 1;
            let mid_bottom = seg.saturating_sub(mid_top + 2);
            let cap_top = top + 2;
            let cap_bottom = seg.saturating_sub(top + bar_px - 2);
            for (i, iv) in group.intervals.iter().enumerate() {
                let Some((a, z)) = iv.filter(|(a, z)| a.is_finite() && z.is_finite()) else {
                    continue;
                };
                let s = n - 1 - i;
                let mut w = Rectangle::new(
                    [(a, SegmentValue::Exact(s)), (z, SegmentValue::Exact(s + 1))],
                    ink.filled(),
                );
                w.set_margin(mid_top, mid_bottom, 0, 0);
                let mut c1 = Rectangle::new(
                    [(a, SegmentValue::Exact(s)), (a, SegmentValue::Exact(s + 1))],
                    ink.stroke_width(2),
                );
                c1.set_margin(cap_top, cap_bottom, 0, 0);
                let mut c2 = Rectangle::new(
                    [(z, SegmentValue::Exact(s)), (z, SegmentValue::Exact(s + 1))],
                    ink.stroke_width(2),
                );
                c2.set_margin(cap_top, cap_bottom, 0, 0);
                chart.draw_series([w, c1, c2]).map_err(err)?;
            }
            // value labels beyond the bar (or its interval)
            let dy = top as i32 + bar_px as i32 / 2 - seg as i32 / 2;
            for (i, v) in group.values.iter().enumerate() {
                let Some(v) = v.filter(|v| v.is_finite()) else {
                    continue;
                };
                let end = match group.intervals.get(i).copied().flatten() {
                    Some((_, z)) if v >= 0.0 && z.is_finite() => z.max(v),
                    Some((a, _)) if a.is_finite() => a.min(v),
                    _ => v,
                };
                let s = n - 1 - i;
                let (dx, h) = if v >= 0.0 {
                    (6, HPos::Left)
                } else {
                    (-6, HPos::Right)
                };
                let style = font(13).pos(Pos::new(h, VPos::Center));
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((end, SegmentValue::CenterOf(s)))
                            + Text::new((b.value_text)(Some(v)), (dx, dy), style),
                    ))
                    .map_err(err)?;
            }
        }
        if let Some((r, label)) = &b.reference {
            let c = ALERT;
            chart
                .draw_series(std::iter::once(DashedPathElement::new(
                    vec![(*r, SegmentValue::Exact(0)), (*r, SegmentValue::Exact(n))],
                    6,
                    4,
                    c.stroke_width(2),
                )))
                .map_err(err)?
                .label(label.as_str())
                .legend(move |(x, y)| {
                    DashedPathElement::new(vec![(x, y), (x + 18, y)], 5, 3, c.stroke_width(2))
                });
        }
        if legend_px > 0 {
            // legend in its own strip above the plot, entries side by side
            let mut entries: Vec<(String, RGBColor, bool)> = b
                .groups
                .iter()
                .filter_map(|g| g.label.clone().map(|l| (l, g.color, false)))
                .collect();
            if let Some((_, l)) = &b.reference {
                entries.push((l.clone(), ALERT, true));
            }
            let mut x = 20;
            for (label, c, dashed) in entries {
                let y = legend_px as i32 / 2;
                if dashed {
                    legend_area
                        .draw(&DashedPathElement::new(
                            vec![(x, y), (x + 18, y)],
                            5,
                            3,
                            c.stroke_width(2),
                        ))
                        .map_err(err)?;
                } else {
                    legend_area
                        .draw(&Rectangle::new([(x, y - 6), (x + 18, y + 6)], c.filled()))
                        .map_err(err)?;
                }
                legend_area
                    .draw(&Text::new(
                        label.clone(),
                        (x + 26, y),
                        font(13).pos(Pos::new(HPos::Left, VPos::Center)),
                    ))
                    .map_err(err)?;
                x += 40 + 8 * label.chars().count() as i32;
            }
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A heatmap: rows top to bottom, columns left to right, each cell coloured by `|value|`
/// (white at 0, red at `cap` and above) and labelled with `text(value)`.
#[derive(Debug, Clone)]
pub struct Heatmap {
    /// Row names.
    pub rows: Vec<String>,
    /// Column names.
    pub cols: Vec<String>,
    /// `values[row][col]`.
    pub values: Vec<Vec<Option<f64>>>,
    /// Magnitude of full colour.
    pub cap: f64,
    /// Cell labels.
    pub text: fn(Option<f64>) -> String,
    /// Legend text explaining the colour.
    pub legend: String,
}

fn heat(v: f64, cap: f64) -> RGBColor {
    let t = (v.abs() / cap.max(1e-12)).clamp(0.0, 1.0);
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(lerp(240, 200), lerp(249, 40), lerp(244, 40))
}

/// A heatmap as an SVG `WIDTH` wide, its height from the number of rows.
pub fn heatmap(h: &Heatmap) -> Result<String, String> {
    let (nr, nc) = (h.rows.len().max(1), h.cols.len().max(1));
    let height = 110 + 34 * nr as u32;
    let longest = h.rows.iter().map(|c| c.chars().count()).max().unwrap_or(4) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let (legend_area, plot_area) = root.split_vertically(34);
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(10)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size((longest * 8 + 24).clamp(60, 300))
            .build_cartesian_2d((0..nc - 1).into_segmented(), (0..nr - 1).into_segmented())
            .map_err(err)?;
        let (rows, cols) = (&h.rows, &h.cols);
        let xf = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < nc => cols[*i].clone(),
            _ => String::new(),
        };
        let yf = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) if *i < nr => rows[nr - 1 - *i].clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_mesh()
            .axis_style(MUTED)
            .label_style(font(14))
            .x_labels(nc)
            .y_labels(nr)
            .x_label_formatter(&xf)
            .y_label_formatter(&yf)
            .draw()
            .map_err(err)?;
        for (r, row) in h.values.iter().enumerate() {
            let s = nr - 1 - r;
            for (c, v) in row.iter().enumerate() {
                let fill = match v {
                    Some(x) if x.is_finite() => heat(*x, h.cap),
                    _ => GRID,
                };
                let mut rect = Rectangle::new(
                    [
                        (SegmentValue::Exact(c), SegmentValue::Exact(s)),
                        (SegmentValue::Exact(c + 1), SegmentValue::Exact(s + 1)),
                    ],
                    fill.filled(),
                );
                rect.set_margin(1, 1, 1, 1);
                chart.draw_series(std::iter::once(rect)).map_err(err)?;
                let dark = v.is_some_and(|x| x.abs() > 0.55 * h.cap);
                let style = font(13)
                    .color(if dark { &WHITE } else { &INK })
                    .pos(Pos::new(HPos::Center, VPos::Center));
                chart
                    .draw_series(std::iter::once(Text::new(
                        (h.text)(*v),
                        (SegmentValue::CenterOf(c), SegmentValue::CenterOf(s)),
                        style,
                    )))
                    .map_err(err)?;
            }
        }
        // colour legend: a small gradient from 0 to the cap
        let (x0, y) = (20, 17);
        for k in 0..=20 {
            let c = heat(h.cap * k as f64 / 20.0, h.cap);
            legend_area
                .draw(&Rectangle::new(
                    [(x0 + 6 * k, y - 7), (x0 + 6 * k + 6, y + 7)],
                    c.filled(),
                ))
                .map_err(err)?;
        }
        legend_area
            .draw(&Text::new(
                h.legend.clone(),
                (x0 + 6 * 21 + 10, y),
                font(13).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
