//! The UDUNITS-2 unit grammar: `shift := product [(@|after|from|since|ref) (number|timestamp)]`,
//! `product := power ((' '|'.'|'*'|'·'|'/'|' per ') power)*`,
//! `power := basic [^n | **n | n | superscript]`, `basic := id | number | '(' shift ')'`.

use super::{Kind, Lookup, Unit};

struct Parser<'a> {
    s: Vec<char>,
    i: usize,
    db: &'a dyn Lookup,
}

/// Parses a unit string (already stripped of cf_units' special spellings).
pub fn parse(text: &str, db: &dyn Lookup) -> Result<Unit, String> {
    let mut p = Parser {
        s: text.chars().collect(),
        i: 0,
        db,
    };
    let u = p.shift()?;
    p.ws();
    if p.i < p.s.len() {
        return Err(format!("unexpected {:?}", p.rest()));
    }
    Ok(u)
}

fn is_id_start(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '_' | '%' | '°' | '\'' | '"' | '℃' | 'Ω' | 'µ' | 'μ')
}

fn is_id_char(c: char) -> bool {
    (c.is_alphanumeric() && superscript(c).is_none()) || matches!(c, '_' | '°' | 'µ' | 'μ')
}

fn superscript(c: char) -> Option<i32> {
    "⁰¹²³⁴⁵⁶⁷⁸⁹".chars().position(|x| x == c).map(|d| d as i32)
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn rest(&self) -> String {
        self.s[self.i.min(self.s.len())..].iter().collect()
    }

    fn ws(&mut self) -> bool {
        let start = self.i;
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
        self.i > start
    }

    /// A keyword (case-insensitive) at the cursor, as a whole word.
    fn keyword(&self, word: &str) -> bool {
        let n = word.chars().count();
        if self.i + n > self.s.len() {
            return false;
        }
        let got: String = self.s[self.i..self.i + n].iter().collect();
        got.eq_ignore_ascii_case(word)
            && self
                .s
                .get(self.i + n)
                .is_none_or(|c| c.is_whitespace() || c.is_ascii_digit() || *c == '-')
    }

    fn shift_keyword(&self) -> Option<(&'static str, usize)> {
        if self.peek() == Some('@') {
            return Some(("@", 1));
        }
        ["since", "after", "from", "ref"]
            .into_iter()
            .find(|k| self.keyword(k))
            .map(|k| (k, k.len()))
    }

    fn shift(&mut self) -> Result<Unit, String> {
        let unit = self.product()?;
        self.ws();
        let Some((kw, len)) = self.shift_keyword() else {
            return Ok(unit);
        };
        self.i += len;
        self.ws();
        let rest = self.rest();
        let rest = rest.trim_end();
        // A closing parenthesis ends a shift inside parentheses.
        let (operand, consumed) = match rest.find(')') {
            Some(p) => (&rest[..p], rest[..p].chars().count()),
            None => (rest, rest.chars().count()),
        };
        let operand = operand.trim_end();
        if kw == "@"
            && let Some(x) = number_only(operand)
        {
            self.i += consumed;
            return Ok(Unit {
                offset: x * unit.scale,
                ..unit
            });
        }
        if kw != "@" {
            if timestamp(operand) {
                self.i += consumed;
                return Ok(Unit {
                    kind: Kind::Timestamp,
                    ..unit
                });
            }
            return Err(format!("bad timestamp {operand:?}"));
        }
        Err(format!("bad offset {operand:?}"))
    }

    fn product(&mut self) -> Result<Unit, String> {
        let mut unit = self.power()?;
        loop {
            let save = self.i;
            let spaced = self.ws();
            match self.peek() {
                Some('*') if self.s.get(self.i + 1) == Some(&'*') => {
                    return Err("misplaced **".into());
                }
                Some('.' | '*' | '·') => {
                    self.i += 1;
                    self.ws();
                    unit = unit.mul(self.power()?);
                }
                Some('/') => {
                    self.i += 1;
                    self.ws();
                    unit = unit.mul(self.power()?.pow(-1));
                }
                Some(_) if spaced && self.keyword("per") => {
                    self.i += 3;
                    self.ws();
                    unit = unit.mul(self.power()?.pow(-1));
                }
                Some(')') | None => {
                    self.i = save;
                    return Ok(unit);
                }
                Some(_) if self.shift_keyword().is_some() => {
                    self.i = save;
                    return Ok(unit);
                }
                Some(c) if spaced || c == '(' || is_id_start(c) => {
                    unit = unit.mul(self.power()?);
                }
                Some(c) => return Err(format!("unexpected {c:?}")),
            }
        }
    }

    fn power(&mut self) -> Result<Unit, String> {
        let (unit, can_take_int) = self.basic()?;
        if self.peek() == Some('^') {
            self.i += 1;
            return Ok(unit.pow(self.int()?));
        }
        if self.peek() == Some('*') && self.s.get(self.i + 1) == Some(&'*') {
            self.i += 2;
            return Ok(unit.pow(self.int()?));
        }
        if self.peek().and_then(superscript).is_some() {
            let mut n = 0;
            while let Some(d) = self.peek().and_then(superscript) {
                n = n * 10 + d;
                self.i += 1;
            }
            return Ok(unit.pow(n));
        }
        if can_take_int {
            let signed = matches!(self.peek(), Some('+' | '-'))
                && self.s.get(self.i + 1).is_some_and(char::is_ascii_digit);
            if signed || self.peek().is_some_and(|c| c.is_ascii_digit()) {
                return Ok(unit.pow(self.int()?));
            }
        }
        Ok(unit)
    }

    /// `lg(re `, `ln(re `, `lb(re ` or `log(re `: the length of that opening.
    fn log_start(&self) -> Option<usize> {
        let rest: String = self.s[self.i..].iter().take(8).collect();
        ["lg(re ", "ln(re ", "lb(re ", "log(re "]
            .into_iter()
            .find(|p| rest.starts_with(p))
            .map(str::len)
    }

    fn int(&mut self) -> Result<i32, String> {
        let start = self.i;
        if matches!(self.peek(), Some('+' | '-')) {
            self.i += 1;
        }
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let text: String = self.s[start..self.i].iter().collect();
        text.parse().map_err(|_| format!("bad exponent {text:?}"))
    }

    /// A basic term, and whether an integer right after it is an exponent (`m2`, `s-1`).
    fn basic(&mut self) -> Result<(Unit, bool), String> {
        match self.peek() {
            Some('(') => {
                self.i += 1;
                self.ws();
                let u = self.shift()?;
                self.ws();
                if self.peek() != Some(')') {
                    return Err("missing )".into());
                }
                self.i += 1;
                Ok((u, true))
            }
            Some(c) if c.is_ascii_digit() || matches!(c, '.' | '+' | '-') => {
                let start = self.i;
                let text: String = self.s[start..].iter().collect();
                let len = number_prefix(&text).ok_or_else(|| format!("unexpected {c:?}"))?;
                self.i += text[..len].chars().count();
                let x: f64 = text[..len]
                    .parse()
                    .map_err(|_| format!("bad number {:?}", &text[..len]))?;
                Ok((Unit::number(x), false))
            }
            Some(_) if self.log_start().is_some() => {
                self.i += self.log_start().unwrap_or(0);
                self.ws();
                let reference = self.shift()?;
                self.ws();
                if self.peek() != Some(')') {
                    return Err("missing ) after a logarithmic reference".into());
                }
                self.i += 1;
                Ok((
                    Unit {
                        kind: Kind::Logarithmic,
                        scale: 1.0,
                        ..reference
                    },
                    false,
                ))
            }
            Some(c) if is_id_start(c) => {
                let start = self.i;
                self.i += 1;
                while self.peek().is_some_and(is_id_char) {
                    self.i += 1;
                }
                // An identifier does not end in digits: those are an exponent (`m2`).
                while self.i > start + 1 && self.s[self.i - 1].is_ascii_digit() {
                    self.i -= 1;
                }
                let id: String = self.s[start..self.i].iter().collect();
                let unit = self
                    .db
                    .lookup(&id)
                    .ok_or_else(|| format!("unknown unit {id:?}"))?;
                Ok((unit, true))
            }
            Some(c) => Err(format!("unexpected {c:?}")),
            None => Err("missing unit".into()),
        }
    }
}

/// The length (bytes) of the number at the start of `s`: `[+-]?(d+[.d*]|.d+)([eE][+-]?d+)?`.
fn number_prefix(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if digits(&mut j) > 0 {
            i = j;
        }
    }
    Some(i)
}

fn number_only(s: &str) -> Option<f64> {
    let s = s.trim();
    (number_prefix(s) == Some(s.len()))
        .then(|| s.parse().ok())
        .flatten()
}

/// A UDUNITS timestamp: a date (`1950-01-01`, `1950-1-1`, `19500101`, `1950`), an optional clock
/// (`00:00:00[.f]`, after a blank or `T`) and an optional zone (`Z`, `UTC`, `GMT`, `±hh[:mm]`).
fn timestamp(s: &str) -> bool {
    let s = s.trim();
    let (date, rest) = match s.find(|c: char| c == 'T' || c.is_whitespace()) {
        Some(p) => (&s[..p], s[p + 1..].trim_start()),
        None => (s, ""),
    };
    if !date_ok(date) {
        return false;
    }
    if rest.is_empty() {
        return true;
    }
    let (clock, zone) = split_clock(rest);
    if !clock.is_empty() && !clock_ok(clock) {
        return false;
    }
    zone_ok(zone.trim())
}

fn date_ok(d: &str) -> bool {
    let d = d.strip_prefix(['+', '-']).unwrap_or(d);
    let parts: Vec<&str> = d.split('-').collect();
    let num = |p: &str, max: usize| {
        !p.is_empty() && p.len() <= max && p.bytes().all(|b| b.is_ascii_digit())
    };
    match parts.as_slice() {
        [y] if y.len() == 8 => num(y, 8),
        [y] => num(y, 4),
        [y, m] => num(y, 4) && num(m, 2),
        [y, m, day] => num(y, 4) && num(m, 2) && num(day, 2),
        _ => false,
    }
}

fn in_range(s: &str, lo: u32, hi: u32) -> bool {
    s.parse::<u32>().is_ok_and(|v| (lo..=hi).contains(&v))
}

fn split_clock(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ':' || c == '.'))
        .unwrap_or(s.len());
    (&s[..end], &s[end..])
}

fn clock_ok(c: &str) -> bool {
    let parts: Vec<&str> = c.split(':').collect();
    let int = |p: &str, hi: u32| {
        !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()) && in_range(p, 0, hi)
    };
    match parts.as_slice() {
        [h] => h.len() == 4 || h.len() == 6 || int(h, 24),
        [h, m] => int(h, 24) && int(m, 59),
        [h, m, sec] => {
            let whole = sec.split('.').next().unwrap_or("");
            int(h, 24) && int(m, 59) && int(whole, 60) && sec.split('.').count() <= 2
        }
        _ => false,
    }
}

fn zone_ok(z: &str) -> bool {
    if z.is_empty()
        || ["Z", "UTC", "GMT"]
            .iter()
            .any(|k| z.eq_ignore_ascii_case(k))
    {
        return true;
    }
    let Some(off) = z.strip_prefix(['+', '-']) else {
        return false;
    };
    let digits: String = off.chars().filter(|c| *c != ':').collect();
    !digits.is_empty() && digits.len() <= 4 && digits.bytes().all(|b| b.is_ascii_digit())
}
