//! Static checks of a template for what would fail only at run time, in any branch: unknown
//! filters, tests, functions and methods; names the context does not have (a typo, a group the
//! rule's `include` lacks, an undeclared constant or vocabulary); a variable `{% set %}` inside an
//! `{% if %}` (or a loop) and used after it, which is undefined whenever that branch is not
//! taken; invalid patterns and formats given to the pipeline filters. `pipelines validate` runs
//! it on every template, so such a template is refused before any file meets it.
//!
//! It walks minijinja's syntax tree (`minijinja::machinery`, an unstable interface pinned by
//! Cargo.lock): the parser is minijinja's own, so what is checked is what will run.

use std::collections::{BTreeMap, BTreeSet};

use minijinja::machinery::ast::{self, CallArg, Expr, Stmt};
use minijinja::machinery::{WhitespaceConfig, parse, parse_expr};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, ErrorKind};

use super::{CONTEXT_NAMES, DEST_NAMES, PRIMARY_FIELDS, PUBLISHED_FIELDS, environment, filters};

/// What the template's rule declares, for the names a template may use.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    /// The named groups of the rule's `include` (`m.<group>`).
    pub groups: BTreeSet<String>,
    /// The pipeline's constants (`const.<NAME>`).
    pub constants: BTreeSet<String>,
    /// The pipeline file's vocabularies (`vocab.<name>`).
    pub vocabularies: BTreeSet<String>,
    /// Whether the file's destination is known (archive templates).
    pub dest_known: bool,
    /// Whether the pipeline declares a primary file (`primary.*`).
    pub primary: bool,
    /// Whether a published version is at hand (`[pipeline.files.published]` templates).
    pub published: bool,
}

/// One problem, at a line of the template (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub message: String,
}

const IMOS_FIELDS: &[&str] = &[
    "project",
    "facility_code",
    "facility",
    "sub_facility",
    "data_code",
    "start",
    "platform",
    "file_version",
    "product",
    "end",
    "created",
    "part",
    "extension",
];

/// Checks a template (or, with `condition`, an expression).
pub fn lint(source: &str, condition: bool, scope: &Scope) -> Vec<Problem> {
    let env = environment();
    let mut l = Linter {
        env: &env,
        scope,
        problems: Vec::new(),
        known_filters: BTreeMap::new(),
        known_tests: BTreeMap::new(),
    };
    let mut defined = Defined::default();
    if condition {
        match parse_expr(source) {
            Ok(e) => l.expr(&e, &defined),
            Err(e) => l.problems.push(Problem {
                line: e.line().unwrap_or(1),
                message: format!("invalid condition: {e}"),
            }),
        }
    } else {
        // SyntaxConfig is a unit struct only while minijinja's custom_syntax feature is off.
        #[allow(clippy::default_constructed_unit_structs)]
        let syntax = SyntaxConfig::default();
        match parse(source, "template", syntax, WhitespaceConfig::default()) {
            Ok(stmt) => l.stmt(&stmt, &mut defined),
            Err(e) => l.problems.push(Problem {
                line: e.line().unwrap_or(1),
                message: format!("invalid template: {e}"),
            }),
        }
    }
    let mut seen = BTreeSet::new();
    l.problems
        .retain(|p| seen.insert((p.line, p.message.clone())));
    l.problems
}

/// The local names known at a point: surely set, or set only on some paths (where, and why).
#[derive(Debug, Default, Clone)]
struct Defined {
    sure: BTreeSet<String>,
    maybe: BTreeMap<String, String>,
}

struct Linter<'a> {
    env: &'a Environment<'static>,
    scope: &'a Scope,
    problems: Vec<Problem>,
    known_filters: BTreeMap<String, bool>,
    known_tests: BTreeMap<String, bool>,
}

impl Linter<'_> {
    fn at(&mut self, line: u16, message: String) {
        self.problems.push(Problem {
            line: line as usize,
            message,
        });
    }

    /// Whether the environment has a filter (or test) of this name: minijinja names an unknown
    /// one only when it is applied, so apply it once to `none` and look at the error kind.
    fn exists(&mut self, name: &str, test: bool) -> bool {
        let cache = if test {
            &mut self.known_tests
        } else {
            &mut self.known_filters
        };
        if let Some(&known) = cache.get(name) {
            return known;
        }
        let probe = if test {
            format!("{{{{ none is {name} }}}}")
        } else {
            format!("{{{{ none | {name} }}}}")
        };
        let known = match self.env.render_str(&probe, ()) {
            Ok(_) => true,
            Err(e) => !matches!(e.kind(), ErrorKind::UnknownFilter | ErrorKind::UnknownTest),
        };
        cache.insert(name.to_string(), known);
        known
    }

    fn function_exists(&self, name: &str) -> bool {
        self.env.globals().any(|(n, _)| n == name)
    }

    fn stmts(&mut self, body: &[Stmt<'_>], defined: &mut Defined) {
        for s in body {
            self.stmt(s, defined);
        }
    }

    fn stmt(&mut self, stmt: &Stmt<'_>, defined: &mut Defined) {
        match stmt {
            Stmt::Template(t) => self.stmts(&t.children, defined),
            Stmt::EmitExpr(e) => self.expr(&e.expr, defined),
            Stmt::EmitRaw(_) => {}
            Stmt::IfCond(c) => {
                self.expr(&c.expr, defined);
                let mut yes = defined.clone();
                self.stmts(&c.true_body, &mut yes);
                let mut no = defined.clone();
                self.stmts(&c.false_body, &mut no);
                let line = c.span().start_line;
                for name in yes.sure.symmetric_difference(&no.sure) {
                    if !defined.sure.contains(name) {
                        defined.maybe.insert(
                            name.clone(),
                            format!("is set only in one branch of the {{% if %}} at line {line}, so it is undefined here when the other branch is taken; set it before the if or in every branch"),
                        );
                    }
                }
                for name in yes.sure.intersection(&no.sure) {
                    defined.sure.insert(name.clone());
                    defined.maybe.remove(name);
                }
                for (n, why) in yes.maybe.into_iter().chain(no.maybe) {
                    if !defined.sure.contains(&n) {
                        defined.maybe.entry(n).or_insert(why);
                    }
                }
            }
            Stmt::ForLoop(f) => {
                self.expr(&f.iter, defined);
                let mut inner = defined.clone();
                self.assign(&f.target, &mut inner);
                inner.sure.insert("loop".into());
                if let Some(filter) = &f.filter_expr {
                    self.expr(filter, &inner);
                }
                self.stmts(&f.body, &mut inner);
                let mut other = defined.clone();
                self.stmts(&f.else_body, &mut other);
                let line = f.span().start_line;
                for name in inner.sure.difference(&defined.sure) {
                    if name != "loop" && !target_names(&f.target).contains(name) {
                        defined.maybe.insert(
                            name.clone(),
                            format!("is set inside the {{% for %}} at line {line}, and a loop's variables are not visible after it; use a namespace() set before the loop"),
                        );
                    }
                }
            }
            Stmt::WithBlock(w) => {
                let mut inner = defined.clone();
                for (target, value) in &w.assignments {
                    self.expr(value, defined);
                    self.assign(target, &mut inner);
                }
                self.stmts(&w.body, &mut inner);
            }
            Stmt::Set(s) => {
                self.expr(&s.expr, defined);
                match &s.target {
                    Expr::GetAttr(_) | Expr::GetItem(_) => self.expr(&s.target, defined),
                    target => self.assign(target, defined),
                }
            }
            Stmt::SetBlock(s) => {
                let mut inner = defined.clone();
                self.stmts(&s.body, &mut inner);
                if let Some(f) = &s.filter {
                    self.expr(f, defined);
                }
                self.assign(&s.target, defined);
            }
            Stmt::AutoEscape(a) => {
                self.expr(&a.enabled, defined);
                self.stmts(&a.body, defined);
            }
            Stmt::FilterBlock(f) => {
                self.expr(&f.filter, defined);
                self.stmts(&f.body, defined);
            }
            Stmt::Do(d) => self.call(&d.call, d.call.span().start_line, defined),
            #[allow(unreachable_patterns)]
            _ => {
                let line = stmt_line(stmt);
                self.at(
                    line,
                    "this statement (macros, blocks, includes, imports) is not available in pipeline templates".into(),
                );
            }
        }
    }

    fn assign(&mut self, target: &Expr<'_>, defined: &mut Defined) {
        for name in target_names(target) {
            defined.maybe.remove(&name);
            defined.sure.insert(name);
        }
    }

    fn args(&mut self, args: &[CallArg<'_>], defined: &Defined) {
        for a in args {
            match a {
                CallArg::Pos(e)
                | CallArg::Kwarg(_, e)
                | CallArg::PosSplat(e)
                | CallArg::KwargSplat(e) => self.expr(e, defined),
            }
        }
    }

    fn call(&mut self, call: &ast::Call<'_>, line: u16, defined: &Defined) {
        match &call.expr {
            Expr::Var(v) if !defined.sure.contains(v.id) && !defined.maybe.contains_key(v.id) => {
                if !self.function_exists(v.id) {
                    self.at(line, format!("unknown function {}()", v.id));
                }
            }
            Expr::GetAttr(g) => {
                self.expr(&g.expr, defined);
                self.at(
                    line,
                    format!(
                        "method calls such as .{}() are not available in pipeline templates; use a filter (e.g. regex_replace, split, replace)",
                        g.name
                    ),
                );
            }
            other => self.expr(other, defined),
        }
        self.args(&call.args, defined);
    }

    /// A literal argument of a pipeline filter that can be checked now (a pattern, a format).
    fn literal_args(&mut self, name: &str, args: &[CallArg<'_>], line: u16) {
        let first = match args.first() {
            Some(CallArg::Pos(Expr::Const(c))) => c.value.as_str().map(str::to_string),
            _ => None,
        };
        let Some(arg) = first else { return };
        match name {
            "regex_replace" | "regex_search" | "regex_match" | "matching" => {
                if let Err(e) = filters::compile(&arg) {
                    self.at(line, e);
                }
            }
            "strftime" => {
                let bad = chrono::format::StrftimeItems::new(&arg)
                    .any(|i| matches!(i, chrono::format::Item::Error));
                if bad {
                    self.at(line, format!("strftime: bad format {arg:?}"));
                }
            }
            _ => {}
        }
    }

    fn expr(&mut self, expr: &Expr<'_>, defined: &Defined) {
        match expr {
            Expr::Var(v) => {
                let line = v.span().start_line;
                self.name(v.id, line, defined);
            }
            Expr::Const(_) => {}
            Expr::Slice(s) => {
                self.expr(&s.expr, defined);
                for e in [&s.start, &s.stop, &s.step].into_iter().flatten() {
                    self.expr(e, defined);
                }
            }
            Expr::UnaryOp(u) => self.expr(&u.expr, defined),
            Expr::BinOp(b) => {
                self.expr(&b.left, defined);
                self.expr(&b.right, defined);
            }
            Expr::Compare(c) => {
                self.expr(&c.expr, defined);
                for op in &c.ops {
                    self.expr(&op.expr, defined);
                }
            }
            Expr::IfExpr(i) => {
                self.expr(&i.test_expr, defined);
                self.expr(&i.true_expr, defined);
                if let Some(f) = &i.false_expr {
                    self.expr(f, defined);
                }
            }
            Expr::Filter(f) => {
                let line = f.span().start_line;
                if let Some(e) = &f.expr {
                    self.expr(e, defined);
                }
                if !self.exists(f.name, false) {
                    self.at(line, format!("unknown filter {}", f.name));
                }
                self.literal_args(f.name, &f.args, line);
                self.args(&f.args, defined);
            }
            Expr::Test(t) => {
                let line = t.span().start_line;
                self.expr(&t.expr, defined);
                if !self.exists(t.name, true) {
                    self.at(line, format!("unknown test {}", t.name));
                }
                self.literal_args(t.name, &t.args, line);
                self.args(&t.args, defined);
            }
            Expr::GetAttr(g) => {
                if let Expr::Var(v) = &g.expr
                    && !defined.sure.contains(v.id)
                    && !defined.maybe.contains_key(v.id)
                {
                    self.field(v.id, g.name, g.span().start_line);
                }
                self.expr(&g.expr, defined);
            }
            Expr::GetItem(g) => {
                self.expr(&g.expr, defined);
                self.expr(&g.subscript_expr, defined);
            }
            Expr::Call(c) => self.call(c, c.span().start_line, defined),
            Expr::List(l) => {
                for e in &l.items {
                    self.expr(e, defined);
                }
            }
            Expr::Map(m) => {
                for e in m.keys.iter().chain(&m.values) {
                    self.expr(e, defined);
                }
            }
        }
    }

    fn name(&mut self, id: &str, line: u16, defined: &Defined) {
        if defined.sure.contains(id) {
            return;
        }
        if let Some(why) = defined.maybe.get(id) {
            let why = why.clone();
            self.at(line, format!("{id} {why}"));
            return;
        }
        if DEST_NAMES.contains(&id) && !self.scope.dest_known {
            self.at(
                line,
                format!(
                    "{id} is known only in archive templates (after the destination is rendered)"
                ),
            );
            return;
        }
        if id == "primary" && !self.scope.primary {
            self.at(
                line,
                "primary is known only in pipelines that declare primary = '<pattern>'".into(),
            );
            return;
        }
        if id == "published" && !self.scope.published {
            self.at(
                line,
                "published is known only in the require of [pipeline.files.published]".into(),
            );
            return;
        }
        if CONTEXT_NAMES.contains(&id) || self.function_exists(id) {
            return;
        }
        let known = CONTEXT_NAMES.join(", ");
        self.at(line, format!("unknown name {id}; templates see {known}"));
    }

    /// `imos.x`, `m.x`, `const.x`, `vocab.x`, `upload.x`, `time_coverage.x`: fields the context
    /// can be known to lack.
    fn field(&mut self, root: &str, field: &str, line: u16) {
        let problem = match root {
            "imos" if !IMOS_FIELDS.contains(&field) => Some(format!(
                "imos has no field {field}; the IMOS file-name fields are {}",
                IMOS_FIELDS.join(", ")
            )),
            "m" if !self.scope.groups.contains(field) => Some(format!(
                "the rule's include pattern has no group named {field} (it has: {})",
                list(&self.scope.groups)
            )),
            "const" if !self.scope.constants.contains(field) => Some(format!(
                "the pipeline has no constant {field} (it has: {}); declare it under [pipeline.constants]",
                list(&self.scope.constants)
            )),
            "vocab" if !self.scope.vocabularies.contains(field) => Some(format!(
                "no [[vocabulary]] named {field} (the file has: {})",
                list(&self.scope.vocabularies)
            )),
            "upload" if !["name", "stem", "extension", "key"].contains(&field) => Some(format!(
                "upload has no field {field}; it has name, stem, extension, key"
            )),
            "time_coverage" if !["start", "end"].contains(&field) => Some(format!(
                "time_coverage has no field {field}; it has start, end"
            )),
            "primary" if !PRIMARY_FIELDS.contains(&field) => Some(format!(
                "primary has no field {field}; it has {}",
                PRIMARY_FIELDS.join(", ")
            )),
            "published" if !PUBLISHED_FIELDS.contains(&field) => Some(format!(
                "published has no field {field}; it has {}",
                PUBLISHED_FIELDS.join(", ")
            )),
            _ => None,
        };
        if let Some(p) = problem {
            self.at(line, p);
        }
    }
}

fn list(names: &BTreeSet<String>) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The names an assignment target binds (`x`, or `a, b`).
fn target_names(target: &Expr<'_>) -> Vec<String> {
    match target {
        Expr::Var(v) => vec![v.id.to_string()],
        Expr::List(l) => l.items.iter().flat_map(target_names).collect(),
        _ => Vec::new(),
    }
}

#[allow(unreachable_patterns)]
fn stmt_line(stmt: &Stmt<'_>) -> u16 {
    match stmt {
        Stmt::Template(s) => s.span().start_line,
        Stmt::EmitExpr(s) => s.span().start_line,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(src: &str) -> Vec<Problem> {
        let scope = Scope {
            groups: ["year".to_string()].into(),
            ..Scope::default()
        };
        lint(src, false, &scope)
    }

    #[test]
    fn clean_templates_pass() {
        for src in [
            "IMOS/{{ imos.platform }}/{{ m.year }}/{{ name | regex_replace('_C-.*$', '.nc') }}",
            "{% set x = 1 %}{% if name %}{% set y = 2 %}{% else %}{% set y = 3 %}{% endif %}{{ x }}{{ y }}",
            "{% set ns = namespace(a=1) %}{% for v in variables %}{% set ns.a = v %}{% endfor %}{{ ns.a }}",
            "{{ variables | select('matching', '.*_qc$') | list | length }}{{ reject('no') if false else 'x' }}",
        ] {
            assert_eq!(problems(src), vec![], "{src}");
        }
    }

    #[test]
    fn the_three_run_time_failures_are_found_with_their_line() {
        let p = problems("a\n{{ nsx(a=1) }}");
        assert_eq!(p[0].line, 2);
        assert!(p[0].message.contains("unknown function nsx()"), "{p:?}");
        let p = problems("{% if name %}\n{% set x = 1 %}\n{% endif %}\n{{ x }}");
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].line, 4);
        assert!(
            p[0].message
                .contains("set only in one branch of the {% if %} at line 1"),
            "{p:?}"
        );
        let p = problems("{% if name == 'a' %}{{ attrs.x }}{% else %}\n{{ m.yaer }}{% endif %}");
        assert_eq!(p[0].line, 2);
        assert!(p[0].message.contains("no group named yaer"), "{p:?}");
        let p =
            problems("{{ name | nofilter }}{{ name is nottest }}{{ name.split('_') }}{{ foo }}");
        let all: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert!(
            all.iter().any(|m| m.contains("unknown filter nofilter")),
            "{all:?}"
        );
        assert!(
            all.iter().any(|m| m.contains("unknown test nottest")),
            "{all:?}"
        );
        assert!(
            all.iter()
                .any(|m| m.contains("method calls such as .split()")),
            "{all:?}"
        );
        assert!(
            all.iter().any(|m| m.contains("unknown name foo")),
            "{all:?}"
        );
        let p = problems("{{ name | regex_replace('(', '') }}{{ dest }}");
        assert!(p[0].message.contains("invalid regular expression"), "{p:?}");
        assert!(p[1].message.contains("only in archive templates"), "{p:?}");
    }
}
