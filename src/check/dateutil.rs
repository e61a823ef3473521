//! What python-dateutil's `parser.parse` reads as a date and time, with its default settings
//! (English names, month before day, no fuzzy matching), ported from dateutil 2.9's
//! `_timelex` (the tokens) and `parser._parse` (what each token means). Table schemas use it for
//! the `any` format of `date` and `datetime` fields, as tableschema-py does: anything dateutil
//! parses is accepted. Parts the string does not give come from today at midnight, as in
//! dateutil (so "Monday" is the next Monday, "Jan 2003" is the 1st… of January 2003's today).
//!
//! Time zones are read as dateutil reads them (names, `+hh:mm` offsets) but not applied: the
//! date and time are those written.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};

const JUMP: &[&str] = &[
    " ", ".", ",", ";", "-", "/", "'", "at", "on", "and", "ad", "m", "t", "of", "st", "nd", "rd",
    "th",
];
const WEEKDAYS: &[&[&str]] = &[
    &["mon", "monday"],
    &["tue", "tuesday"],
    &["wed", "wednesday"],
    &["thu", "thursday"],
    &["fri", "friday"],
    &["sat", "saturday"],
    &["sun", "sunday"],
];
const MONTHS: &[&[&str]] = &[
    &["jan", "january"],
    &["feb", "february"],
    &["mar", "march"],
    &["apr", "april"],
    &["may", "may"],
    &["jun", "june"],
    &["jul", "july"],
    &["aug", "august"],
    &["sep", "sept", "september"],
    &["oct", "october"],
    &["nov", "november"],
    &["dec", "december"],
];
const HMS: &[&[&str]] = &[
    &["h", "hour", "hours"],
    &["m", "minute", "minutes"],
    &["s", "second", "seconds"],
];
const AMPM: &[&[&str]] = &[&["am", "a"], &["pm", "p"]];
const UTCZONE: &[&str] = &["UTC", "GMT", "Z", "z"];

fn index_of(table: &[&[&str]], name: &str) -> Option<usize> {
    let lower = name.to_lowercase();
    table
        .iter()
        .position(|names| names.contains(&lower.as_str()))
}

fn jump(name: &str) -> bool {
    JUMP.contains(&name.to_lowercase().as_str())
}
fn weekday(name: &str) -> Option<usize> {
    index_of(WEEKDAYS, name)
}
fn month(name: &str) -> Option<i64> {
    index_of(MONTHS, name).map(|i| i as i64 + 1)
}
fn hms(name: &str) -> Option<usize> {
    index_of(HMS, name)
}
fn ampm(name: &str) -> Option<usize> {
    index_of(AMPM, name)
}
fn pertain(name: &str) -> bool {
    name.to_lowercase() == "of"
}
fn utczone(name: &str) -> bool {
    UTCZONE
        .iter()
        .any(|z| z.to_lowercase() == name.to_lowercase())
}

fn isword(c: char) -> bool {
    c.is_alphabetic()
}
fn isnum(c: char) -> bool {
    c.is_ascii_digit()
}

/// `_timelex.split`: runs of letters, runs of digits (with their dots and decimal commas), and
/// single other characters; dot-separated runs are split up again as dateutil does.
fn split(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().filter(|&c| c != '\0').collect();
    let mut pos = 0;
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    loop {
        if !stack.is_empty() {
            out.push(stack.remove(0));
            continue;
        }
        if pos >= chars.len() {
            break;
        }
        let mut seen_letters = false;
        let mut token = String::new();
        let mut state = ' ';
        while pos < chars.len() {
            let c = chars[pos];
            if state == ' ' {
                token.push(c);
                pos += 1;
                if isword(c) {
                    state = 'a';
                } else if isnum(c) {
                    state = '0';
                } else {
                    if c.is_whitespace() {
                        token = " ".into();
                    }
                    break;
                }
            } else if state == 'a' {
                seen_letters = true;
                if isword(c) {
                    token.push(c);
                } else if c == '.' {
                    token.push(c);
                    state = '.';
                } else {
                    break;
                }
                pos += 1;
            } else if state == '0' {
                if isnum(c) {
                    token.push(c);
                } else if c == '.' || (c == ',' && token.chars().count() >= 2) {
                    token.push(c);
                    state = ',';
                } else {
                    break;
                }
                pos += 1;
            } else if state == '.' {
                // 'a.': letters and a dot seen
                seen_letters = true;
                if c == '.' || isword(c) {
                    token.push(c);
                } else if isnum(c) && token.ends_with('.') {
                    token.push(c);
                    state = ',';
                } else {
                    break;
                }
                pos += 1;
            } else {
                // '0.': digits and a dot (or comma) seen
                if c == '.' || isnum(c) {
                    token.push(c);
                } else if isword(c) && token.ends_with('.') {
                    token.push(c);
                    state = '.';
                } else {
                    break;
                }
                pos += 1;
            }
        }
        if (state == '.' || state == ',')
            && (seen_letters
                || token.matches('.').count() > 1
                || token.ends_with('.')
                || token.ends_with(','))
        {
            // re.split("([.,])", token): the pieces and the separators, empty pieces dropped
            // (after the first).
            let mut pieces = Vec::new();
            let mut cur = String::new();
            for c in token.chars() {
                if c == '.' || c == ',' {
                    pieces.push(std::mem::take(&mut cur));
                    pieces.push(c.to_string());
                } else {
                    cur.push(c);
                }
            }
            pieces.push(cur);
            token = pieces[0].clone();
            stack.extend(pieces.into_iter().skip(1).filter(|p| !p.is_empty()));
        }
        if state == ',' && !token.contains('.') {
            token = token.replace(',', ".");
        }
        out.push(token);
    }
    out
}

/// A number token as Python's Decimal sees it: its integer part and its fraction, exactly.
#[derive(Debug, Clone, Copy)]
struct Dec {
    int: i64,
    num: u128,
    den: u128,
}

impl Dec {
    fn parse(s: &str) -> Result<Dec, ()> {
        let (i, f) = s.split_once('.').unwrap_or((s, ""));
        if (i.is_empty() && f.is_empty())
            || !i.chars().all(|c| c.is_ascii_digit())
            || !f.chars().all(|c| c.is_ascii_digit())
            || f.len() > 30
        {
            return Err(());
        }
        let int = if i.is_empty() {
            0
        } else {
            i.parse().map_err(|_| ())?
        };
        let num = if f.is_empty() {
            0
        } else {
            f.parse().map_err(|_| ())?
        };
        Ok(Dec {
            int,
            num,
            den: 10u128.pow(f.len() as u32),
        })
    }
    fn has_fraction(self) -> bool {
        self.num != 0
    }
    /// int(60 * (value % 1))
    fn sixty_frac(self) -> i64 {
        (60 * self.num / self.den) as i64
    }
}

/// The fields a string gives (dateutil's `_result`).
#[derive(Debug, Default)]
struct Res {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    weekday: Option<usize>,
    hour: Option<i64>,
    minute: Option<i64>,
    second: Option<i64>,
    microsecond: Option<i64>,
    tzname: Option<String>,
    tzoffset: Option<i64>,
    ampm: Option<usize>,
    century_specified: bool,
}

impl Res {
    fn is_empty(&self) -> bool {
        self.year.is_none()
            && self.month.is_none()
            && self.day.is_none()
            && self.weekday.is_none()
            && self.hour.is_none()
            && self.minute.is_none()
            && self.second.is_none()
            && self.microsecond.is_none()
            && self.tzname.is_none()
            && self.tzoffset.is_none()
            && self.ampm.is_none()
    }
}

/// dateutil's `_ymd`: the year/month/day numbers in order, and which are known to be which.
#[derive(Debug, Default)]
struct Ymd {
    values: Vec<i64>,
    century_specified: bool,
    d: Option<usize>,
    m: Option<usize>,
    y: Option<usize>,
}

enum YmdVal<'a> {
    Str(&'a str),
    Num(f64),
}

type Fail = ();

/// Year, month and day, each when the string gives it.
type YearMonthDay = (Option<i64>, Option<i64>, Option<i64>);

impl Ymd {
    fn len(&self) -> usize {
        self.values.len()
    }

    fn could_be_day(&self, value: f64) -> bool {
        if self.d.is_some() {
            return false;
        }
        let Some(m) = self.m else {
            return (1.0..=31.0).contains(&value);
        };
        let month = self.values[m];
        let year = self.y.map_or(2000, |y| self.values[y]);
        (1.0..=days_in_month(year, month) as f64).contains(&value)
    }

    fn append(&mut self, val: YmdVal<'_>, label: Option<char>) -> Result<(), Fail> {
        let mut label = label;
        let v = match val {
            YmdVal::Str(s) => {
                if s.chars().all(|c| c.is_ascii_digit()) && !s.is_empty() && s.len() > 2 {
                    self.century_specified = true;
                    label = Some('Y');
                }
                // int(s): digits only (a month name never gets here as a string)
                s.parse::<i64>().map_err(|_| ())?
            }
            YmdVal::Num(x) => {
                if x > 100.0 {
                    self.century_specified = true;
                    label = Some('Y');
                }
                x.trunc() as i64
            }
        };
        self.values.push(v);
        let at = self.values.len() - 1;
        match label {
            Some('M') if self.m.is_some() => return Err(()),
            Some('M') => self.m = Some(at),
            Some('D') if self.d.is_some() => return Err(()),
            Some('D') => self.d = Some(at),
            Some('Y') if self.y.is_some() => return Err(()),
            Some('Y') => self.y = Some(at),
            _ => {}
        }
        Ok(())
    }

    fn resolve(&self) -> Result<YearMonthDay, Fail> {
        let n = self.len();
        let known: Vec<(char, usize)> = [('y', self.y), ('m', self.m), ('d', self.d)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        if (n == known.len() && n > 0) || (n == 3 && known.len() == 2) {
            let mut known = known;
            if n == 3 && known.len() == 2 {
                let missing = (0..3)
                    .find(|x| !known.iter().any(|(_, v)| v == x))
                    .ok_or(())?;
                let key = ['y', 'm', 'd']
                    .into_iter()
                    .find(|k| !known.iter().any(|(c, _)| c == k))
                    .ok_or(())?;
                known.push((key, missing));
            }
            let get = |k: char| {
                known
                    .iter()
                    .find(|(c, _)| *c == k)
                    .map(|(_, i)| self.values[*i])
            };
            return Ok((get('y'), get('m'), get('d')));
        }
        let v = &self.values;
        let (mut year, mut month, mut day) = (None, None, None);
        if n > 3 {
            return Err(());
        } else if n == 1 || (self.m.is_some() && n == 2) {
            let other = match self.m {
                Some(mi) => {
                    month = Some(v[mi]);
                    // mstridx is 0 or 1: the other element
                    v[if mi == 0 { n - 1 } else { mi - 1 }]
                }
                None => v[0],
            };
            if n > 1 || self.m.is_none() {
                if other > 31 {
                    year = Some(other);
                } else {
                    day = Some(other);
                }
            }
        } else if n == 2 {
            if v[0] > 31 {
                (year, month) = (Some(v[0]), Some(v[1]));
            } else if v[1] > 31 {
                (month, year) = (Some(v[0]), Some(v[1]));
            } else {
                (month, day) = (Some(v[0]), Some(v[1]));
            }
        } else if n == 3 {
            match self.m {
                Some(0) => {
                    if v[1] > 31 {
                        (month, year, day) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    } else {
                        (month, day, year) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    }
                }
                Some(1) => {
                    if v[0] > 31 {
                        (year, month, day) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    } else {
                        (day, month, year) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    }
                }
                Some(2) => {
                    if v[1] > 31 {
                        (day, year, month) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    } else {
                        (year, day, month) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    }
                }
                _ => {
                    if v[0] > 31 || self.y == Some(0) {
                        (year, month, day) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    } else if v[0] > 12 {
                        (day, month, year) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    } else {
                        (month, day, year) = (Some(v[0]), Some(v[1]), Some(v[2]));
                    }
                }
            }
        }
        Ok((year, month, day))
    }
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y as i32, m as u32, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day() as i64)
}

fn parsems(value: &str) -> Result<(i64, i64), Fail> {
    match value.split_once('.') {
        None => Ok((value.parse().map_err(|_| ())?, 0)),
        Some((i, f)) => {
            let mut f: String = f.chars().take(6).collect();
            while f.len() < 6 {
                f.push('0');
            }
            Ok((i.parse().map_err(|_| ())?, f.parse().map_err(|_| ())?))
        }
    }
}

fn could_be_tzname(res: &Res, token: &str) -> bool {
    res.hour.is_some()
        && res.tzname.is_none()
        && res.tzoffset.is_none()
        && token.chars().count() <= 5
        && (token.chars().all(|c| c.is_ascii_uppercase()) || UTCZONE.contains(&token))
}

fn adjust_ampm(hour: i64, ampm: usize) -> i64 {
    if hour < 12 && ampm == 1 {
        hour + 12
    } else if hour == 12 && ampm == 0 {
        0
    } else {
        hour
    }
}

fn find_hms_idx(idx: usize, tokens: &[String]) -> Option<usize> {
    let n = tokens.len();
    if idx + 1 < n && hms(&tokens[idx + 1]).is_some() {
        Some(idx + 1)
    } else if idx + 2 < n && tokens[idx + 1] == " " && hms(&tokens[idx + 2]).is_some() {
        Some(idx + 2)
    } else if idx > 0 && hms(&tokens[idx - 1]).is_some() {
        Some(idx - 1)
    } else if 1 < idx && idx == n - 1 && tokens[idx - 1] == " " && hms(&tokens[idx - 2]).is_some() {
        Some(idx - 2)
    } else {
        None
    }
}

fn min_sec(value: Dec) -> (i64, Option<i64>) {
    let second = value.has_fraction().then(|| value.sixty_frac());
    (value.int, second)
}

/// `_parse_numeric_token`: returns the index of the last token it used.
fn numeric_token(
    tokens: &[String],
    mut idx: usize,
    ymd: &mut Ymd,
    res: &mut Res,
) -> Result<usize, Fail> {
    let repr = tokens[idx].as_str();
    let value = Dec::parse(repr)?;
    let fvalue = repr.parse::<f64>().map_err(|_| ())?;
    let len_li = repr.chars().count();
    let n = tokens.len();
    if ymd.len() == 3
        && (len_li == 2 || len_li == 4)
        && res.hour.is_none()
        && (idx + 1 >= n || (tokens[idx + 1] != ":" && hms(&tokens[idx + 1]).is_none()))
    {
        res.hour = Some(repr[..2].parse().map_err(|_| ())?);
        if len_li == 4 {
            res.minute = Some(repr[2..].parse().map_err(|_| ())?);
        }
    } else if len_li == 6 || (len_li > 6 && repr.find('.') == Some(6)) {
        if ymd.len() == 0 && !repr.contains('.') {
            ymd.append(YmdVal::Str(&repr[..2]), None)?;
            ymd.append(YmdVal::Str(&repr[2..4]), None)?;
            ymd.append(YmdVal::Str(&repr[4..]), None)?;
        } else {
            res.hour = Some(repr[..2].parse().map_err(|_| ())?);
            res.minute = Some(repr[2..4].parse().map_err(|_| ())?);
            let (s, us) = parsems(&repr[4..])?;
            res.second = Some(s);
            res.microsecond = Some(us);
        }
    } else if len_li == 8 || len_li == 12 || len_li == 14 {
        if repr.contains('.') {
            // dateutil slices the string; a dot inside makes int() fail
            return Err(());
        }
        ymd.append(YmdVal::Str(&repr[..4]), Some('Y'))?;
        ymd.append(YmdVal::Str(&repr[4..6]), None)?;
        ymd.append(YmdVal::Str(&repr[6..8]), None)?;
        if len_li > 8 {
            res.hour = Some(repr[8..10].parse().map_err(|_| ())?);
            res.minute = Some(repr[10..12].parse().map_err(|_| ())?);
            if len_li > 12 {
                res.second = Some(repr[12..].parse().map_err(|_| ())?);
            }
        }
    } else if let Some(hms_idx) = find_hms_idx(idx, tokens) {
        let kind = if hms_idx > idx {
            let k = hms(&tokens[hms_idx]).ok_or(())?;
            idx = hms_idx;
            k
        } else {
            hms(&tokens[hms_idx]).ok_or(())? + 1
        };
        match kind {
            0 => {
                res.hour = Some(value.int);
                if value.has_fraction() {
                    res.minute = Some(value.sixty_frac());
                }
            }
            1 => {
                let (m, s) = min_sec(value);
                res.minute = Some(m);
                res.second = s;
            }
            2 => {
                let (s, us) = parsems(repr)?;
                res.second = Some(s);
                res.microsecond = Some(us);
            }
            _ => {}
        }
    } else if idx + 2 < n && tokens[idx + 1] == ":" {
        res.hour = Some(value.int);
        let minute = Dec::parse(&tokens[idx + 2])?;
        let (m, s) = min_sec(minute);
        res.minute = Some(m);
        res.second = s;
        if idx + 4 < n && tokens[idx + 3] == ":" {
            let (s, us) = parsems(&tokens[idx + 4])?;
            res.second = Some(s);
            res.microsecond = Some(us);
            idx += 2;
        }
        idx += 2;
    } else if idx + 1 < n && ["-", "/", "."].contains(&tokens[idx + 1].as_str()) {
        let sep = tokens[idx + 1].clone();
        ymd.append(YmdVal::Str(repr), None)?;
        if idx + 2 < n && !jump(&tokens[idx + 2]) {
            let t2 = &tokens[idx + 2];
            if !t2.is_empty() && t2.chars().all(|c| c.is_ascii_digit()) {
                ymd.append(YmdVal::Str(t2), None)?;
            } else {
                let m = month(t2).ok_or(())?;
                ymd.append(YmdVal::Num(m as f64), Some('M'))?;
            }
            if idx + 3 < n && tokens[idx + 3] == sep {
                let t4 = tokens.get(idx + 4).ok_or(())?;
                match month(t4) {
                    Some(m) => ymd.append(YmdVal::Num(m as f64), Some('M'))?,
                    None => ymd.append(YmdVal::Str(t4), None)?,
                }
                idx += 2;
            }
            idx += 1;
        }
        idx += 1;
    } else if idx + 1 >= n || jump(&tokens[idx + 1]) {
        if idx + 2 < n && ampm(&tokens[idx + 2]).is_some() {
            let hour = fvalue.trunc() as i64;
            res.hour = Some(adjust_ampm(hour, ampm(&tokens[idx + 2]).ok_or(())?));
            idx += 1;
        } else {
            ymd.append(YmdVal::Num(fvalue), None)?;
        }
        idx += 1;
    } else if ampm(&tokens[idx + 1]).is_some() && (0.0..24.0).contains(&fvalue) {
        let hour = fvalue.trunc() as i64;
        res.hour = Some(adjust_ampm(hour, ampm(&tokens[idx + 1]).ok_or(())?));
        idx += 1;
    } else if ymd.could_be_day(fvalue) {
        ymd.append(YmdVal::Num(fvalue), None)?;
    } else {
        return Err(());
    }
    Ok(idx)
}

fn convert_year(year: i64, century_specified: bool, now_year: i64) -> i64 {
    if year < 100 && !century_specified {
        let century = now_year / 100 * 100;
        let mut y = year + century;
        if y >= now_year + 50 {
            y -= 100;
        } else if y < now_year - 50 {
            y += 100;
        }
        y
    } else {
        year
    }
}

/// `parser._parse`: the fields of a string, or `None` when dateutil would not read it.
fn parse_fields(s: &str) -> Option<Res> {
    let mut l = split(s);
    let mut res = Res::default();
    let mut ymd = Ymd::default();
    let mut i = 0;
    let result: Result<(), Fail> = (|| {
        while i < l.len() {
            let tok = l[i].clone();
            if tok.parse::<f64>().is_ok() {
                i = numeric_token(&l, i, &mut ymd, &mut res)?;
            } else if let Some(w) = weekday(&tok) {
                res.weekday = Some(w);
            } else if let Some(m) = month(&tok) {
                ymd.append(YmdVal::Num(m as f64), Some('M'))?;
                if i + 1 < l.len() {
                    if l[i + 1] == "-" || l[i + 1] == "/" {
                        let sep = l[i + 1].clone();
                        let t2 = l.get(i + 2).ok_or(())?.clone();
                        ymd.append(YmdVal::Str(&t2), None)?;
                        if i + 3 < l.len() && l[i + 3] == sep {
                            let t4 = l.get(i + 4).ok_or(())?.clone();
                            ymd.append(YmdVal::Str(&t4), None)?;
                            i += 2;
                        }
                        i += 2;
                    } else if i + 4 < l.len()
                        && l[i + 1] == " "
                        && l[i + 3] == " "
                        && pertain(&l[i + 2])
                    {
                        if !l[i + 4].is_empty() && l[i + 4].chars().all(|c| c.is_ascii_digit()) {
                            let value: i64 = l[i + 4].parse().map_err(|_| ())?;
                            let year = convert_year(value, false, chrono::Utc::now().year() as i64);
                            ymd.append(YmdVal::Str(&year.to_string()), Some('Y'))?;
                        }
                        i += 4;
                    }
                }
            } else if let Some(a) = ampm(&tok) {
                match res.hour {
                    None => return Err(()),
                    Some(h) if !(0..=12).contains(&h) => return Err(()),
                    Some(h) => {
                        res.hour = Some(adjust_ampm(h, a));
                        res.ampm = Some(a);
                    }
                }
            } else if could_be_tzname(&res, &tok) {
                res.tzoffset = if utczone(&tok) { Some(0) } else { None };
                res.tzname = Some(tok.clone());
                if i + 1 < l.len() && (l[i + 1] == "+" || l[i + 1] == "-") {
                    l[i + 1] = if l[i + 1] == "+" {
                        "-".into()
                    } else {
                        "+".into()
                    };
                    res.tzoffset = None;
                    if utczone(&tok) {
                        res.tzname = None;
                    }
                }
            } else if res.hour.is_some() && (tok == "+" || tok == "-") {
                let signal = if tok == "+" { 1 } else { -1 };
                let next = l.get(i + 1).ok_or(())?.clone();
                let len_li = next.chars().count();
                let (h, m) = if len_li == 4 {
                    (
                        next[..2].parse::<i64>().map_err(|_| ())?,
                        next[2..].parse::<i64>().map_err(|_| ())?,
                    )
                } else if i + 2 < l.len() && l[i + 2] == ":" {
                    let m = l.get(i + 3).ok_or(())?.parse::<i64>().map_err(|_| ())?;
                    let h = next.parse::<i64>().map_err(|_| ())?;
                    i += 2;
                    (h, m)
                } else if len_li <= 2 {
                    (next.parse::<i64>().map_err(|_| ())?, 0)
                } else {
                    return Err(());
                };
                res.tzoffset = Some(signal * (h * 3600 + m * 60));
                if i + 5 < l.len()
                    && jump(&l[i + 2])
                    && l[i + 3] == "("
                    && l[i + 5] == ")"
                    && 3 <= l[i + 4].chars().count()
                    && res.hour.is_some()
                    && res.tzname.is_none()
                    && l[i + 4].chars().count() <= 5
                    && (l[i + 4].chars().all(|c| c.is_ascii_uppercase())
                        || UTCZONE.contains(&l[i + 4].as_str()))
                {
                    res.tzname = Some(l[i + 4].clone());
                    i += 4;
                }
                i += 1;
            } else if !jump(&tok) {
                return Err(());
            }
            i += 1;
        }
        let (y, m, d) = ymd.resolve()?;
        res.century_specified = ymd.century_specified;
        res.year = y;
        res.month = m;
        res.day = d;
        Ok(())
    })();
    result.ok()?;
    if let Some(y) = res.year {
        if y < 0 {
            return None;
        }
        res.year = Some(convert_year(
            y,
            res.century_specified,
            chrono::Utc::now().year() as i64,
        ));
    }
    Some(res)
}

/// What `dateutil.parser.parse(s)` returns (its time zone aside), with `today` as the default
/// for the parts `s` does not give; `None` where dateutil raises.
pub fn parse_with_default(s: &str, today: NaiveDate) -> Option<NaiveDateTime> {
    let res = parse_fields(s)?;
    if res.is_empty() {
        return None;
    }
    let year = res.year.unwrap_or(today.year() as i64);
    let month = res.month.unwrap_or(today.month() as i64);
    let mut day = res.day.unwrap_or(today.day() as i64);
    if res.day.is_none() && (1..=12).contains(&month) {
        day = day.min(days_in_month(year, month));
    }
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(year).ok()?,
        u32::try_from(month).ok()?,
        u32::try_from(day).ok()?,
    )?;
    if !(1..=9999).contains(&year) {
        return None;
    }
    let time = NaiveTime::from_hms_micro_opt(
        u32::try_from(res.hour.unwrap_or(0)).ok()?,
        u32::try_from(res.minute.unwrap_or(0)).ok()?,
        u32::try_from(res.second.unwrap_or(0)).ok()?,
        u32::try_from(res.microsecond.unwrap_or(0)).ok()?,
    )?;
    let mut at = date.and_time(time);
    if let (Some(w), None) = (res.weekday, res.day) {
        // relativedelta(weekday=w): the next such day, today included
        let ahead = (w as i64 - at.weekday().num_days_from_monday() as i64).rem_euclid(7);
        at += Duration::days(ahead);
    }
    Some(at)
}

/// `dateutil.parser.parse(s)` with today (UTC) as the default.
pub fn parse(s: &str) -> Option<NaiveDateTime> {
    parse_with_default(s, chrono::Utc::now().date_naive())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Option<String> {
        let today = NaiveDate::from_ymd_opt(2003, 9, 25).unwrap();
        parse_with_default(s, today).map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
    }

    /// Cases from dateutil's own tests (test_parser.py), with its default of 2003-09-25.
    #[test]
    fn what_dateutil_parses() {
        for (s, want) in [
            ("Thu Sep 25 10:36:28 2003", "2003-09-25 10:36:28.000000"),
            ("Thu Sep 25 2003", "2003-09-25 00:00:00.000000"),
            ("2003-09-25T10:49:41", "2003-09-25 10:49:41.000000"),
            ("2003-09-25T10:49", "2003-09-25 10:49:00.000000"),
            ("2003-09-25T10", "2003-09-25 10:00:00.000000"),
            ("2003-09-25", "2003-09-25 00:00:00.000000"),
            ("20030925T104941", "2003-09-25 10:49:41.000000"),
            ("20030925T1049", "2003-09-25 10:49:00.000000"),
            ("20030925T10", "2003-09-25 10:00:00.000000"),
            ("20030925", "2003-09-25 00:00:00.000000"),
            ("2003-09-25 10:49:41,502", "2003-09-25 10:49:41.502000"),
            ("199709020908", "1997-09-02 09:08:00.000000"),
            ("19970902090807", "1997-09-02 09:08:07.000000"),
            ("09-25-2003", "2003-09-25 00:00:00.000000"),
            ("25-09-2003", "2003-09-25 00:00:00.000000"),
            ("10-09-2003", "2003-10-09 00:00:00.000000"),
            ("10-09-03", "2003-10-09 00:00:00.000000"),
            ("2003.09.25", "2003-09-25 00:00:00.000000"),
            ("09.25.2003", "2003-09-25 00:00:00.000000"),
            ("25.09.2003", "2003-09-25 00:00:00.000000"),
            ("10.09.2003", "2003-10-09 00:00:00.000000"),
            ("10.09.03", "2003-10-09 00:00:00.000000"),
            ("2003/09/25", "2003-09-25 00:00:00.000000"),
            ("09/25/2003", "2003-09-25 00:00:00.000000"),
            ("25/09/2003", "2003-09-25 00:00:00.000000"),
            ("10/09/2003", "2003-10-09 00:00:00.000000"),
            ("10/09/03", "2003-10-09 00:00:00.000000"),
            ("2003 09 25", "2003-09-25 00:00:00.000000"),
            ("09 25 2003", "2003-09-25 00:00:00.000000"),
            ("25 09 2003", "2003-09-25 00:00:00.000000"),
            ("10 09 2003", "2003-10-09 00:00:00.000000"),
            ("10 09 03", "2003-10-09 00:00:00.000000"),
            ("25 09 03", "2003-09-25 00:00:00.000000"),
            ("03 25 Sep", "2003-09-25 00:00:00.000000"),
            ("25 03 Sep", "2025-09-03 00:00:00.000000"),
            (
                "  July   4 ,  1976   12:01:02   am  ",
                "1976-07-04 00:01:02.000000",
            ),
            ("Wed, July 10, '96", "1996-07-10 00:00:00.000000"),
            ("1996.July.10 AD 12:08 PM", "1996-07-10 12:08:00.000000"),
            ("July 4, 1976", "1976-07-04 00:00:00.000000"),
            ("7 4 1976", "1976-07-04 00:00:00.000000"),
            ("4 jul 1976", "1976-07-04 00:00:00.000000"),
            ("7-4-76", "1976-07-04 00:00:00.000000"),
            ("19760704", "1976-07-04 00:00:00.000000"),
            ("0:01:02 on July 4, 1976", "1976-07-04 00:01:02.000000"),
            ("July 4, 1976 12:01:02 am", "1976-07-04 00:01:02.000000"),
            ("Mon Jan  2 04:24:27 1995", "1995-01-02 04:24:27.000000"),
            ("04.04.95 00:22", "1995-04-04 00:22:00.000000"),
            ("Jan 1 1999 11:23:34.578", "1999-01-01 11:23:34.578000"),
            ("950404 122212", "1995-04-04 12:22:12.000000"),
            ("3rd of May 2001", "2001-05-03 00:00:00.000000"),
            ("5th of March 2001", "2001-03-05 00:00:00.000000"),
            ("1st of May 2003", "2003-05-01 00:00:00.000000"),
            ("13NOV2017", "2017-11-13 00:00:00.000000"),
            ("December.0031.30", "0031-12-30 00:00:00.000000"),
            ("10h36m28.5s", "2003-09-25 10:36:28.500000"),
            ("10h36m28s", "2003-09-25 10:36:28.000000"),
            ("10h36m", "2003-09-25 10:36:00.000000"),
            ("10h", "2003-09-25 10:00:00.000000"),
            ("10 h 36", "2003-09-25 10:36:00.000000"),
            ("10 h 36.5", "2003-09-25 10:36:30.000000"),
            ("36 m 5", "2003-09-25 00:36:05.000000"),
            ("Sep 2003", "2003-09-25 00:00:00.000000"),
            ("Sep", "2003-09-25 00:00:00.000000"),
            ("2003", "2003-09-25 00:00:00.000000"),
            ("10:36:28", "2003-09-25 10:36:28.000000"),
            (
                "Thu Sep 25 10:36:28 BRST 2003",
                "2003-09-25 10:36:28.000000",
            ),
            ("2003-09-25T10:49:41.5-03:00", "2003-09-25 10:49:41.500000"),
            ("Monday", "2003-09-29 00:00:00.000000"),
            ("10th Jan 1969", "1969-01-10 00:00:00.000000"),
        ] {
            assert_eq!(at(s).as_deref(), Some(want), "{s:?}");
        }
    }

    #[test]
    fn what_dateutil_refuses() {
        for s in [
            "",
            "invalid",
            "a",
            "2003-13-01",
            "31/02/2003",
            "Feb 30, 2007",
            "13:44 AM",
            "1:61",
            "2003-09-25 10:49:41 foo",
            "nan",
            "inf",
            "1.5.6.7",
            "17:00 PM",
        ] {
            assert_eq!(at(s), None, "{s:?}");
        }
    }
}
