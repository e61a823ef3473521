//! Rows from a NetCDF file: a samples table's values streamed chunk by chunk along its dimensions
//! (fill values masked, packed values unpacked, CF times as instants, quality-control flags found
//! beside their variable), a file table's one row, and the attribute rows of the `nc_*` tables.

use std::ops::ControlFlow;

use crate::netcdf::columns::RowCursor;
use crate::netcdf::{
    AttrValue, CfTimeUnits, NcFile, NcSummary, NcType, Variable, parse_time_units,
};

use super::HarvestError;
use super::HarvestFile;
use super::geometry::{Geometry, TrackBuilder, round, valid_position};
use super::model::{Bound, Column, FileField, GeometryKind, Reduce, Rows, Source, SqlType, Table};
use super::values::{Cells, Chunk, Micros, NO_TIME, Value};

/// An open NetCDF file being harvested.
pub struct NcRows<'a> {
    pub file: NcFile,
    pub summary: NcSummary,
    pub meta: &'a HarvestFile,
    /// The collection's time variable.
    time: &'a str,
}

/// One `nc_*` table's rows for a file.
pub struct AttributeTable {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub rows: Vec<Vec<String>>,
}

/// How one variable's values become numbers: masking and unpacking.
#[derive(Debug, Clone)]
struct Numeric {
    fills: Vec<f64>,
    scale: f64,
    offset: f64,
    time: Option<CfTimeUnits>,
}

/// netCDF's default fill values, which mean "missing" where a variable sets no `_FillValue`.
fn default_fill(t: &NcType) -> Option<f64> {
    match t {
        NcType::Short => Some(-32767.0),
        NcType::Int => Some(-2147483647.0),
        // NC_FILL_FLOAT and NC_FILL_DOUBLE (9.96921e36), by their bits.
        NcType::Float => Some(f32::from_bits(0x7cf0_0000) as f64),
        NcType::Double => Some(f64::from_bits(0x479e_0000_0000_0000)),
        _ => None,
    }
}

impl Numeric {
    fn of(v: &Variable) -> Numeric {
        let mut fills: Vec<f64> = Vec::new();
        match v.attr("_FillValue").and_then(AttrValue::as_f64s) {
            Some(f) => fills.extend(f),
            None => fills.extend(default_fill(&v.dtype)),
        }
        if let Some(m) = v.attr("missing_value").and_then(AttrValue::as_f64s) {
            fills.extend(m);
        }
        Numeric {
            fills,
            scale: v
                .attr("scale_factor")
                .and_then(AttrValue::as_f64)
                .unwrap_or(1.0),
            offset: v
                .attr("add_offset")
                .and_then(AttrValue::as_f64)
                .unwrap_or(0.0),
            time: v.attr_str("units").and_then(parse_time_units),
        }
    }

    /// The value, or NaN when it is missing.
    fn number(&self, raw: f64) -> f64 {
        if raw.is_nan() || self.fills.contains(&raw) {
            f64::NAN
        } else {
            raw * self.scale + self.offset
        }
    }

    fn micros(&self, raw: f64) -> Micros {
        let x = self.number(raw);
        match &self.time {
            Some(u) if x.is_finite() => to_micros(u, x).unwrap_or(NO_TIME),
            _ => NO_TIME,
        }
    }
}

/// A CF time value as microseconds since 1970 (what PostgreSQL keeps), or `None` out of range.
fn to_micros(units: &CfTimeUnits, value: f64) -> Option<Micros> {
    let micros = value * units.seconds_per_unit * 1e6;
    if !micros.is_finite() || micros.abs() > 1e17 {
        return None;
    }
    Some(units.epoch.and_utc().timestamp_micros() + micros.round() as i64)
}

/// The type a column gets when its declaration names none, from the first file loaded into it.
fn variable_type(v: &Variable) -> SqlType {
    if v.attr_str("units").and_then(parse_time_units).is_some() {
        return SqlType::Timestamp;
    }
    if v.attr("scale_factor").is_some() || v.attr("add_offset").is_some() {
        return SqlType::Double;
    }
    match v.dtype {
        NcType::Byte | NcType::UByte | NcType::Short => SqlType::SmallInt,
        NcType::UShort | NcType::Int => SqlType::Integer,
        NcType::UInt | NcType::Int64 | NcType::UInt64 => SqlType::BigInt,
        NcType::Float => SqlType::Real,
        NcType::Double => SqlType::Double,
        _ => SqlType::Text,
    }
}

/// What a column reads per chunk.
enum Feed {
    Const(Value),
    Numbers {
        var: String,
        /// How many of the table's leading dimensions the variable spans.
        spans: usize,
        numeric: Numeric,
        as_time: bool,
        /// Reads the variable's rows, each HDF5 chunk inflated once (`None` for a scalar).
        cursor: Option<RowCursor>,
    },
    Chars {
        var: String,
        spans: usize,
        /// The trailing string-length dimension, when each value is a string.
        width: Option<usize>,
    },
    Point {
        lon: Box<Feed>,
        lat: Box<Feed>,
        precision: u32,
    },
}

/// Streams a samples table's rows.
pub struct SampleChunks<'r, 'a> {
    rows: &'r NcRows<'a>,
    lens: Vec<usize>,
    /// Rows per step of the first dimension.
    inner: usize,
    step: usize,
    next: usize,
    feeds: Vec<Feed>,
    nums: Vec<f64>,
    bytes: Vec<u8>,
}

impl<'a> NcRows<'a> {
    pub fn open(meta: &'a HarvestFile, time: &'a str) -> Result<NcRows<'a>, HarvestError> {
        let file =
            NcFile::open(&meta.path).map_err(|e| HarvestError::input(meta, e.to_string()))?;
        let summary = file
            .summary()
            .map_err(|e| HarvestError::input(meta, e.to_string()))?;
        Ok(NcRows {
            file,
            summary,
            meta,
            time,
        })
    }

    fn fail(&self, message: impl Into<String>) -> HarvestError {
        HarvestError::input(self.meta, message)
    }

    fn read_err(&self, e: crate::netcdf::NcError) -> HarvestError {
        self.fail(e.to_string())
    }

    /// The type an undeclared column takes from this file; `None` when the file lacks the source.
    pub fn infer(&self, column: &Column) -> Option<SqlType> {
        Some(match &column.source {
            Source::Variable { name, .. } => variable_type(self.summary.variable(name)?),
            Source::QualityControl { .. } => SqlType::Text,
            Source::Attribute(name) => match self.summary.global(name)? {
                AttrValue::Text(_) | AttrValue::Strings(_) => SqlType::Text,
                AttrValue::Float(_) | AttrValue::Double(_) => SqlType::Double,
                v if v.len() == 1 => SqlType::BigInt,
                _ => SqlType::Text,
            },
            _ => return None,
        })
    }

    /// The QC variable of `variable`: the one named, else the flags its `ancillary_variables`
    /// list, else `<variable>_quality_control`, else `<variable>_QC` (Argo).
    fn qc_variable(&self, variable: &str, named: Option<&str>) -> Option<&Variable> {
        if let Some(n) = named {
            return self.summary.variable(n);
        }
        let v = self.summary.variable(variable)?;
        let listed = v
            .attr_str("ancillary_variables")
            .unwrap_or_default()
            .split_whitespace()
            .filter(|a| a.ends_with("_quality_control") || a.ends_with("_QC"))
            .find_map(|a| self.summary.variable(a));
        listed
            .or_else(|| {
                self.summary
                    .variable(&format!("{variable}_quality_control"))
            })
            .or_else(|| self.summary.variable(&format!("{variable}_QC")))
    }

    /// How a variable fits a table running along `dims`: the leading dimensions it spans and,
    /// for strings, the width of its trailing string dimension.
    fn fit(
        &self,
        v: &Variable,
        dims: &[String],
        table: &str,
    ) -> Result<(usize, Option<usize>), HarvestError> {
        let spans = v
            .dimensions
            .iter()
            .zip(dims)
            .take_while(|(a, b)| a == b)
            .count();
        let rest = &v.dimensions[spans..];
        match (rest.len(), &v.dtype) {
            (0, _) => Ok((spans, None)),
            (1, NcType::Char) if !dims.contains(&rest[0]) => Ok((spans, Some(v.shape[spans]))),
            _ => Err(self.fail(format!(
                "variable {} has dimensions ({}), which do not run along table {table}'s rows ({})",
                v.name,
                v.dimensions.join(", "),
                dims.join(", ")
            ))),
        }
    }

    fn feed(&self, column: &Column, dims: &[String], table: &str) -> Result<Feed, HarvestError> {
        let variable_feed = |v: &Variable| -> Result<Feed, HarvestError> {
            let (spans, width) = self.fit(v, dims, table)?;
            Ok(match v.dtype {
                NcType::Char => Feed::Chars {
                    var: v.name.clone(),
                    spans,
                    width,
                },
                ref t if t.is_numeric() => {
                    let numeric = Numeric::of(v);
                    let cursor = if spans > 0 {
                        Some(
                            self.file
                                .row_cursor(&v.name)
                                .map_err(|e| self.read_err(e))?,
                        )
                    } else {
                        None
                    };
                    Feed::Numbers {
                        var: v.name.clone(),
                        spans,
                        as_time: numeric.time.is_some(),
                        numeric,
                        cursor,
                    }
                }
                _ => {
                    return Err(self.fail(format!(
                        "variable {} has type {}, which the harvest does not read",
                        v.name,
                        v.dtype.cdl_name()
                    )));
                }
            })
        };
        let missing = |what: String| -> Result<Feed, HarvestError> {
            if column.required {
                Err(self.fail(format!(
                    "the file has no {what}, which column {} of table {table} requires",
                    column.name
                )))
            } else {
                Ok(Feed::Const(Value::Null))
            }
        };
        match &column.source {
            Source::Variable { name, .. } => match self.summary.variable(name) {
                Some(v) => variable_feed(v),
                None => missing(format!("variable {name}")),
            },
            Source::QualityControl {
                variable,
                qc_variable,
            } => match self.qc_variable(variable, qc_variable.as_deref()) {
                Some(v) => variable_feed(v),
                None => Ok(Feed::Const(Value::Null)),
            },
            Source::Geometry {
                lon,
                lat,
                precision,
                ..
            } => {
                let (Some(x), Some(y)) = (self.summary.variable(lon), self.summary.variable(lat))
                else {
                    return missing(format!("variables {lon} and {lat}"));
                };
                Ok(Feed::Point {
                    lon: Box::new(variable_feed(x)?),
                    lat: Box::new(variable_feed(y)?),
                    precision: *precision,
                })
            }
            _ => Ok(Feed::Const(self.file_value(column, table)?)),
        }
    }

    /// A samples table's rows, at most about `chunk_rows` at a time.
    pub fn samples<'r>(
        &'r self,
        table: &Table,
        chunk_rows: usize,
    ) -> Result<SampleChunks<'r, 'a>, HarvestError> {
        let Rows::Samples { dimensions } = &table.rows else {
            return Err(HarvestError::internal(format!(
                "table {} is not a samples table",
                table.name
            )));
        };
        let mut lens = Vec::new();
        for d in dimensions {
            match self.summary.dimension(d) {
                Some(dim) => lens.push(dim.len),
                None => {
                    return Err(self.fail(format!(
                        "the file has no dimension {d}, which table {} runs along",
                        table.name
                    )));
                }
            }
        }
        let inner: usize = lens[1..].iter().product();
        let feeds = table
            .columns
            .iter()
            .map(|c| self.feed(c, dimensions, &table.name))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SampleChunks {
            rows: self,
            step: (chunk_rows / inner.max(1)).max(1),
            inner,
            lens,
            next: 0,
            feeds,
            nums: Vec::new(),
            bytes: Vec::new(),
        })
    }

    /// Number of rows a samples table gets from this file.
    pub fn sample_count(&self, table: &Table) -> usize {
        match &table.rows {
            Rows::Samples { dimensions } => dimensions
                .iter()
                .map(|d| self.summary.dimension(d).map_or(0, |d| d.len))
                .product(),
            _ => 1,
        }
    }

    /// A file table's one row.
    pub fn file_row(&self, table: &Table) -> Result<Chunk, HarvestError> {
        let columns = table
            .columns
            .iter()
            .map(|c| self.file_value(c, &table.name).map(Cells::Const))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Chunk { len: 1, columns })
    }

    /// One value for the whole file.
    pub fn file_value(&self, column: &Column, table: &str) -> Result<Value, HarvestError> {
        let value = match &column.source {
            Source::Attribute(name) => match self.summary.global(name) {
                None => Value::Null,
                Some(a) => attribute_value(a),
            },
            Source::File(FileField::DestPath) => Value::Text(self.meta.dest_path.clone()),
            Source::File(FileField::Name) => Value::Text(self.meta.name().to_string()),
            Source::File(FileField::Size) => Value::Num(self.meta.size as f64),
            Source::TimeCoverage(bound) => {
                let (start, end) = self.time_coverage()?;
                Value::Time(match bound {
                    Bound::Start => start,
                    Bound::End => end,
                })
            }
            Source::Variable { name, reduce } => match self.summary.variable(name) {
                None if *reduce == Some(Reduce::Any) => Value::Num(0.0),
                None => Value::Null,
                Some(v) => self.reduced(v, *reduce, table, &column.name)?,
            },
            Source::QualityControl { .. } => Value::Null,
            Source::Csv(_) => Value::Null,
            Source::Geometry {
                kind,
                precision,
                lon,
                lat,
                max_points,
            } => self
                .geometry(*kind, *precision, lon, lat, *max_points)?
                .map_or(Value::Null, Value::Geom),
        };
        if column.required && value == Value::Null {
            return Err(self.fail(format!(
                "column {} of table {table} requires a value, and the file has none for it",
                column.name
            )));
        }
        Ok(value)
    }

    /// Streams every value of a numeric variable (masked, unpacked).
    fn each_number(&self, v: &Variable, mut visit: impl FnMut(f64)) -> Result<(), HarvestError> {
        let numeric = Numeric::of(v);
        self.file
            .for_each_chunk(&v.name, crate::netcdf::DEFAULT_CHUNK / 16, |chunk| {
                chunk.iter().for_each(|&raw| visit(numeric.number(raw)))
            })
            .map_err(|e| self.read_err(e))
    }

    /// Whether a variable holds at least one valid value (masked, unpacked): read front to back
    /// until the first, so a full variable costs one read, not all of its values.
    fn any_valid(&self, v: &Variable) -> Result<bool, HarvestError> {
        let numeric = Numeric::of(v);
        let mut found = false;
        self.file
            .for_each_chunk_until(&v.name, crate::netcdf::DEFAULT_CHUNK / 16, |chunk| {
                found = chunk.iter().any(|&raw| !numeric.number(raw).is_nan());
                if found {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .map_err(|e| self.read_err(e))?;
        Ok(found)
    }

    fn reduced(
        &self,
        v: &Variable,
        reduce: Option<Reduce>,
        table: &str,
        column: &str,
    ) -> Result<Value, HarvestError> {
        if v.dtype == NcType::Char {
            let text = self.file.read_text(&v.name).map_err(|e| self.read_err(e))?;
            return Ok(text
                .into_iter()
                .find(|s| !s.is_empty())
                .map_or(Value::Null, Value::Text));
        }
        if !v.dtype.is_numeric() {
            return Err(self.fail(format!(
                "variable {} has type {}, which the harvest does not read",
                v.name,
                v.dtype.cdl_name()
            )));
        }
        let reduce = match reduce {
            Some(r) => r,
            None if v.len() <= 1 => Reduce::First,
            None => {
                return Err(self.fail(format!(
                    "variable {} has {} values, and column {column} of table {table} keeps one: declare reduce = \"first\", \"min\", \"max\" or \"mean\"",
                    v.name,
                    v.len()
                )));
            }
        };
        if reduce == Reduce::Any {
            return Ok(Value::Num(self.any_valid(v)? as u8 as f64));
        }
        let (mut first, mut min, mut max, mut sum, mut n) =
            (f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.0, 0usize);
        self.each_number(v, |x| {
            if x.is_nan() {
                return;
            }
            if n == 0 {
                first = x;
            }
            min = min.min(x);
            max = max.max(x);
            sum += x;
            n += 1;
        })?;
        if n == 0 {
            return Ok(Value::Null);
        }
        let x = match reduce {
            Reduce::Any => unreachable!("answered above"),
            Reduce::First => first,
            Reduce::Min => min,
            Reduce::Max => max,
            Reduce::Mean => sum / n as f64,
        };
        let numeric = Numeric::of(v);
        Ok(match &numeric.time {
            Some(u) => to_micros(u, x).map_or(Value::Null, Value::Time),
            None => Value::Num(x),
        })
    }

    /// The first and last instant of the time variable's values (masked values skipped).
    pub fn time_coverage(&self) -> Result<(Micros, Micros), HarvestError> {
        let name = self.time;
        let Some(v) = self.summary.variable(name) else {
            return Ok((NO_TIME, NO_TIME));
        };
        let numeric = Numeric::of(v);
        if numeric.time.is_none() {
            return Err(self.fail(format!(
                "the time variable {name} has no CF time units (\"days since 1950-01-01 00:00:00 UTC\")"
            )));
        }
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        self.file
            .for_each_chunk(name, crate::netcdf::DEFAULT_CHUNK / 16, |chunk| {
                for &raw in chunk {
                    let t = numeric.micros(raw);
                    if t != NO_TIME {
                        lo = lo.min(t);
                        hi = hi.max(t);
                    }
                }
            })
            .map_err(|e| self.read_err(e))?;
        Ok(if lo > hi {
            (NO_TIME, NO_TIME)
        } else {
            (lo, hi)
        })
    }

    /// Positions in file order, pairing the longitude and latitude values (a scalar pairs with
    /// every value of the other).
    fn each_position(
        &self,
        lon: &Variable,
        lat: &Variable,
        mut visit: impl FnMut(f64, f64),
    ) -> Result<(), HarvestError> {
        let (nx, ny) = (lon.len(), lat.len());
        if nx != ny && nx > 1 && ny > 1 {
            return Err(self.fail(format!(
                "{} has {nx} values and {} {ny}: they are not one position each",
                lon.name, lat.name
            )));
        }
        let (xs, ys) = (Numeric::of(lon), Numeric::of(lat));
        let n = nx.max(ny);
        let step = crate::netcdf::DEFAULT_CHUNK / 16;
        let (mut bx, mut by) = (Vec::new(), Vec::new());
        let flat = |v: &Variable,
                    start: usize,
                    count: usize,
                    buf: &mut Vec<f64>|
         -> Result<(), HarvestError> {
            if v.len() <= 1 {
                let (start, one) = (vec![0; v.shape.len()], vec![1; v.shape.len()]);
                self.file
                    .read_f64_into(&v.name, &start, &one, buf)
                    .map_err(|e| self.read_err(e))?;
                let x = buf.first().copied().unwrap_or(f64::NAN);
                buf.clear();
                buf.resize(count, x);
                return Ok(());
            }
            if v.dimensions.len() != 1 {
                return Err(self.fail(format!(
                    "{} has {} dimensions; positions come from one-dimensional or scalar variables",
                    v.name,
                    v.dimensions.len()
                )));
            }
            self.file
                .read_f64_into(&v.name, &[start], &[count], buf)
                .map_err(|e| self.read_err(e))
        };
        let mut start = 0;
        while start < n {
            let count = step.min(n - start);
            flat(lon, start, count, &mut bx)?;
            flat(lat, start, count, &mut by)?;
            for (x, y) in bx.iter().zip(&by) {
                visit(xs.number(*x), ys.number(*y));
            }
            start += count;
        }
        Ok(())
    }

    fn geometry(
        &self,
        kind: GeometryKind,
        precision: u32,
        lon: &str,
        lat: &str,
        max_points: usize,
    ) -> Result<Option<Geometry>, HarvestError> {
        let (Some(x), Some(y)) = (self.summary.variable(lon), self.summary.variable(lat)) else {
            return Ok(None);
        };
        let n = x.len().max(y.len());
        Ok(match kind {
            GeometryKind::Point => {
                let mut first = None;
                self.each_position(x, y, |a, b| {
                    if first.is_none() && valid_position(a, b) {
                        first = Some(Geometry::Point(round(a, precision), round(b, precision)));
                    }
                })?;
                first
            }
            GeometryKind::BoundingBox => {
                let mut b = [
                    f64::INFINITY,
                    f64::INFINITY,
                    f64::NEG_INFINITY,
                    f64::NEG_INFINITY,
                ];
                self.each_position(x, y, |lo, la| {
                    if valid_position(lo, la) {
                        b = [b[0].min(lo), b[1].min(la), b[2].max(lo), b[3].max(la)];
                    }
                })?;
                (b[0] <= b[2]).then(|| {
                    Geometry::bbox(
                        round(b[0], precision),
                        round(b[1], precision),
                        round(b[2], precision),
                        round(b[3], precision),
                    )
                })
            }
            GeometryKind::Track => {
                let mut t = TrackBuilder::new(precision, max_points, n);
                self.each_position(x, y, |a, b| t.push(a, b))?;
                t.finish()
            }
        })
    }

    /// The rows of the three `nc_*` attribute tables for this file, each with its columns
    /// (after `file_id`).
    pub fn attribute_tables(&self) -> [AttributeTable; 3] {
        let rows = |r: Vec<[String; 3]>| r.into_iter().map(|x| x.to_vec()).collect();
        let rows4 = |r: Vec<[String; 4]>| r.into_iter().map(|x| x.to_vec()).collect();
        [
            AttributeTable {
                name: "nc_global_attribute",
                columns: &["name", "type", "value"],
                rows: rows(self.global_attribute_rows()),
            },
            AttributeTable {
                name: "nc_variable",
                columns: &["name", "type", "dimensions", "shape"],
                rows: rows4(self.variable_rows()),
            },
            AttributeTable {
                name: "nc_variable_attribute",
                columns: &["var_name", "attr_name", "type", "value"],
                rows: rows4(self.variable_attribute_rows()),
            },
        ]
    }

    /// `nc_global_attribute` rows: (name, type, value), types and values as the reference's
    /// prototype wrote them from Python (`str`, `float64`, `int32`, …).
    pub fn global_attribute_rows(&self) -> Vec<[String; 3]> {
        self.summary
            .global_attributes
            .iter()
            .map(|a| {
                [
                    a.name.clone(),
                    attr_type_name(&a.value).to_string(),
                    attr_text(&a.value),
                ]
            })
            .collect()
    }

    /// `nc_variable` rows: (name, type, dimensions, shape).
    pub fn variable_rows(&self) -> Vec<[String; 4]> {
        self.summary
            .variables
            .iter()
            .map(|v| {
                [
                    v.name.clone(),
                    dtype_name(&v.dtype).to_string(),
                    v.dimensions.join(","),
                    v.shape
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                        .join(" "),
                ]
            })
            .collect()
    }

    /// `nc_variable_attribute` rows: (var_name, attr_name, type, value).
    pub fn variable_attribute_rows(&self) -> Vec<[String; 4]> {
        self.summary
            .variables
            .iter()
            .flat_map(|v| {
                v.attributes.iter().map(|a| {
                    [
                        v.name.clone(),
                        a.name.clone(),
                        attr_type_name(&a.value).to_string(),
                        attr_text(&a.value),
                    ]
                })
            })
            .collect()
    }
}

impl SampleChunks<'_, '_> {
    /// Rows still to come.
    pub fn remaining(&self) -> usize {
        (self.lens[0] - self.next.min(self.lens[0])) * self.inner
    }

    /// The next chunk, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>, HarvestError> {
        if self.next >= self.lens[0] || self.inner == 0 {
            return Ok(None);
        }
        let k = self.step.min(self.lens[0] - self.next);
        let len = k * self.inner;
        let mut columns = Vec::with_capacity(self.feeds.len());
        for i in 0..self.feeds.len() {
            let feed = &mut self.feeds[i];
            let cells = read_feed(
                self.rows,
                feed,
                &self.lens,
                self.next,
                k,
                &mut self.nums,
                &mut self.bytes,
            )?;
            columns.push(cells);
        }
        self.next += k;
        Ok(Some(Chunk { len, columns }))
    }
}

/// The slab a variable spanning `spans` leading dimensions covers for rows `[i0, i0+k)` of the
/// first dimension, and how many times each of its values repeats (the dimensions it lacks).
fn slab(lens: &[usize], spans: usize, i0: usize, k: usize) -> (Vec<usize>, Vec<usize>, usize) {
    if spans == 0 {
        return (
            Vec::new(),
            Vec::new(),
            k * lens[1..].iter().product::<usize>(),
        );
    }
    let mut start = vec![0; spans];
    let mut count = lens[..spans].to_vec();
    start[0] = i0;
    count[0] = k;
    (start, count, lens[spans..].iter().product())
}

fn read_feed(
    rows: &NcRows,
    feed: &mut Feed,
    lens: &[usize],
    i0: usize,
    k: usize,
    nums: &mut Vec<f64>,
    bytes: &mut Vec<u8>,
) -> Result<Cells, HarvestError> {
    let total = k * lens[1..].iter().product::<usize>();
    let read_err = |e: crate::netcdf::NcError| rows.read_err(e);
    Ok(match feed {
        Feed::Const(v) => Cells::Const(v.clone()),
        Feed::Numbers {
            var,
            spans,
            numeric,
            as_time,
            cursor,
        } => {
            let (start, count, repeat) = slab(lens, *spans, i0, k);
            match cursor {
                Some(c) => c.read_rows_into(&rows.file, i0, k, nums),
                None => rows.file.read_f64_into(var, &start, &count, nums),
            }
            .map_err(read_err)?;
            if *as_time {
                let mut out = Vec::with_capacity(total);
                for &raw in nums.iter() {
                    let t = numeric.micros(raw);
                    out.extend(std::iter::repeat_n(t, repeat));
                }
                Cells::Time(out)
            } else if repeat == 1 && numeric.scale == 1.0 && numeric.offset == 0.0 {
                Cells::Num(nums.iter().map(|&raw| numeric.number(raw)).collect())
            } else {
                let mut out = Vec::with_capacity(total);
                for &raw in nums.iter() {
                    out.extend(std::iter::repeat_n(numeric.number(raw), repeat));
                }
                Cells::Num(out)
            }
        }
        Feed::Chars { var, spans, width } => {
            let (mut start, mut count, repeat) = slab(lens, *spans, i0, k);
            let w = width.unwrap_or(1);
            if width.is_some() {
                start.push(0);
                count.push(w);
            }
            rows.file
                .read_bytes_into(var, &start, &count, bytes)
                .map_err(read_err)?;
            let mut out = Vec::with_capacity(total);
            for value in bytes.chunks(w) {
                let text = String::from_utf8_lossy(value);
                let text = text.trim_end_matches('\0').trim();
                let cell = (!text.is_empty()).then(|| text.to_string());
                out.extend(std::iter::repeat_n(cell, repeat));
            }
            Cells::Text(out)
        }
        Feed::Point {
            lon,
            lat,
            precision,
        } => {
            let xs = read_feed(rows, lon, lens, i0, k, nums, bytes)?;
            let ys = read_feed(rows, lat, lens, i0, k, nums, bytes)?;
            let coordinate = |c: &Cells, i: usize| match c.get(i) {
                super::values::CellRef::Num(x) => x,
                _ => f64::NAN,
            };
            let points = (0..total)
                .map(|i| {
                    let (x, y) = (coordinate(&xs, i), coordinate(&ys, i));
                    if valid_position(x, y) {
                        (round(x, *precision), round(y, *precision))
                    } else {
                        (f64::NAN, f64::NAN)
                    }
                })
                .collect();
            Cells::Point(points)
        }
    })
}

/// A global attribute as one value: text as text, one number as a number, several as text.
fn attribute_value(a: &AttrValue) -> Value {
    match a {
        AttrValue::Text(s) => Value::Text(s.clone()),
        AttrValue::Strings(v) if v.len() == 1 => Value::Text(v[0].clone()),
        other => match other.as_f64() {
            Some(x) => Value::Num(x),
            None => Value::Text(attr_text(other)),
        },
    }
}

/// numpy's name of a variable's type, as `str(variable.dtype)` prints it.
fn dtype_name(t: &NcType) -> &str {
    match t {
        NcType::Byte => "int8",
        NcType::UByte => "uint8",
        NcType::Short => "int16",
        NcType::UShort => "uint16",
        NcType::Int => "int32",
        NcType::UInt => "uint32",
        NcType::Int64 => "int64",
        NcType::UInt64 => "uint64",
        NcType::Float => "float32",
        NcType::Double => "float64",
        NcType::Char => "|S1",
        NcType::String => "<class 'str'>",
        NcType::Other(s) => s,
    }
}

/// Python's name of an attribute value's type, as `type(value).__name__` gives it.
fn attr_type_name(a: &AttrValue) -> &'static str {
    let single = a.len() == 1;
    match a {
        AttrValue::Text(_) | AttrValue::Strings(_) if single || matches!(a, AttrValue::Text(_)) => {
            "str"
        }
        AttrValue::Strings(_) => "list",
        _ if !single => "ndarray",
        AttrValue::Byte(_) => "int8",
        AttrValue::UByte(_) => "uint8",
        AttrValue::Short(_) => "int16",
        AttrValue::UShort(_) => "uint16",
        AttrValue::Int(_) => "int32",
        AttrValue::UInt(_) => "uint32",
        AttrValue::Int64(_) => "int64",
        AttrValue::UInt64(_) => "uint64",
        AttrValue::Float(_) => "float32",
        AttrValue::Double(_) => "float64",
        _ => "str",
    }
}

/// An attribute's value as Python's `str()` prints it: floats with a fraction (`90000.0`),
/// arrays as numpy does (`[0 1 2]`).
fn attr_text(a: &AttrValue) -> String {
    fn float<T: std::fmt::Display + Into<f64> + Copy>(x: T) -> String {
        let f: f64 = x.into();
        if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
            format!("{f:.1}")
        } else {
            format!("{x}")
        }
    }
    let items: Vec<String> = match a {
        AttrValue::Text(s) => return s.clone(),
        AttrValue::Strings(v) if v.len() == 1 => return v[0].clone(),
        AttrValue::Strings(v) => return format!("{v:?}"),
        AttrValue::Byte(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::UByte(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::Short(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::UShort(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::Int(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::UInt(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::Int64(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::UInt64(v) => v.iter().map(|x| x.to_string()).collect(),
        AttrValue::Float(v) => v.iter().map(|x| float(*x)).collect(),
        AttrValue::Double(v) => v.iter().map(|x| float(*x)).collect(),
    };
    if items.len() == 1 {
        items.into_iter().next().unwrap_or_default()
    } else {
        format!("[{}]", items.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_text_reads_as_python_prints_it() {
        assert_eq!(attr_text(&AttrValue::Double(vec![90000.0])), "90000.0");
        assert_eq!(attr_text(&AttrValue::Float(vec![-2.5])), "-2.5");
        assert_eq!(attr_text(&AttrValue::Byte(vec![0, 1, 2])), "[0 1 2]");
        assert_eq!(attr_type_name(&AttrValue::Byte(vec![0, 1, 2])), "ndarray");
        assert_eq!(attr_type_name(&AttrValue::Text("x".into())), "str");
        assert_eq!(attr_type_name(&AttrValue::Int(vec![3])), "int32");
    }

    #[test]
    fn any_is_answered_by_the_first_valid_value_wherever_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("any.nc");
        let n = 200_000; // many reads of the step
        {
            let mut f = netcdf::create(&path).unwrap();
            f.add_dimension("TIME", n).unwrap();
            f.add_dimension("LEVEL", 3).unwrap();
            let fill = 999_999.0f32;
            let mut values = vec![fill; n];
            for (name, valid_at) in [("NONE", None), ("LAST", Some(n - 1)), ("FIRST", Some(0))] {
                let mut v = f.add_variable::<f32>(name, &["TIME"]).unwrap();
                v.set_fill_value(fill).unwrap();
                values.fill(fill);
                if let Some(i) = valid_at {
                    values[i] = 12.5;
                }
                v.put_values(&values, ..).unwrap();
            }
            // Packed: the raw fill unpacks to nothing; a 2-D variable valid in its last cell.
            let mut v = f.add_variable::<i16>("GRID", &["TIME", "LEVEL"]).unwrap();
            v.set_fill_value(-1i16).unwrap();
            v.put_attribute("scale_factor", 0.5f64).unwrap();
            let mut grid = vec![-1i16; n * 3];
            grid[n * 3 - 1] = 7;
            v.put_values(&grid, ..).unwrap();
        }
        let meta = HarvestFile::from_path(&path, "X/any.nc").unwrap();
        let rows = NcRows::open(&meta, "TIME").unwrap();
        for (name, expected) in [
            ("NONE", false),
            ("LAST", true),
            ("FIRST", true),
            ("GRID", true),
        ] {
            let v = rows.summary.variable(name).unwrap();
            assert_eq!(rows.any_valid(v).unwrap(), expected, "{name}");
            let reduced = rows.reduced(v, Some(Reduce::Any), "t", "c").unwrap();
            assert_eq!(reduced, Value::Num(expected as u8 as f64), "{name}");
        }
    }

    #[test]
    fn slabs_broadcast_what_a_variable_lacks() {
        assert_eq!(slab(&[3, 70], 1, 1, 2), (vec![1], vec![2], 70));
        assert_eq!(slab(&[3, 70], 2, 1, 2), (vec![1, 0], vec![2, 70], 1));
        assert_eq!(slab(&[3, 70], 0, 1, 2), (vec![], vec![], 140));
    }
}
