//! A small offline `terraform plan` for the structural tests: parses the module with hcl-rs,
//! evaluates variables (with `optional()` defaults), locals and every resource and data source
//! per `for_each` key and `dynamic` block, with placeholders for computed attributes.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use hcl::eval::{Context, Evaluate, FuncArgs, FuncDef, ParamType};
use hcl::{Block, Expression, Value};
use regex::Regex;
use serde_json::{Value as Json, json};

pub const ACCOUNT: &str = "111122223333";
pub const REGION: &str = "ap-southeast-2";

/// Computed attributes a placeholder resource offers. A reference to anything else is an error,
/// which catches typos such as `.ar` the way `terraform validate` would.
const COMPUTED: [&str; 9] = [
    "arn",
    "arn_prefix",
    "bucket",
    "id",
    "json",
    "key_id",
    "name",
    "repository_url",
    "url",
];

/// Terraform files as (file name, text); tests mutate the text to prove checks can fail.
pub type Sources = Vec<(String, String)>;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn tf_files(dir: &Path) -> Sources {
    let mut files: Sources = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read_to_string(&path).unwrap())
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .tf files in {}", dir.display());
    files
}

pub fn module_sources() -> Sources {
    tf_files(&repo().join("infra"))
}

pub fn example_sources() -> Sources {
    tf_files(&repo().join("infra/examples/complete"))
}

/// `sources` with `from` (which must occur exactly once in `file`) replaced by `to`.
pub fn mutated(sources: &Sources, file: &str, from: &str, to: &str) -> Sources {
    let mut out = sources.clone();
    let (_, text) = out
        .iter_mut()
        .find(|(name, _)| name == file)
        .unwrap_or_else(|| panic!("no {file}"));
    assert_eq!(
        text.matches(from).count(),
        1,
        "{file} should contain {from:?} exactly once"
    );
    *text = text.replacen(from, to, 1);
    out
}

pub fn parse(sources: &Sources) -> Vec<Block> {
    sources
        .iter()
        .flat_map(|(name, text)| {
            let body = hcl::parse(text).unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
            body.into_blocks().collect::<Vec<_>>()
        })
        .collect()
}

pub fn label(block: &Block, i: usize) -> &str {
    block
        .labels()
        .get(i)
        .map(|l| l.as_str())
        .unwrap_or_else(|| panic!("{} block without label {i}", block.identifier()))
}

pub fn attr<'a>(block: &'a Block, key: &str) -> Option<&'a Expression> {
    block
        .body()
        .attributes()
        .find(|a| a.key() == key)
        .map(|a| a.expr())
}

pub fn to_json(value: &Value) -> Json {
    serde_json::to_value(value).expect("HCL values are JSON")
}

fn to_hcl(value: &Json) -> Value {
    hcl::to_value(value).expect("JSON values are HCL")
}

fn functions() -> Vec<(&'static str, FuncDef)> {
    let any = || ParamType::Any;
    vec![
        ("alltrue", FuncDef::new(fn_alltrue, [any()])),
        (
            "coalesce",
            FuncDef::builder().variadic_param(any()).build(fn_coalesce),
        ),
        ("contains", FuncDef::new(fn_contains, [any(), any()])),
        (
            "endswith",
            FuncDef::new(fn_endswith, [ParamType::String, ParamType::String]),
        ),
        ("flatten", FuncDef::new(fn_flatten, [any()])),
        ("join", FuncDef::new(fn_join, [ParamType::String, any()])),
        ("jsonencode", FuncDef::new(fn_jsonencode, [any()])),
        ("length", FuncDef::new(fn_length, [any()])),
        (
            "merge",
            FuncDef::builder().variadic_param(any()).build(fn_merge),
        ),
        (
            "regex",
            FuncDef::new(fn_regex, [ParamType::String, ParamType::String]),
        ),
        (
            "regexall",
            FuncDef::new(fn_regexall, [ParamType::String, ParamType::String]),
        ),
        (
            "startswith",
            FuncDef::new(fn_startswith, [ParamType::String, ParamType::String]),
        ),
        ("tonumber", FuncDef::new(fn_tonumber, [any()])),
        ("tostring", FuncDef::new(fn_tostring, [any()])),
    ]
}

fn fn_alltrue(args: FuncArgs) -> Result<Value, String> {
    let items = args[0].as_array().ok_or("alltrue needs a list")?;
    Ok(Value::Bool(items.iter().all(|v| v.as_bool() == Some(true))))
}

fn fn_coalesce(args: FuncArgs) -> Result<Value, String> {
    args.iter()
        .find(|v| !v.is_null() && v.as_str() != Some(""))
        .cloned()
        .ok_or_else(|| "coalesce: no non-null argument".into())
}

fn fn_contains(args: FuncArgs) -> Result<Value, String> {
    let items = args[0].as_array().ok_or("contains needs a list")?;
    let wanted = to_json(&args[1]);
    Ok(Value::Bool(
        items.iter().any(|v| json_eq(&to_json(v), &wanted)),
    ))
}

fn fn_endswith(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(
        args[0]
            .as_str()
            .unwrap()
            .ends_with(args[1].as_str().unwrap()),
    ))
}

fn fn_startswith(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::Bool(
        args[0]
            .as_str()
            .unwrap()
            .starts_with(args[1].as_str().unwrap()),
    ))
}

fn fn_flatten(args: FuncArgs) -> Result<Value, String> {
    fn flat(value: &Value, out: &mut Vec<Value>) {
        match value {
            Value::Array(items) => items.iter().for_each(|v| flat(v, out)),
            other => out.push(other.clone()),
        }
    }
    let mut out = Vec::new();
    flat(&args[0], &mut out);
    Ok(Value::Array(out))
}

fn fn_join(args: FuncArgs) -> Result<Value, String> {
    let items = args[1].as_array().ok_or("join needs a list")?;
    let parts: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
    Ok(Value::from(
        parts
            .ok_or("join needs strings")?
            .join(args[0].as_str().unwrap()),
    ))
}

fn fn_jsonencode(args: FuncArgs) -> Result<Value, String> {
    Ok(Value::String(
        serde_json::to_string(&args[0]).map_err(|e| e.to_string())?,
    ))
}

fn fn_length(args: FuncArgs) -> Result<Value, String> {
    let n = match &args[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::String(s) => s.chars().count(),
        other => return Err(format!("length of {other:?}")),
    };
    Ok(Value::from(n as u64))
}

fn fn_merge(args: FuncArgs) -> Result<Value, String> {
    let mut out = hcl::Map::new();
    for arg in args.iter().filter(|a| !a.is_null()) {
        for (k, v) in arg.as_object().ok_or("merge needs objects")? {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(Value::Object(out))
}

/// Terraform's regex: the match, or the list of its capture groups; no match is an error.
fn fn_regex(args: FuncArgs) -> Result<Value, String> {
    let re = Regex::new(args[0].as_str().unwrap()).map_err(|e| e.to_string())?;
    let caps = re
        .captures(args[1].as_str().unwrap())
        .ok_or("regex: no match")?;
    Ok(captures_value(&re, &caps))
}

fn fn_regexall(args: FuncArgs) -> Result<Value, String> {
    let re = Regex::new(args[0].as_str().unwrap()).map_err(|e| e.to_string())?;
    let all = re
        .captures_iter(args[1].as_str().unwrap())
        .map(|caps| captures_value(&re, &caps));
    Ok(Value::Array(all.collect()))
}

fn captures_value(re: &Regex, caps: &regex::Captures) -> Value {
    if re.captures_len() == 1 {
        Value::from(&caps[0])
    } else {
        Value::Array(
            (1..re.captures_len())
                .map(|i| Value::from(caps.get(i).map_or("", |m| m.as_str())))
                .collect(),
        )
    }
}

fn fn_tonumber(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::Number(_) => Ok(args[0].clone()),
        Value::String(s) => {
            let n: f64 = s.parse().map_err(|_| format!("tonumber({s:?})"))?;
            Ok(to_hcl(&json!(n)))
        }
        other => Err(format!("tonumber({other:?})")),
    }
}

fn fn_tostring(args: FuncArgs) -> Result<Value, String> {
    match &args[0] {
        Value::String(s) => Ok(Value::from(s.as_str())),
        Value::Number(n) => Ok(Value::from(n.to_string())),
        Value::Bool(b) => Ok(Value::from(b.to_string())),
        other => Err(format!("tostring({other:?})")),
    }
}

/// Numbers compare by value: HCL keeps `1` and `1.0` apart, Terraform does not.
pub fn json_eq(a: &Json, b: &Json) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// Applies the defaults of `optional(type, default)` inside a variable's type constraint, as
/// Terraform does when it converts an input. An attribute the type does not declare is an error
/// here, where Terraform would silently drop it (a misspelt `vcpus = 2` would go unnoticed).
fn apply_type(ty: &Expression, value: Value, path: &str) -> Result<Value, String> {
    let Expression::FuncCall(call) = ty else {
        return Ok(value);
    };
    if value.is_null() {
        return Ok(value);
    }
    match call.name.name.as_str() {
        "map" => {
            let Value::Object(entries) = value else {
                return Err(format!("{path}: expected a map"));
            };
            let mut out = hcl::Map::new();
            for (k, v) in entries {
                out.insert(
                    k.clone(),
                    apply_type(&call.args[0], v, &format!("{path}.{k}"))?,
                );
            }
            Ok(Value::Object(out))
        }
        "list" | "set" => {
            let Value::Array(items) = value else {
                return Err(format!("{path}: expected a list"));
            };
            let items = items
                .into_iter()
                .enumerate()
                .map(|(i, v)| apply_type(&call.args[0], v, &format!("{path}[{i}]")));
            Ok(Value::Array(items.collect::<Result<_, _>>()?))
        }
        "object" => {
            let Expression::Object(declared) = &call.args[0] else {
                return Err(format!("{path}: object() without attributes"));
            };
            let Value::Object(given) = value else {
                return Err(format!("{path}: expected an object"));
            };
            let mut out = hcl::Map::new();
            let mut names = BTreeSet::new();
            for (key, attr_ty) in declared.iter() {
                let name = match key {
                    hcl::ObjectKey::Identifier(id) => id.as_str().to_owned(),
                    hcl::ObjectKey::Expression(Expression::String(s)) => s.clone(),
                    other => return Err(format!("{path}: unsupported object key {other:?}")),
                };
                let (inner, default) = match attr_ty {
                    Expression::FuncCall(opt) if opt.name.name.as_str() == "optional" => {
                        (&opt.args[0], Some(opt.args.get(1)))
                    }
                    other => (other, None),
                };
                let field = format!("{path}.{name}");
                let v = match (given.get(&name), default) {
                    (Some(v), _) if !v.is_null() => apply_type(inner, v.clone(), &field)?,
                    (_, Some(Some(d))) => apply_type(
                        inner,
                        d.evaluate(&Context::new()).map_err(|e| e.to_string())?,
                        &field,
                    )?,
                    (_, Some(None)) => Value::Null,
                    (_, None) => return Err(format!("{field} is required")),
                };
                out.insert(name.clone(), v);
                names.insert(name);
            }
            if let Some(extra) = given.keys().find(|k| !names.contains(*k)) {
                return Err(format!(
                    "{path}.{extra} is not an attribute of the variable's type"
                ));
            }
            Ok(Value::Object(out))
        }
        _ => Ok(value),
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Address {
    pub data: bool,
    pub ty: String,
    pub name: String,
}

impl Address {
    fn of(block: &Block) -> Address {
        Address {
            data: block.identifier() == "data",
            ty: label(block, 0).into(),
            name: label(block, 1).into(),
        }
    }
}

/// The text that stands for a computed attribute of a resource instance.
pub fn r(ty: &str, name: &str, key: Option<&str>, attribute: &str) -> String {
    let index = key.map(|k| format!("[\"{k}\"]")).unwrap_or_default();
    format!("{ty}.{name}{index}.{attribute}")
}

fn placeholder_object(prefix: &str) -> Value {
    Value::Object(
        COMPUTED
            .iter()
            .map(|a| (a.to_string(), Value::from(format!("{prefix}.{a}"))))
            .collect(),
    )
}

/// The module evaluated for one set of inputs.
pub struct Plan {
    pub vars: Json,
    /// Instances of each resource and data source: for_each key (None without for_each) -> body.
    pub instances: BTreeMap<Address, BTreeMap<Option<String>, Json>>,
    /// (variable, error message, whether the condition holds) for every validation block.
    pub validations: Vec<(String, String, bool)>,
}

impl Plan {
    pub fn example() -> Plan {
        Plan::new(&module_sources(), example_inputs(&example_sources()))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn new(module: &Sources, inputs: hcl::Map<String, Value>) -> Result<Plan, String> {
        let blocks = parse(module);
        let mut base = Context::new();
        for (name, func) in functions() {
            base.declare_func(name, func);
        }

        // Variables: the input or the default, converted to the declared type.
        let mut vars = hcl::Map::new();
        for block in blocks.iter().filter(|b| b.identifier() == "variable") {
            let name = label(block, 0);
            let value = match (inputs.get(name), attr(block, "default")) {
                (Some(v), _) => v.clone(),
                (None, Some(default)) => default
                    .evaluate(&base)
                    .map_err(|e| format!("var.{name} default: {e}"))?,
                (None, None) => return Err(format!("required variable {name} is not set")),
            };
            let value = match attr(block, "type") {
                Some(ty) => apply_type(ty, value, &format!("var.{name}"))?,
                None => value,
            };
            vars.insert(name.to_owned(), value);
        }
        if let Some(unknown) = inputs.keys().find(|k| !vars.contains_key(*k)) {
            return Err(format!("the module has no variable {unknown}"));
        }
        base.declare_var("var", Value::Object(vars.clone()));

        let mut validations = Vec::new();
        for block in blocks.iter().filter(|b| b.identifier() == "variable") {
            for rule in block
                .body()
                .blocks()
                .filter(|b| b.identifier() == "validation")
            {
                let holds = attr(rule, "condition")
                    .unwrap()
                    .evaluate(&base)
                    .map_err(|e| format!("var.{} validation: {e}", label(block, 0)))?;
                let message = attr(rule, "error_message")
                    .and_then(|m| m.evaluate(&base).ok())
                    .and_then(|m| m.as_str().map(str::to_owned));
                validations.push((
                    label(block, 0).to_owned(),
                    message.unwrap_or_default(),
                    holds.as_bool() == Some(true),
                ));
            }
        }

        // Locals and the instance keys of resources depend on each other: resolve to a fixpoint.
        let local_exprs: Vec<(String, Expression)> = blocks
            .iter()
            .filter(|b| b.identifier() == "locals")
            .flat_map(|b| {
                b.body()
                    .attributes()
                    .map(|a| (a.key().to_owned(), a.expr().clone()))
            })
            .collect();
        let resources: Vec<&Block> = blocks
            .iter()
            .filter(|b| matches!(b.identifier(), "resource" | "data"))
            .collect();
        let mut locals = hcl::Map::new();
        let mut keys: BTreeMap<Address, Option<Vec<String>>> = BTreeMap::new();
        let mut last_errors = Vec::new();
        loop {
            let ctx = Self::context(&base, &locals, &keys);
            let mut progress = false;
            last_errors.clear();
            for (name, expr) in &local_exprs {
                if locals.contains_key(name) {
                    continue;
                }
                match expr.evaluate(&ctx) {
                    Ok(v) => {
                        locals.insert(name.clone(), v);
                        progress = true;
                    }
                    Err(e) => last_errors.push(format!("local.{name}: {e}")),
                }
            }
            for block in &resources {
                let address = Address::of(block);
                if keys.contains_key(&address) {
                    continue;
                }
                match attr(block, "for_each").map(|e| e.evaluate(&ctx)) {
                    None => {
                        keys.insert(address, None);
                        progress = true;
                    }
                    Some(Ok(collection)) => {
                        keys.insert(
                            address,
                            Some(iterate(&collection)?.into_iter().map(|(k, _)| k).collect()),
                        );
                        progress = true;
                    }
                    Some(Err(e)) => {
                        last_errors.push(format!("{}.{}.for_each: {e}", address.ty, address.name))
                    }
                }
            }
            if !progress {
                break;
            }
        }
        if !last_errors.is_empty() {
            return Err(format!(
                "unresolved references:\n  {}",
                last_errors.join("\n  ")
            ));
        }

        // Every instance's body, with `each` bound and dynamic blocks expanded.
        let ctx = Self::context(&base, &locals, &keys);
        let mut instances = BTreeMap::new();
        let mut errors = Vec::new();
        for block in &resources {
            let address = Address::of(block);
            let mut bodies = BTreeMap::new();
            match attr(block, "for_each") {
                None => match eval_body(block.body(), &ctx) {
                    Ok(body) => {
                        bodies.insert(None, body);
                    }
                    Err(e) => errors.push(format!("{}.{}: {e}", address.ty, address.name)),
                },
                Some(for_each) => {
                    let collection = for_each.evaluate(&ctx).map_err(|e| e.to_string())?;
                    for (key, value) in iterate(&collection)? {
                        let mut each_ctx = ctx.clone();
                        each_ctx.declare_var(
                            "each",
                            hcl::value!({ key = (key.clone()), value = (value) }),
                        );
                        match eval_body(block.body(), &each_ctx) {
                            Ok(body) => {
                                bodies.insert(Some(key), body);
                            }
                            Err(e) => errors
                                .push(format!("{}.{}[{key:?}]: {e}", address.ty, address.name)),
                        }
                    }
                }
            }
            if instances.insert(address.clone(), bodies).is_some() {
                errors.push(format!("{}.{} is declared twice", address.ty, address.name));
            }
        }
        if !errors.is_empty() {
            return Err(errors.join("\n"));
        }
        Ok(Plan {
            vars: to_json(&Value::Object(vars)),
            instances,
            validations,
        })
    }

    fn context<'a>(
        base: &Context<'a>,
        locals: &hcl::Map<String, Value>,
        keys: &BTreeMap<Address, Option<Vec<String>>>,
    ) -> Context<'a> {
        let mut ctx = base.clone();
        ctx.declare_var("local", Value::Object(locals.clone()));
        let mut types: BTreeMap<(bool, String), hcl::Map<String, Value>> = BTreeMap::new();
        for (address, instance_keys) in keys {
            let prefix = if address.data {
                format!("data.{}.{}", address.ty, address.name)
            } else {
                format!("{}.{}", address.ty, address.name)
            };
            let value = match (address.ty.as_str(), instance_keys) {
                ("aws_caller_identity", None) => hcl::value!({ account_id = ACCOUNT }),
                ("aws_partition", None) => hcl::value!({ partition = "aws" }),
                ("aws_region", None) => hcl::value!({ region = REGION }),
                (_, None) => placeholder_object(&prefix),
                (_, Some(ks)) => Value::Object(
                    ks.iter()
                        .map(|k| (k.clone(), placeholder_object(&format!("{prefix}[\"{k}\"]"))))
                        .collect(),
                ),
            };
            types
                .entry((address.data, address.ty.clone()))
                .or_default()
                .insert(address.name.clone(), value);
        }
        let mut data = hcl::Map::new();
        for ((is_data, ty), by_name) in types {
            if is_data {
                data.insert(ty, Value::Object(by_name));
            } else {
                ctx.declare_var(ty, Value::Object(by_name));
            }
        }
        ctx.declare_var("data", Value::Object(data));
        ctx
    }

    pub fn resource(&self, ty: &str, name: &str) -> &BTreeMap<Option<String>, Json> {
        let address = Address {
            data: false,
            ty: ty.into(),
            name: name.into(),
        };
        self.instances
            .get(&address)
            .unwrap_or_else(|| panic!("no resource {ty}.{name}"))
    }

    pub fn data(&self, ty: &str, name: &str) -> &BTreeMap<Option<String>, Json> {
        let address = Address {
            data: true,
            ty: ty.into(),
            name: name.into(),
        };
        self.instances
            .get(&address)
            .unwrap_or_else(|| panic!("no data {ty}.{name}"))
    }

    pub fn one(&self, ty: &str, name: &str) -> &Json {
        &self.resource(ty, name)[&None]
    }

    pub fn at(&self, ty: &str, name: &str, key: &str) -> &Json {
        self.resource(ty, name)
            .get(&Some(key.to_owned()))
            .unwrap_or_else(|| panic!("no {ty}.{name}[{key:?}]"))
    }

    pub fn doc(&self, name: &str, key: Option<&str>) -> &Json {
        &self.data("aws_iam_policy_document", name)[&key.map(str::to_owned)]
    }

    pub fn pipelines(&self) -> Vec<(String, Json)> {
        self.vars["pipelines"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn failed_validations(&self) -> Vec<String> {
        self.validations
            .iter()
            .filter(|(_, _, holds)| !holds)
            .map(|(var, message, _)| format!("var.{var}: {message}"))
            .collect()
    }
}

/// (key, value) pairs of a for_each collection: a map, or a set of strings.
fn iterate(collection: &Value) -> Result<Vec<(String, Value)>, String> {
    match collection {
        Value::Object(map) => Ok(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(|s| (s.to_owned(), v.clone()))
                    .ok_or_else(|| format!("for_each over non-string {v:?}"))
            })
            .collect(),
        other => Err(format!("for_each over {other:?}")),
    }
}

/// Evaluates a block body to JSON: attributes as values, nested blocks as arrays of bodies.
fn eval_body(body: &hcl::Body, ctx: &Context) -> Result<Json, String> {
    const META: [&str; 5] = ["for_each", "count", "depends_on", "provider", "lifecycle"];
    let mut out = serde_json::Map::new();
    for structure in body.iter() {
        match structure {
            hcl::Structure::Attribute(a) if META.contains(&a.key()) => {}
            hcl::Structure::Attribute(a) => {
                let value = a
                    .expr()
                    .evaluate(ctx)
                    .map_err(|e| format!("{}: {e}", a.key()))?;
                out.insert(a.key().to_owned(), to_json(&value));
            }
            hcl::Structure::Block(b) if META.contains(&b.identifier()) => {}
            hcl::Structure::Block(b) if b.identifier() == "dynamic" => {
                let name = label(b, 0);
                let iterator = attr(b, "iterator")
                    .map(|e| e.to_string())
                    .unwrap_or_else(|| name.to_owned());
                let collection = attr(b, "for_each")
                    .ok_or("dynamic without for_each")?
                    .evaluate(ctx)
                    .map_err(|e| format!("dynamic {name}: {e}"))?;
                let content = b
                    .body()
                    .blocks()
                    .find(|c| c.identifier() == "content")
                    .ok_or("dynamic without content")?;
                for (key, value) in iterate(&collection)? {
                    let mut inner = ctx.clone();
                    inner.declare_var(
                        iterator.as_str(),
                        hcl::value!({ key = (key), value = (value) }),
                    );
                    let body = eval_body(content.body(), &inner)?;
                    push_block(&mut out, name, body);
                }
            }
            hcl::Structure::Block(b) => {
                let body = eval_body(b.body(), ctx)?;
                push_block(&mut out, b.identifier(), body);
            }
        }
    }
    Ok(Json::Object(out))
}

fn push_block(out: &mut serde_json::Map<String, Json>, name: &str, body: Json) {
    out.entry(name.to_owned())
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .unwrap()
        .push(body);
}

/// The module inputs of examples/complete, with its required variables set as an operator would.
pub fn example_inputs(example: &Sources) -> hcl::Map<String, Value> {
    let operator: hcl::Map<String, Value> = [
        ("image_tag", hcl::value!("0.1.0")),
        ("vpc_id", hcl::value!("vpc-0example")),
        ("subnet_ids", hcl::value!(["subnet-0a", "subnet-0b"])),
        ("database_cidr_blocks", hcl::value!(["10.0.32.0/20"])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let blocks = parse(example);
    let mut vars = hcl::Map::new();
    for block in blocks.iter().filter(|b| b.identifier() == "variable") {
        let name = label(block, 0);
        let value = match (operator.get(name), attr(block, "default")) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => d.evaluate(&Context::new()).unwrap(),
            (None, None) => {
                panic!("the example's variable {name} has no default and no test value")
            }
        };
        vars.insert(name.to_owned(), value);
    }
    let mut ctx = Context::new();
    ctx.declare_var("var", Value::Object(vars));
    let module = blocks
        .iter()
        .find(|b| b.identifier() == "module")
        .expect("the example calls the module");
    assert_eq!(attr(module, "source").unwrap().to_string(), "\"../..\"");
    module
        .body()
        .attributes()
        .filter(|a| a.key() != "source")
        .map(|a| {
            (
                a.key().to_owned(),
                a.expr()
                    .evaluate(&ctx)
                    .unwrap_or_else(|e| panic!("module input {}: {e}", a.key())),
            )
        })
        .collect()
}
