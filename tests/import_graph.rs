//! The top-level modules of `src/` import each other without cycles (issue
//! 14): each one can be read, tested and changed from the ones below it.
//! The graph is read from the sources (`crate::NAME` outside comments and
//! test modules, which may reach anywhere), so a new cycle fails here by
//! name.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Top-level module name -> the top-level modules it names.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let top = |p: &Path| -> String {
        let rel = p.strip_prefix(src).unwrap();
        let first = rel.components().next().unwrap().as_os_str();
        first.to_string_lossy().trim_end_matches(".rs").to_string()
    };
    let modules: BTreeSet<String> = files
        .iter()
        .map(|p| top(p))
        .filter(|m| m != "lib" && m != "main")
        .collect();
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &files {
        let from = top(p);
        if !modules.contains(&from) {
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap();
        // Code only: not comments, not the test module at the end.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
            let mut names: Vec<&str> = line
                .split("crate::")
                .skip(1)
                .map(|rest| {
                    rest.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .next()
                        .unwrap_or("")
                })
                .collect();
            // `use crate::{a, b::c}`
            if let Some(rest) = line.split("crate::{").nth(1) {
                let inner = rest.split('}').next().unwrap_or("");
                names.extend(
                    inner
                        .split(',')
                        .map(|n| n.trim().split("::").next().unwrap_or("")),
                );
            }
            for n in names {
                if n != from && modules.contains(n) {
                    g.entry(from.clone()).or_default().insert(n.to_string());
                }
            }
        }
    }
    g
}

/// Whether `to` is reachable from `from`, and by which path.
fn path_between(
    g: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap().clone();
        for next in g.get(&last).into_iter().flatten() {
            if next == to {
                let mut p = path.clone();
                p.push(next.clone());
                return Some(p);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push(p);
            }
        }
    }
    None
}

#[test]
fn the_top_level_modules_import_each_other_without_cycles() {
    let g = graph(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(g.len() > 10, "the graph was not read: {g:?}");
    let mut cycles = Vec::new();
    for (from, tos) in &g {
        for to in tos {
            if let Some(back) = path_between(&g, to, from) {
                cycles.push(format!("{from} -> {}", back.join(" -> ")));
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "import cycles between top-level modules (move the shared part below both):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn a_cycle_is_found_by_name() {
    // The checker itself: a made-up tree with a -> b -> a.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(src.join("lib.rs"), "pub mod a; pub mod b; pub mod c;").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::b::X;\n// crate::c in a comment\n",
    )
    .unwrap();
    std::fs::create_dir(src.join("b")).unwrap();
    std::fs::write(src.join("b/mod.rs"), "use crate::{a::Y, c};\n").unwrap();
    std::fs::write(src.join("c.rs"), "#[cfg(test)]\nmod t { use crate::a; }\n").unwrap();
    let g = graph(src);
    assert_eq!(g["a"], BTreeSet::from(["b".to_string()]));
    assert_eq!(g["b"], BTreeSet::from(["a".to_string(), "c".to_string()]));
    assert!(!g.contains_key("c"), "test modules do not count");
    assert_eq!(
        path_between(&g, "b", "a"),
        Some(vec!["b".into(), "a".into()])
    );
    assert_eq!(path_between(&g, "c", "a"), None);
}
