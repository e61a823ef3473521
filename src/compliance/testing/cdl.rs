//! CDL, the text form of NetCDF that `ncgen` compiles, read straight into what a rule sees (the
//! owned header and the values), so rule tests run on in-memory datasets without netcdf-bin.
//!
//! It follows ncgen's (netCDF 4.9, `-k nc4`) rules for the constructs rule tests write — how an
//! attribute's type is inferred from its constants, `_FillValue` taking its variable's type,
//! missing data filled, char data padded to the last dimension, unlimited dimensions sized by the
//! data — and panics on anything else (user-defined types, groups, storage attributes), so a
//! test can never run on a file that differs from the one ncgen would make. With
//! `INGEST_TEST_CDL_NCGEN=1` the test helpers also compare each reading with ncgen's file.

use std::collections::BTreeMap;

use crate::compliance::MemValues;
use crate::netcdf::{AttrValue, Attribute, Dimension, NcSummary, NcType, Variable};

/// A file read from CDL: its header and every variable's values.
#[derive(Debug, Clone)]
pub struct CdlFile {
    pub summary: NcSummary,
    pub values: MemValues,
}

/// Reads CDL; panics, naming the construct, on anything this reader does not model.
pub fn parse(cdl: &str) -> CdlFile {
    let tokens = lex(cdl);
    let mut p = Parser { tokens, pos: 0 };
    p.file()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    /// A numeric constant as written (sign, digits, suffix), or NaN / Infinity.
    Num(String),
    Sym(char),
}

fn lex(src: &str) -> Vec<Tok> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let ident_start = |c: char| c.is_ascii_alphabetic() || c == '_';
    let ident_char = |c: char| c.is_ascii_alphanumeric() || "_.@+-".contains(c);
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                let Some(&c) = chars.get(i) else {
                    panic!("CDL: unterminated string {s:?}")
                };
                i += 1;
                match c {
                    '"' => break,
                    '\\' => {
                        let e = chars.get(i).copied().expect("CDL: a string ends in '\\'");
                        i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '0' => '\0',
                            '"' | '\\' | '\'' => e,
                            other => panic!("CDL: escape \\{other} is not modelled"),
                        });
                    }
                    c => s.push(c),
                }
            }
            out.push(Tok::Str(s));
        } else if c.is_ascii_digit()
            || ((c == '-' || c == '+' || c == '.')
                && chars
                    .get(i + 1)
                    .is_some_and(|n| n.is_ascii_digit() || *n == '.' || *n == 'I' || *n == 'N'))
        {
            let start = i;
            i += 1;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric()
                    || chars[i] == '.'
                    || ((chars[i] == '-' || chars[i] == '+')
                        && matches!(chars[i - 1], 'e' | 'E')
                        && !chars[start..i]
                            .iter()
                            .any(|c| c.is_ascii_alphabetic() && *c != 'e' && *c != 'E')))
            {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if ident_start(c) {
            let start = i;
            while i < chars.len() && ident_char(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            if [
                "NaN",
                "NaNf",
                "Infinity",
                "Infinityf",
                "nan",
                "inf",
                "infinity",
            ]
            .contains(&word.as_str())
            {
                out.push(Tok::Num(word));
            } else {
                out.push(Tok::Ident(word));
            }
        } else if "{}(),;=:".contains(c) {
            out.push(Tok::Sym(c));
            i += 1;
        } else {
            panic!("CDL: character {c:?} is not modelled");
        }
    }
    out
}

/// A constant in an attribute or data list.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Int(i128, NcType),
    Float(f64, NcType),
    Str(String),
    /// `_`: the variable's fill value.
    Fill,
}

/// The type ncgen gives an integer constant without a suffix: the first of int, uint, int64,
/// uint64 that holds it.
fn int_type(v: i128) -> NcType {
    if i32::try_from(v).is_ok() {
        NcType::Int
    } else if u32::try_from(v).is_ok() {
        NcType::UInt
    } else if i64::try_from(v).is_ok() {
        NcType::Int64
    } else {
        NcType::UInt64
    }
}

fn number(text: &str) -> Lit {
    let (sign, body) = match text.as_bytes()[0] {
        b'-' => (-1.0, &text[1..]),
        b'+' => (1.0, &text[1..]),
        _ => (1.0, text),
    };
    match body {
        "NaN" | "nan" => return Lit::Float(f64::NAN, NcType::Double),
        "NaNf" => return Lit::Float(f64::NAN, NcType::Float),
        "Infinity" | "inf" | "infinity" => {
            return Lit::Float(sign * f64::INFINITY, NcType::Double);
        }
        "Infinityf" => return Lit::Float(sign * f64::INFINITY, NcType::Float),
        _ => {}
    }
    if body.starts_with("0x") || body.starts_with("0X") {
        panic!("CDL: hexadecimal constant {text} is not modelled");
    }
    let is_float = body.contains('.') || body.contains(['e', 'E']) && !body.ends_with(['e', 'E']);
    if is_float {
        let (digits, ty) = match body.chars().last() {
            Some('f' | 'F') => (&body[..body.len() - 1], NcType::Float),
            Some('d' | 'D') => (&body[..body.len() - 1], NcType::Double),
            _ => (body, NcType::Double),
        };
        let v: f64 = digits
            .parse()
            .unwrap_or_else(|_| panic!("CDL: {text} is not a number"));
        return Lit::Float(sign * v, ty);
    }
    let split = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let (digits, suffix) = body.split_at(split);
    if digits.len() > 1 && digits.starts_with('0') {
        panic!("CDL: constant {text} with a leading zero (octal in ncgen) is not modelled");
    }
    let v: i128 = digits
        .parse()
        .unwrap_or_else(|_| panic!("CDL: {text} is not a number"));
    let v = if sign < 0.0 { -v } else { v };
    let ty = match suffix.to_ascii_lowercase().as_str() {
        "" => int_type(v),
        "b" => NcType::Byte,
        "s" => NcType::Short,
        "l" => NcType::Int,
        "ll" => NcType::Int64,
        "ub" => NcType::UByte,
        "us" => NcType::UShort,
        "u" | "ul" => NcType::UInt,
        "ull" => NcType::UInt64,
        "f" => return Lit::Float(v as f64, NcType::Float),
        "d" => return Lit::Float(v as f64, NcType::Double),
        other => panic!("CDL: suffix {other:?} of {text} is not modelled"),
    };
    Lit::Int(v, ty)
}

fn type_named(word: &str) -> Option<NcType> {
    Some(match word {
        "char" => NcType::Char,
        "byte" => NcType::Byte,
        "ubyte" => NcType::UByte,
        "short" => NcType::Short,
        "ushort" => NcType::UShort,
        "int" | "long" => NcType::Int,
        "uint" => NcType::UInt,
        "int64" => NcType::Int64,
        "uint64" => NcType::UInt64,
        "float" | "real" => NcType::Float,
        "double" => NcType::Double,
        "string" => NcType::String,
        _ => return None,
    })
}

/// Rank of numeric types when ncgen widens a list of integer constants of several types.
fn int_rank(t: &NcType) -> u8 {
    match t {
        NcType::Byte | NcType::UByte => 1,
        NcType::Short | NcType::UShort => 2,
        NcType::Int | NcType::UInt => 3,
        _ => 4,
    }
}

fn signed(t: &NcType) -> bool {
    matches!(
        t,
        NcType::Byte | NcType::Short | NcType::Int | NcType::Int64
    )
}

/// The type ncgen infers for an attribute declared without one.
fn infer_type(values: &[Lit], context: &str) -> NcType {
    if values.iter().all(|v| matches!(v, Lit::Str(_))) {
        return NcType::Char;
    }
    if values.iter().any(|v| matches!(v, Lit::Str(_) | Lit::Fill)) {
        panic!("CDL: {context} mixes text and numbers (not modelled)");
    }
    let types: Vec<&NcType> = values
        .iter()
        .map(|v| match v {
            Lit::Int(_, t) | Lit::Float(_, t) => t,
            _ => unreachable!("text excluded above"),
        })
        .collect();
    if types.iter().all(|t| *t == types[0]) {
        return types[0].clone();
    }
    if types.contains(&&NcType::Double) {
        return NcType::Double;
    }
    if types.contains(&&NcType::Float) {
        panic!("CDL: {context} mixes float and other constants (not modelled)");
    }
    if types.iter().all(|t| signed(t)) || types.iter().all(|t| !signed(t)) {
        return (*types.iter().max_by_key(|t| int_rank(t)).expect("a value")).clone();
    }
    panic!("CDL: {context} mixes signed and unsigned constants (not modelled)")
}

fn lit_f64(v: &Lit) -> f64 {
    match v {
        Lit::Int(i, _) => *i as f64,
        Lit::Float(x, _) => *x,
        other => panic!("CDL: {other:?} is not a number"),
    }
}

/// Numbers converted to `ty` as the C library stores them, refusing what does not fit.
fn convert(values: &[f64], ty: &NcType, context: &str) -> AttrValue {
    fn ints<T: TryFrom<i128>>(values: &[f64], context: &str) -> Vec<T> {
        // A fraction is cut off, as C's conversion (and so ncgen) does.
        values
            .iter()
            .map(|&x| {
                assert!(
                    x.is_finite(),
                    "CDL: {context}: {x} as an integer (not modelled)"
                );
                T::try_from(x.trunc() as i128)
                    .unwrap_or_else(|_| panic!("CDL: {context}: {x} is out of range"))
            })
            .collect()
    }
    match ty {
        NcType::Byte => AttrValue::Byte(ints(values, context)),
        NcType::UByte => AttrValue::UByte(ints(values, context)),
        NcType::Short => AttrValue::Short(ints(values, context)),
        NcType::UShort => AttrValue::UShort(ints(values, context)),
        NcType::Int => AttrValue::Int(ints(values, context)),
        NcType::UInt => AttrValue::UInt(ints(values, context)),
        NcType::Int64 => AttrValue::Int64(ints(values, context)),
        NcType::UInt64 => AttrValue::UInt64(ints(values, context)),
        NcType::Float => AttrValue::Float(values.iter().map(|&x| x as f32).collect()),
        NcType::Double => AttrValue::Double(values.to_vec()),
        other => panic!("CDL: {context}: numbers as {other:?} are not modelled"),
    }
}

/// An attribute's value from its constants and its declared type (if any).
fn attr_value(values: &[Lit], declared: Option<&NcType>, context: &str) -> AttrValue {
    let ty = declared
        .cloned()
        .unwrap_or_else(|| infer_type(values, context));
    match ty {
        NcType::Char => {
            let mut s = String::new();
            for v in values {
                match v {
                    Lit::Str(x) => s.push_str(x),
                    other => panic!("CDL: {context}: {other:?} in a char attribute"),
                }
            }
            AttrValue::Text(s)
        }
        NcType::String => AttrValue::Strings(
            values
                .iter()
                .map(|v| match v {
                    Lit::Str(x) => x.clone(),
                    other => panic!("CDL: {context}: {other:?} in a string attribute"),
                })
                .collect(),
        ),
        ty => {
            let numbers: Vec<f64> = values.iter().map(lit_f64).collect();
            convert(&numbers, &ty, context)
        }
    }
}

/// A number as read back from a variable of `ty` (libnetcdf converts it to double).
fn stored(x: f64, ty: &NcType, context: &str) -> f64 {
    match convert(&[x], ty, context).as_f64s() {
        Some(v) => v[0],
        None => unreachable!("numeric types convert to numbers"),
    }
}

/// Attributes ncgen consumes as storage settings instead of writing them.
const SPECIAL: [&str; 12] = [
    "_Storage",
    "_ChunkSizes",
    "_Endianness",
    "_DeflateLevel",
    "_Shuffle",
    "_Fletcher32",
    "_NoFill",
    "_Format",
    "_IsNetcdf4",
    "_SuperblockVersion",
    "_NCProperties",
    "_Filter",
];

struct DimDecl {
    name: String,
    len: Option<usize>,
}

struct VarDecl {
    name: String,
    dtype: NcType,
    dims: Vec<String>,
    attributes: Vec<Attribute>,
}

struct Parser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn peek_at(&self, n: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + n)
    }

    fn next(&mut self) -> Tok {
        let t = self
            .tokens
            .get(self.pos)
            .cloned()
            .expect("CDL: unexpected end of text");
        self.pos += 1;
        t
    }

    fn expect_sym(&mut self, c: char) {
        match self.next() {
            Tok::Sym(s) if s == c => {}
            other => panic!("CDL: expected {c:?}, found {other:?}"),
        }
    }

    fn ident(&mut self) -> String {
        match self.next() {
            Tok::Ident(s) => s,
            other => panic!("CDL: expected a name, found {other:?}"),
        }
    }

    fn at_section(&self) -> bool {
        matches!(
            (self.peek(), self.peek_at(1)),
            (Some(Tok::Ident(w)), Some(Tok::Sym(':')))
                if ["dimensions", "variables", "data", "types", "group"].contains(&w.as_str())
        ) || self.peek() == Some(&Tok::Sym('}'))
    }

    fn section(&mut self) -> Option<String> {
        if self.peek() == Some(&Tok::Sym('}')) {
            return None;
        }
        let name = self.ident();
        self.expect_sym(':');
        Some(name)
    }

    fn constants(&mut self) -> Vec<Lit> {
        let mut out = Vec::new();
        loop {
            out.push(match self.next() {
                Tok::Str(s) => Lit::Str(s),
                Tok::Num(n) => number(&n),
                Tok::Ident(w) if w == "_" => Lit::Fill,
                other => panic!("CDL: {other:?} is not a constant"),
            });
            match self.next() {
                Tok::Sym(',') => continue,
                Tok::Sym(';') => return out,
                other => panic!("CDL: expected ',' or ';' after a constant, found {other:?}"),
            }
        }
    }

    fn file(&mut self) -> CdlFile {
        match self.next() {
            Tok::Ident(w) if w == "netcdf" => {}
            other => panic!("CDL: a file starts with `netcdf`, not {other:?}"),
        }
        self.ident();
        self.expect_sym('{');
        let mut dims: Vec<DimDecl> = Vec::new();
        let mut vars: Vec<VarDecl> = Vec::new();
        let mut globals: Vec<Attribute> = Vec::new();
        let mut data: BTreeMap<String, Vec<Lit>> = BTreeMap::new();
        while let Some(section) = self.section() {
            match section.as_str() {
                "dimensions" => self.dimensions(&mut dims),
                "variables" => self.variables(&mut vars, &mut globals),
                "data" => self.data(&mut data),
                other => panic!("CDL: section `{other}:` is not modelled"),
            }
        }
        self.expect_sym('}');
        assert!(self.peek().is_none(), "CDL: text after the closing brace");
        build(dims, vars, globals, data)
    }

    fn dimensions(&mut self, dims: &mut Vec<DimDecl>) {
        while !self.at_section() {
            loop {
                let name = self.ident();
                self.expect_sym('=');
                let len = match self.next() {
                    Tok::Ident(w) if w.eq_ignore_ascii_case("unlimited") => None,
                    Tok::Num(n) => Some(
                        n.parse()
                            .unwrap_or_else(|_| panic!("CDL: dimension {name} has length {n}")),
                    ),
                    other => panic!("CDL: dimension {name} has length {other:?}"),
                };
                assert!(
                    dims.iter().all(|d| d.name != name),
                    "CDL: dimension {name} twice"
                );
                dims.push(DimDecl { name, len });
                match self.next() {
                    Tok::Sym(',') => continue,
                    Tok::Sym(';') => break,
                    other => panic!("CDL: expected ',' or ';', found {other:?}"),
                }
            }
        }
    }

    fn variables(&mut self, vars: &mut Vec<VarDecl>, globals: &mut Vec<Attribute>) {
        while !self.at_section() {
            // [type] [variable] ':' attribute '=' constants ';'
            let typed = match self.peek() {
                Some(Tok::Ident(w)) => type_named(w),
                _ => None,
            };
            let is_attribute = match (typed.is_some(), self.peek_at(1), self.peek_at(2)) {
                (true, Some(Tok::Sym(':')), _) => true,
                (true, Some(Tok::Ident(_)), Some(Tok::Sym(':'))) => true,
                (true, _, _) => false,
                (false, _, _) => true,
            };
            if !is_attribute {
                let dtype = typed.expect("a type");
                self.next();
                loop {
                    let name = self.ident();
                    let mut dims = Vec::new();
                    if self.peek() == Some(&Tok::Sym('(')) {
                        self.next();
                        loop {
                            dims.push(self.ident());
                            match self.next() {
                                Tok::Sym(',') => continue,
                                Tok::Sym(')') => break,
                                other => panic!("CDL: expected ',' or ')', found {other:?}"),
                            }
                        }
                    }
                    assert!(
                        vars.iter().all(|v| v.name != name),
                        "CDL: variable {name} twice"
                    );
                    vars.push(VarDecl {
                        name,
                        dtype: dtype.clone(),
                        dims,
                        attributes: Vec::new(),
                    });
                    match self.next() {
                        Tok::Sym(',') => continue,
                        Tok::Sym(';') => break,
                        other => panic!("CDL: expected ',' or ';', found {other:?}"),
                    }
                }
                continue;
            }
            if typed.is_some() {
                self.next();
            }
            let owner = match self.peek() {
                Some(Tok::Sym(':')) => None,
                _ => Some(self.ident()),
            };
            self.expect_sym(':');
            let name = self.ident();
            self.expect_sym('=');
            let values = self.constants();
            let context = format!("{}:{name}", owner.as_deref().unwrap_or(""));
            assert!(
                !SPECIAL.contains(&name.as_str()),
                "CDL: {context} is a storage setting ncgen does not write (not modelled)"
            );
            let mut declared = typed.clone();
            if let Some(owner) = &owner
                && name == "_FillValue"
            {
                let var = vars
                    .iter()
                    .find(|v| &v.name == owner)
                    .unwrap_or_else(|| panic!("CDL: {context} before its variable"));
                // ncgen writes a variable's fill value in the variable's own type.
                if declared.as_ref().is_some_and(|t| *t != var.dtype) {
                    panic!("CDL: {context} declared in another type than its variable");
                }
                declared = Some(var.dtype.clone());
            }
            let value = attr_value(&values, declared.as_ref(), &context);
            let list = match &owner {
                None => &mut *globals,
                Some(owner) => {
                    &mut vars
                        .iter_mut()
                        .find(|v| &v.name == owner)
                        .unwrap_or_else(|| panic!("CDL: {context} before its variable"))
                        .attributes
                }
            };
            // Declared again, an attribute keeps its place and takes the new value (ncgen).
            match list.iter_mut().find(|a| a.name == name) {
                Some(a) => a.value = value,
                None => list.push(Attribute { name, value }),
            }
        }
    }

    fn data(&mut self, data: &mut BTreeMap<String, Vec<Lit>>) {
        while !self.at_section() {
            let name = self.ident();
            self.expect_sym('=');
            let values = self.constants();
            assert!(
                data.insert(name.clone(), values).is_none(),
                "CDL: data for {name} twice"
            );
        }
    }
}

/// The bytes a char variable holds: each string padded with NULs to a whole number of rows of the
/// last dimension (ncgen's rule), all of it cut or padded to `size` when that is known.
fn char_bytes(values: &[Lit], row: usize, name: &str) -> Vec<u8> {
    let mut raw = Vec::new();
    for v in values {
        match v {
            Lit::Str(s) => {
                raw.extend(s.bytes());
                let rem = s.len() % row.max(1);
                if s.is_empty() || rem != 0 {
                    let pad = if s.is_empty() { row } else { row - rem };
                    raw.extend(std::iter::repeat_n(0u8, pad));
                }
            }
            Lit::Fill => raw.extend(std::iter::repeat_n(0u8, row)),
            other => panic!("CDL: data of char variable {name}: {other:?} (not modelled)"),
        }
    }
    raw
}

fn build(
    dims: Vec<DimDecl>,
    vars: Vec<VarDecl>,
    globals: Vec<Attribute>,
    data: BTreeMap<String, Vec<Lit>>,
) -> CdlFile {
    for name in data.keys() {
        assert!(
            vars.iter().any(|v| &v.name == name),
            "CDL: data for {name}, which is not a variable"
        );
    }
    let fixed = |d: &str| -> Option<usize> {
        dims.iter()
            .find(|x| x.name == d)
            .unwrap_or_else(|| panic!("CDL: dimension {d} is not declared"))
            .len
    };
    for v in &vars {
        let unlimited = v.dims.iter().filter(|d| fixed(d).is_none()).count();
        assert!(
            unlimited == 0 || (unlimited == 1 && fixed(&v.dims[0]).is_none()),
            "CDL: variable {} uses an unlimited dimension other than first (not modelled)",
            v.name
        );
    }
    // An unlimited dimension is as long as the longest data written along it.
    let count = |v: &VarDecl| -> usize {
        let Some(values) = data.get(&v.name) else {
            return 0;
        };
        if v.dtype == NcType::Char {
            let row = v.dims.last().and_then(|d| fixed(d)).unwrap_or(1);
            char_bytes(values, row, &v.name).len()
        } else {
            values.len()
        }
    };
    let mut lengths: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &dims {
        let len = match d.len {
            Some(n) => n,
            None => vars
                .iter()
                .filter(|v| v.dims.first() == Some(&d.name))
                .map(|v| {
                    let rest: usize = v.dims[1..]
                        .iter()
                        .map(|x| fixed(x).expect("fixed"))
                        .product();
                    count(v).div_ceil(rest.max(1))
                })
                .max()
                .unwrap_or(0),
        };
        lengths.insert(&d.name, len);
    }
    let mut values = MemValues::default();
    let mut variables = Vec::new();
    for v in vars {
        let shape: Vec<usize> = v.dims.iter().map(|d| lengths[d.as_str()]).collect();
        let size: usize = shape.iter().product();
        let given = data.get(&v.name).cloned().unwrap_or_default();
        match v.dtype {
            NcType::Char => {
                let row = shape.last().copied().unwrap_or(1);
                let mut raw = char_bytes(&given, row, &v.name);
                raw.resize(size, 0);
                let width = shape.last().copied().unwrap_or(raw.len());
                values
                    .text
                    .insert(v.name.clone(), crate::netcdf::text_rows(&raw, width));
            }
            NcType::String => {
                let mut strings: Vec<String> = given
                    .iter()
                    .map(|x| match x {
                        Lit::Str(s) => s.clone(),
                        Lit::Fill => String::new(),
                        other => panic!("CDL: data of string variable {}: {other:?}", v.name),
                    })
                    .collect();
                assert!(strings.len() <= size, "CDL: too much data for {}", v.name);
                strings.resize(size, String::new());
                values.text.insert(v.name.clone(), strings);
            }
            ref ty => {
                let context = format!("data of {}", v.name);
                let fill = match v.attributes.iter().find(|a| a.name == "_FillValue") {
                    Some(a) => a.value.as_f64().expect("a numeric fill value"),
                    // netCDF's default fill of the type (`NC_FILL_*`); NC_FILL_DOUBLE else.
                    None => crate::netcdf::default_fill(ty).unwrap_or(9.969_209_968_386_869e36),
                };
                assert!(
                    given.len() <= size,
                    "CDL: {} values for {} of {size}",
                    given.len(),
                    v.name
                );
                let mut numbers: Vec<f64> = given
                    .iter()
                    .map(|x| match x {
                        Lit::Fill => fill,
                        Lit::Str(_) => panic!("CDL: text in {context}"),
                        n => stored(lit_f64(n), ty, &context),
                    })
                    .collect();
                numbers.resize(size, fill);
                values.numeric.insert(v.name.clone(), numbers);
            }
        }
        variables.push(Variable {
            name: v.name,
            dtype: v.dtype,
            dimensions: v.dims,
            shape,
            attributes: v.attributes,
        });
    }
    let dimensions = dims
        .iter()
        .map(|d| Dimension {
            name: d.name.clone(),
            len: lengths[d.name.as_str()],
            unlimited: d.len.is_none(),
        })
        .collect();
    CdlFile {
        summary: NcSummary {
            format: "netcdf4".into(),
            dimensions,
            variables,
            global_attributes: globals,
            groups: vec![],
        },
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_types_follow_ncgen() {
        let f = parse(
            r#"netcdf t {
dimensions:
  TIME = UNLIMITED ;
  S = 4 ;
variables:
  float TEMP(TIME) ;
    TEMP:_FillValue = 999999. ;
    TEMP:pair = 1, 2.5 ;
    TEMP:big = 3000000000 ;
    TEMP:widened = 1s, 2 ;
    TEMP:flags = 0b, 1b ;
    TEMP:text = "a", "b" ;
  char NAME(TIME, S) ;
  string :list = "x", "y" ;
  double :typed = 1 ;
data:
  TEMP = 1.1, _, 3 ;
  NAME = "ab", "cdefg" ;
}"#,
        );
        let temp = f.summary.variable("TEMP").unwrap();
        assert_eq!(
            temp.attr("_FillValue"),
            Some(&AttrValue::Float(vec![999999.0]))
        );
        assert_eq!(temp.attr("pair"), Some(&AttrValue::Double(vec![1.0, 2.5])));
        assert_eq!(temp.attr("big"), Some(&AttrValue::UInt(vec![3000000000])));
        assert_eq!(temp.attr("widened"), Some(&AttrValue::Int(vec![1, 2])));
        assert_eq!(temp.attr("flags"), Some(&AttrValue::Byte(vec![0, 1])));
        assert_eq!(temp.attr("text"), Some(&AttrValue::Text("ab".into())));
        assert_eq!(
            f.summary.global("list"),
            Some(&AttrValue::Strings(vec!["x".into(), "y".into()]))
        );
        assert_eq!(
            f.summary.global("typed"),
            Some(&AttrValue::Double(vec![1.0]))
        );
        // The unlimited dimension is as long as the longest data: "cdefg" takes two rows.
        assert_eq!(f.summary.dimension("TIME").unwrap().len, 3);
        assert_eq!(f.values.numeric["TEMP"], vec![1.1f32 as f64, 999999.0, 3.0]);
        assert_eq!(f.values.text["NAME"], ["ab", "cdef", "g"]);
    }

    #[test]
    fn numbers_are_cut_to_integers_and_a_repeated_attribute_keeps_its_place() {
        let f = parse(
            "netcdf t {\ndimensions:\n  X = 3 ;\nvariables:\n  short S(X) ;\n    S:a = \"x\" ;\n    \
             S:b = 1 ;\n    S:a = \"y\" ;\ndata:\n  S = -1.5, 2.5, 3.99 ;\n}",
        );
        assert_eq!(f.values.numeric["S"], vec![-1.0, 2.0, 3.0]);
        let names: Vec<(&str, &AttrValue)> = f.summary.variables[0]
            .attributes
            .iter()
            .map(|a| (a.name.as_str(), &a.value))
            .collect();
        assert_eq!(
            names,
            [
                ("a", &AttrValue::Text("y".into())),
                ("b", &AttrValue::Int(vec![1]))
            ]
        );
    }

    #[test]
    fn missing_data_is_the_fill_value() {
        let f = parse(
            "netcdf t {\ndimensions:\n  X = 3 ;\nvariables:\n  int I(X) ;\n  byte B(X) ;\n    B:_FillValue = 9b ;\ndata:\n  B = 1 ;\n}",
        );
        assert_eq!(f.values.numeric["I"], vec![-2147483647.0; 3]);
        assert_eq!(f.values.numeric["B"], vec![1.0, 9.0, 9.0]);
    }

    #[test]
    #[should_panic(expected = "not modelled")]
    fn constructs_outside_the_model_are_refused() {
        parse("netcdf t {\ntypes:\n  int(*) vlen ;\n}");
    }
}
