//! The quickstart's report as a person sees it: rendered by headless Chromium, every expected
//! chart is drawn with a non-zero size, the screenshot is a real picture (the channels'
//! colours are on it), and the figures in the rendered page equal those in results.json.
//!
//! Needs `/usr/bin/chromium` (or `$CHROMIUM`). Without it the test prints why it skips, and
//! fails when `MMM_REQUIRE_BROWSER=1` (set by `.ci/run`, which installs Chromium).

mod common;

use common::{root, run_ok};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Charts the quickstart's report must show.
const CHARTS: &[&str] = &[
    "chart-fit",
    "chart-residuals",
    "chart-decomposition",
    "chart-contribution",
    "chart-roi",
    "chart-response",
    "chart-adstock",
];

const HEIGHT: u32 = 7000;

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    p.is_file().then_some(p)
}

fn browser(chromium: &Path, profile: &Path, args: &[String]) -> std::process::Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium starts")
}

/// The start tag of the element with this id, in a DOM dump.
fn start_tag<'a>(dom: &'a str, id: &str) -> Option<&'a str> {
    let at = dom.find(&format!("id=\"{id}\""))?;
    let open = dom[..at].rfind('<')?;
    let close = at + dom[at..].find('>')?;
    Some(&dom[open..=close])
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let k = tag.find(&format!(" {name}=\""))?;
    Some(tag[k + name.len() + 3..].split('"').next()?.to_string())
}

/// `(data-value, shown text)` of the cell `key` in row `row` of table `table`.
fn cell(dom: &str, table: &str, row: &str, key: &str) -> Option<(f64, String)> {
    let t = dom.find(&format!("<table id=\"{table}\""))?;
    let body = &dom[t..t + dom[t..].find("</table>")?];
    let r = body.find(&format!("data-row=\"{row}\""))?;
    let tr = &body[r..r + body[r..].find("</tr>")?];
    let k = tr.find(&format!("data-key=\"{key}\""))?;
    let rest = &tr[k..];
    let value = rest
        .split("data-value=\"")
        .nth(1)?
        .split('"')
        .next()?
        .parse()
        .ok()?;
    let text = rest.split('>').nth(1)?.split('<').next()?.to_string();
    Some((value, text))
}

#[test]
fn quickstart_report_renders_in_chromium_with_every_chart_and_the_results_figures() {
    let Some(chromium) = chromium() else {
        if std::env::var("MMM_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!(
                "MMM_REQUIRE_BROWSER=1 but /usr/bin/chromium (or $CHROMIUM) is missing: \
                 apt-get install -y chromium"
            );
        }
        eprintln!(
            "SKIPPED report_browser: /usr/bin/chromium not found (apt-get install -y chromium; \
             .ci/run installs it and sets MMM_REQUIRE_BROWSER=1)"
        );
        return;
    };
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("quickstart");
    let r = run_ok(&root().join("examples/quickstart/spec.json"), &out);
    let report = out.join("report.html");
    let html = std::fs::read_to_string(&report).unwrap();

    // 1. rendered sizes: a copy of the page with a script that writes each chart's rendered
    //    box into attributes (the report itself has no script), read back from --dump-dom
    let probe = html.replace(
        "</body>",
        "<script>for (const f of document.querySelectorAll('figure.chart')) {\
           const s = f.querySelector('svg'); if (!s) continue; const b = s.getBoundingClientRect();\
           f.setAttribute('data-rendered-width', Math.round(b.width));\
           f.setAttribute('data-rendered-height', Math.round(b.height));\
           f.setAttribute('data-rendered-shapes', s.querySelectorAll('path,polyline,polygon,rect,circle,line,text').length);\
         }</script></body>",
    );
    let probe_path = out.join("probe.html");
    std::fs::write(&probe_path, probe).unwrap();
    let profile = tempfile::tempdir().unwrap();
    let o = browser(
        &chromium,
        profile.path(),
        &[
            format!("--window-size=1280,{HEIGHT}"),
            "--dump-dom".into(),
            format!("file://{}", probe_path.display()),
        ],
    );
    assert!(
        o.status.success(),
        "chromium --dump-dom failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dom = String::from_utf8(o.stdout).unwrap();
    assert!(
        dom.contains("id=\"section-channels\""),
        "DOM dump holds the report"
    );
    for id in CHARTS {
        let tag = start_tag(&dom, id).unwrap_or_else(|| panic!("{id} missing from the DOM"));
        let w: f64 = attr(tag, "data-rendered-width")
            .unwrap_or_default()
            .parse()
            .unwrap_or(0.0);
        let h: f64 = attr(tag, "data-rendered-height")
            .unwrap_or_default()
            .parse()
            .unwrap_or(0.0);
        let shapes: f64 = attr(tag, "data-rendered-shapes")
            .unwrap_or_default()
            .parse()
            .unwrap_or(0.0);
        assert!(w > 600.0 && h > 150.0, "{id} rendered at {w}×{h}");
        assert!(shapes > 20.0, "{id} has only {shapes} drawn shapes");
    }

    // 2. the figures shown equal results.json, and are written by the format rules
    for c in r["channels"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        for (key, fmt) in [
            (
                "spend",
                mmm_report::format::amount as fn(Option<f64>) -> String,
            ),
            ("contribution", mmm_report::format::amount),
            ("share", mmm_report::format::pct_fraction),
            ("roi", mmm_report::format::ratio),
            ("mroi", mmm_report::format::ratio),
        ] {
            let want = c[key].as_f64().unwrap();
            let (value, text) = cell(&dom, "table-channels", name, key)
                .unwrap_or_else(|| panic!("{name}.{key} not in the rendered table"));
            assert_eq!(value, want, "{name}.{key}");
            assert_eq!(text, fmt(Some(want)), "{name}.{key} as shown");
        }
    }
    let fit = &r["fit"];
    for key in ["r2", "nrmse", "durbin_watson"] {
        let (value, _) = cell(&dom, "table-fit", key, &format!("fit.{key}")).unwrap();
        assert_eq!(Some(value), fit[key].as_f64(), "fit.{key}");
    }

    // 3. the screenshot is a real picture with the charts on it
    let png = d.path().join("report.png");
    let o = browser(
        &chromium,
        profile.path(),
        &[
            format!("--window-size=1280,{HEIGHT}"),
            format!("--screenshot={}", png.display()),
            format!("file://{}", report.display()),
        ],
    );
    assert!(
        o.status.success(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1280, HEIGHT));
    let channels = info.color_type.samples();
    assert!(channels >= 3, "colour screenshot");
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let mut distinct: Vec<[u8; 3]> = pixels.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() > 100,
        "screenshot has only {} colours",
        distinct.len()
    );
    // every channel's palette colour fills its bar in the contribution chart
    let n = r["channels"].as_array().unwrap().len();
    for (i, c) in mmm_report::charts::PALETTE.iter().take(n).enumerate() {
        let count = pixels.iter().filter(|p| **p == [c.0, c.1, c.2]).count();
        assert!(
            count > 500,
            "channel {i}'s colour covers only {count} pixels"
        );
    }
}
