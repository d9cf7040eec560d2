//! The crate layering of CONTRIBUTING.md ("Crate layout and the import rule"): imports run one
//! way. Plugins (`plugins/*`, `examples/inhouse-plugin`) depend on `mmm-core` only, `mmm-core`
//! on no other crate of the workspace, `mmm-data` on `mmm-core` only, `mmm-engine` on
//! `mmm-core` and `mmm-data` only. Dev-dependencies (tests, benches) are free.
//!
//! Read from each crate's `Cargo.toml`: the keys of its `[dependencies]` and
//! `[target.'…'.dependencies]` tables (and `[dependencies.<name>]` tables).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The crates of the workspace (`mmm-…`) among the normal (not dev, not build) dependencies of
/// the manifest at `path`.
fn workspace_deps(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut deps = BTreeSet::new();
    let mut normal = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']').trim();
            // [dependencies], [target.'cfg(unix)'.dependencies], [dependencies.name]
            normal = header == "dependencies" || header.ends_with(".dependencies");
            if let Some(name) = header.strip_prefix("dependencies.") {
                if name.starts_with("mmm") {
                    deps.insert(name.to_string());
                }
                normal = false;
            }
            continue;
        }
        if normal {
            let key = line
                .split(['=', '.'])
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            if key.starts_with("mmm") {
                deps.insert(key.to_string());
            }
        }
    }
    deps
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// The plugin crates: every `plugins/*` with a manifest, and the in-house example.
fn plugin_manifests() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("plugins"))
        .expect("plugins/")
        .map(|e| e.unwrap().path().join("Cargo.toml"))
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out.push(root().join("examples/inhouse-plugin/Cargo.toml"));
    out
}

#[test]
fn the_parser_sees_normal_dependencies_and_skips_dev_dependencies() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("Cargo.toml");
    std::fs::write(
        &p,
        "[package]\nname = \"mmm-x\"\n\n[dependencies]\nmmm-core.workspace = true\n\
         serde = \"1\"\n\n[target.'cfg(unix)'.dependencies]\nmmm-data = { path = \"../d\" }\n\n\
         [dev-dependencies]\nmmm-engine.workspace = true\n\n[dependencies.mmm-sim]\npath = \"s\"\n",
    )
    .unwrap();
    assert_eq!(
        workspace_deps(&p),
        set(&["mmm-core", "mmm-data", "mmm-sim"])
    );
}

#[test]
fn plugins_depend_on_core_only() {
    let manifests = plugin_manifests();
    assert!(manifests.len() >= 7, "found {manifests:?}");
    for m in manifests {
        let deps = workspace_deps(&m);
        assert!(
            deps.contains("mmm-core"),
            "{} does not use mmm-core",
            m.display()
        );
        let forbidden: Vec<_> = deps
            .iter()
            .filter(|d| ["mmm-engine", "mmm-data"].contains(&d.as_str()))
            .collect();
        assert!(
            forbidden.is_empty(),
            "{} depends on {forbidden:?}: a plugin may depend on mmm-core only (see \
             CONTRIBUTING.md, \"Crate layout and the import rule\")",
            m.display()
        );
    }
}

#[test]
fn plugin_sources_do_not_name_the_engine() {
    // belt and braces: a path dependency under another name would slip past the manifest check
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("plugins"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.push(root().join("examples/inhouse-plugin/src"));
    let mut stack = dirs;
    let mut seen = 0;
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                seen += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                for name in ["mmm_engine", "mmm_data"] {
                    assert!(!text.contains(name), "{} names {name}", p.display());
                }
            }
        }
    }
    assert!(seen > 20, "only {seen} plugin source files found");
}

#[test]
fn core_depends_on_no_other_workspace_crate() {
    let deps = workspace_deps(&root().join("crates/mmm-core/Cargo.toml"));
    assert!(deps.is_empty(), "mmm-core depends on {deps:?}");
}

#[test]
fn engine_and_data_layer_depend_downwards_only() {
    let engine = workspace_deps(&root().join("crates/mmm-engine/Cargo.toml"));
    assert_eq!(
        engine,
        set(&["mmm-core", "mmm-data"]),
        "mmm-engine depends on {engine:?}"
    );
    let deps = workspace_deps(&root().join("crates/mmm-data/Cargo.toml"));
    assert_eq!(deps, set(&["mmm-core"]), "mmm-data depends on {deps:?}");
}

/// The Rust sources under `dir`, each with its text without comment lines (so that a doc
/// comment may name the layer that builds on it).
fn sources_without_comments(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                let code: Vec<&str> = text
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect();
                out.push((p, code.join("\n")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn core_and_data_sources_do_not_name_the_layers_above() {
    // belt and braces, as for plugins: mmm-core names neither mmm-data nor the engine, mmm-data
    // does not name the engine
    for (crate_dir, above) in [
        ("crates/mmm-core/src", &["mmm_data", "mmm_engine"][..]),
        ("crates/mmm-data/src", &["mmm_engine"][..]),
    ] {
        let files = sources_without_comments(&root().join(crate_dir));
        assert!(
            files.len() > 10,
            "only {} files in {crate_dir}",
            files.len()
        );
        for (p, code) in files {
            for name in above {
                assert!(!code.contains(name), "{} names {name}", p.display());
            }
        }
    }
}

#[test]
fn the_experiment_spec_lives_in_the_data_layer() {
    // plugins see the spec through mmm_core::causal::ExperimentColumns, not as a type of core
    assert!(!root().join("crates/mmm-core/src/spec.rs").exists());
    assert!(root().join("crates/mmm-data/src/spec.rs").is_file());
    for (p, code) in sources_without_comments(&root().join("crates/mmm-core/src")) {
        assert!(
            !code.contains("ExperimentSpec") && !code.contains("LoadedSpec"),
            "{} names the experiment spec",
            p.display()
        );
    }
}
