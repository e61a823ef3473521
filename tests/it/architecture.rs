//! The module graph of `src/`, read from the source text, against the rules of
//! docs/ARCHITECTURE.md: no import loops at any level, boundaries that know nothing of the job or
//! the settings, and settings that name no backend. A change that breaks a rule fails here, naming
//! the files and the lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// A module path below the crate root, e.g. `["store", "s3"]`.
type ModPath = Vec<String>;

/// One reference from a module to another, where it was written.
#[derive(Debug, Clone)]
struct Reference {
    to: ModPath,
    file: String,
    line: usize,
    text: String,
}

/// Every module of `src/` and what it references.
struct Graph {
    modules: BTreeSet<ModPath>,
    references: BTreeMap<ModPath, Vec<Reference>>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` → `[a, b]`; `src/a/mod.rs` → `[a]`; `src/lib.rs` → `[]`; `None` for the binary.
fn module_of(rel: &Path) -> Option<ModPath> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop()?;
    match last.as_str() {
        "main.rs" if parts.is_empty() => None,
        "lib.rs" if parts.is_empty() => Some(parts),
        "mod.rs" => Some(parts),
        other => {
            parts.push(other.trim_end_matches(".rs").to_string());
            Some(parts)
        }
    }
}

/// The longest known module a path of names leads to (`crate::store::Key` → `store`).
fn resolve(modules: &BTreeSet<ModPath>, path: &[String]) -> ModPath {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains(p))
        .unwrap_or_default()
}

fn graph() -> Graph {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut sources = Vec::new();
    let mut modules = BTreeSet::new();
    for file in files {
        let rel = file.strip_prefix(&root).unwrap().to_path_buf();
        if let Some(module) = module_of(&rel) {
            modules.insert(module.clone());
            sources.push((module, rel, std::fs::read_to_string(&file).unwrap()));
        }
    }
    let path = Regex::new(r"\b(crate|super)((?:::[a-z_][a-z0-9_]*)*)").unwrap();
    let mut references: BTreeMap<ModPath, Vec<Reference>> = BTreeMap::new();
    for (module, rel, text) in sources {
        // A `mod.rs` file is its folder's module; `super` there is the folder's parent.
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for m in path.captures_iter(code) {
                let names: Vec<String> = m[2]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let mut full = if &m[1] == "crate" {
                    Vec::new()
                } else {
                    module[..module.len().saturating_sub(1)].to_vec()
                };
                full.extend(names);
                let to = resolve(&modules, &full);
                if to != module {
                    references
                        .entry(module.clone())
                        .or_default()
                        .push(Reference {
                            to,
                            file: format!("src/{}", rel.display()),
                            line: n + 1,
                            text: line.trim().to_string(),
                        });
                }
            }
        }
    }
    Graph {
        modules,
        references,
    }
}

impl Graph {
    /// References made by `module` or any module inside it.
    fn made_within(&self, module: &[String]) -> impl Iterator<Item = &Reference> {
        self.references
            .iter()
            .filter(move |(m, _)| m.starts_with(module))
            .flat_map(|(_, refs)| refs.iter())
    }

    /// References from inside `from` to inside `to`, as `file:line: text` lines.
    fn between(&self, from: &[String], to: &[String]) -> Vec<String> {
        self.made_within(from)
            .filter(|r| r.to.starts_with(to))
            .map(|r| format!("{}:{}: {}", r.file, r.line, r.text))
            .collect()
    }
}

fn modpath(s: &str) -> ModPath {
    s.split("::")
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Strongly connected groups of more than one module (Tarjan's algorithm).
fn cycles(nodes: &[ModPath], edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    struct Tarjan<'a> {
        edges: &'a BTreeMap<ModPath, BTreeSet<ModPath>>,
        index: BTreeMap<ModPath, usize>,
        low: BTreeMap<ModPath, usize>,
        stack: Vec<ModPath>,
        on_stack: BTreeSet<ModPath>,
        out: Vec<Vec<ModPath>>,
    }
    impl Tarjan<'_> {
        fn visit(&mut self, v: &ModPath) {
            let i = self.index.len();
            self.index.insert(v.clone(), i);
            self.low.insert(v.clone(), i);
            self.stack.push(v.clone());
            self.on_stack.insert(v.clone());
            for w in self.edges.get(v).into_iter().flatten() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v.clone(), low);
                } else if self.on_stack.contains(w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v.clone(), low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(&w);
                    let done = &w == v;
                    group.push(w);
                    if done {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.out.push(group);
                }
            }
        }
    }
    let mut t = Tarjan {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for n in nodes {
        if !t.index.contains_key(n) {
            t.visit(n);
        }
    }
    t.out
}

#[test]
fn no_modules_import_each_other_at_any_level() {
    let g = graph();
    let mut problems = Vec::new();
    // Siblings: the modules directly inside one parent (the crate's top-level modules included).
    let parents: BTreeSet<ModPath> = g
        .modules
        .iter()
        .filter(|m| !m.is_empty())
        .map(|m| m[..m.len() - 1].to_vec())
        .collect();
    for parent in parents {
        let siblings: Vec<ModPath> = g
            .modules
            .iter()
            .filter(|m| m.len() == parent.len() + 1 && m.starts_with(&parent))
            .cloned()
            .collect();
        let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
        for a in &siblings {
            for r in g.made_within(a) {
                if let Some(b) = siblings.iter().find(|b| *b != a && r.to.starts_with(b)) {
                    edges.entry(a.clone()).or_default().insert(b.clone());
                }
            }
        }
        for group in cycles(&siblings, &edges) {
            let names: Vec<String> = group.iter().map(|m| m.join("::")).collect();
            let mut detail = Vec::new();
            for a in &group {
                for b in &group {
                    if edges.get(a).is_some_and(|e| e.contains(b)) {
                        for line in g.between(a, b).into_iter().take(3) {
                            detail.push(format!("    {} → {}: {line}", a.join("::"), b.join("::")));
                        }
                    }
                }
            }
            problems.push(format!(
                "import loop between {}:\n{}",
                names.join(", "),
                detail.join("\n")
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// `(modules, what they must not reference, why)`.
const FORBIDDEN: &[(&[&str], &[&str], &str)] = &[
    (
        &[
            "notify", "plot", "publish", "events", "status", "store", "index", "queue", "report",
        ],
        &["job"],
        "the job uses these; they read the report (crate::report), never the job",
    ),
    (
        &["store", "index", "notify", "queue", "aws"],
        &["settings", "cli"],
        "a boundary is opened from its own URL type; settings depend on boundaries, never the reverse",
    ),
    (
        &["settings"],
        &[
            "aws",
            "store::s3",
            "store::local",
            "index::sqlite",
            "index::postgres",
            "notify::smtp",
            "notify::outbox",
            "queue::sqs",
            "queue::local",
        ],
        "settings parse each boundary's URL type and name no backend",
    ),
    (
        &["compliance"],
        &["pipeline", "check"],
        "the checker is a library the check step uses, not the reverse",
    ),
];

#[test]
fn boundaries_and_settings_import_only_what_the_layers_allow() {
    let g = graph();
    let mut problems = Vec::new();
    for (from, to, why) in FORBIDDEN {
        for f in *from {
            let f = modpath(f);
            assert!(g.modules.contains(&f), "no module {f:?} in src/");
            for t in *to {
                for line in g.between(&f, &modpath(t)) {
                    problems.push(format!("{} must not use {t} ({why}): {line}", f.join("::")));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_scanner_sees_references_and_loops() {
    // The rules above pass only if the scanner works: check it on what the tree must contain.
    let g = graph();
    assert!(
        !g.between(&modpath("job"), &modpath("publish")).is_empty(),
        "the job calls publish"
    );
    assert!(
        !g.between(&modpath("store::s3"), &modpath("aws")).is_empty(),
        "the S3 store uses the AWS clients"
    );
    let a = modpath("a");
    let b = modpath("b");
    let c = modpath("c");
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([c.clone()])),
        (c.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(
        cycles(&[a.clone(), b.clone(), c.clone()], &edges),
        [vec![a, b, c]]
    );
}
