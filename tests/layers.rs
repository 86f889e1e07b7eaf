//! The library's modules depend on each other one way: no top-level module of the
//! library (`src/X.rs` or `src/X/`) refers, through `crate::`, to one that refers back
//! to it, directly or through others. Read from the sources (test code aside); the
//! command line (`main.rs`, `cli/`) and the workbench (`gui/`) sit on top and are left
//! out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the top-level modules it names through `crate::`.
fn dependencies(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in walkdir::WalkDir::new(src) {
        let e = e.unwrap();
        let p = e.path();
        if p.extension().and_then(|x| x.to_str()) != Some("rs") {
            continue;
        }
        let rel = p.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.trim_end_matches(".rs").to_string();
        if ["main", "lib", "cli", "gui"].contains(&module.as_str()) {
            continue;
        }
        let text = std::fs::read_to_string(p).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let mut names = BTreeSet::new();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            let mut rest = line;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    // use crate::{a::X, b};
                    let inner = group.split('}').next().unwrap_or("");
                    for part in inner.split(',') {
                        let name: String = part
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                            .collect();
                        names.insert(name);
                    }
                } else {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    names.insert(name);
                }
            }
        }
        let entry = deps.entry(module.clone()).or_default();
        for n in names {
            let n = match n.as_str() {
                "Error" | "Result" => "error".to_string(),
                _ => n,
            };
            if !n.is_empty() && n != module && n.chars().next().is_some_and(|c| c.is_lowercase()) {
                entry.insert(n);
            }
        }
    }
    deps
}

/// A path of dependencies from `from` back to `from`, if there is one.
fn cycle_through(deps: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for d in deps.get(&m).into_iter().flatten() {
            if d == from {
                let mut p = path.clone();
                p.push(d.clone());
                return Some(p);
            }
            if seen.insert(d.clone()) {
                let mut p = path.clone();
                p.push(d.clone());
                stack.push((d.clone(), p));
            }
        }
    }
    None
}

/// Every import circle, one line each (`a -> b -> a`).
fn cycles(deps: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    deps.keys()
        .filter_map(|m| cycle_through(deps, m))
        .map(|c| c.join(" -> "))
        .collect()
}

#[test]
fn no_module_of_the_library_depends_on_one_that_depends_back_on_it() {
    let deps = dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(deps.len() > 15, "too few modules found: {deps:?}");
    // The analysis finds what it should: the pipeline uses the encoder.
    assert!(deps["pipeline"].contains("encoder"), "{deps:?}");
    let cycles = cycles(&deps);
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

/// The workbench's modules (`src/gui/**`, by file) and the workbench modules each one
/// names through `super::` or `crate::gui::` (a module's own submodules aside).
fn gui_dependencies(gui: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let name_of = |p: &Path| -> String {
        let rel = p.strip_prefix(gui).unwrap().with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        if parts.last().map(String::as_str) == Some("mod") {
            parts.pop();
        }
        parts.join("::")
    };
    let files: Vec<std::path::PathBuf> = walkdir::WalkDir::new(gui)
        .into_iter()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().and_then(|x| x.to_str()) == Some("rs"))
        .collect();
    let modules: BTreeSet<String> = files.iter().map(|p| name_of(p)).collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in &files {
        let me = name_of(p);
        let text = std::fs::read_to_string(p).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        let entry = deps.entry(me.clone()).or_default();
        for line in code.lines() {
            let line = line.split("//").next().unwrap_or("");
            for (at, _) in line
                .match_indices("super::")
                .chain(line.match_indices("crate::gui::"))
            {
                if at > 0 && line[..at].ends_with("::") {
                    continue; // the tail of a longer path already read
                }
                let path: String = line[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                // `super::{a, b::C}` names each item of the group.
                let mut paths = vec![path.clone()];
                if let Some(group) = line[at + path.len()..].strip_prefix('{') {
                    let inner = group.split('}').next().unwrap_or("");
                    paths = inner
                        .split(',')
                        .map(|i| format!("{path}{}", i.trim().split(' ').next().unwrap_or("")))
                        .collect();
                }
                for path in paths {
                    let mut parts: Vec<&str> = path
                        .split("::")
                        .filter(|s| !s.is_empty() && *s != "self")
                        .collect();
                    let mut base: Vec<String> = if me.is_empty() {
                        Vec::new()
                    } else {
                        me.split("::").map(String::from).collect()
                    };
                    if parts.first() == Some(&"crate") {
                        base.clear();
                        parts.drain(..2);
                    } else {
                        base.pop();
                        parts.remove(0);
                        while parts.first() == Some(&"super") {
                            base.pop();
                            parts.remove(0);
                        }
                    }
                    // The longest prefix of the path that is a module of the workbench.
                    let target = (0..=parts.len()).rev().find_map(|k| {
                        let mut m = base.clone();
                        m.extend(parts[..k].iter().map(|s| s.to_string()));
                        let m = m.join("::");
                        modules.contains(&m).then_some(m)
                    });
                    if let Some(t) = target {
                        if !t.is_empty() && t != me && !me.starts_with(&format!("{t}::")) {
                            entry.insert(t);
                        }
                    }
                }
            }
        }
    }
    deps
}

#[test]
fn the_workbench_modules_depend_on_each_other_one_way() {
    let deps = gui_dependencies(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gui"));
    assert!(deps.len() > 20, "too few modules found: {deps:?}");
    // The analysis finds what it should: the shell applies the commands.
    assert!(deps["app"].contains("commands"), "{deps:?}");
    let cycles = cycles(&deps);
    assert!(
        cycles.is_empty(),
        "import circles in the workbench:\n{}",
        cycles.join("\n")
    );
}
