//! Rows from a CSV file: its records streamed chunk by chunk under the header's names, and column
//! types inferred from the first records where the declaration names none.

use std::fs::File;

use super::geometry::{round, valid_position};
use super::model::{Column, FileField, Source, SqlType, Table};
use super::values::{Cells, Chunk, Value, parse_time};
use super::{HarvestError, HarvestFile};

/// How many records type inference reads.
const INFER_RECORDS: usize = 1000;

/// An open CSV file being harvested.
pub struct CsvRows<'a> {
    meta: &'a HarvestFile,
    delimiter: u8,
    headers: Vec<String>,
}

enum Feed {
    Field(usize),
    Const(Value),
    Point {
        lon: usize,
        lat: usize,
        precision: u32,
    },
}

/// Streams a CSV table's rows.
pub struct CsvChunks {
    reader: csv::Reader<File>,
    record: csv::StringRecord,
    feeds: Vec<Feed>,
    chunk_rows: usize,
    line: u64,
    done: bool,
    name: String,
}

impl<'a> CsvRows<'a> {
    pub fn open(meta: &'a HarvestFile, delimiter: u8) -> Result<CsvRows<'a>, HarvestError> {
        let mut reader = Self::reader(meta, delimiter)?;
        let headers = reader
            .headers()
            .map_err(|e| HarvestError::input(meta, format!("the CSV header cannot be read: {e}")))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        Ok(CsvRows {
            meta,
            delimiter,
            headers,
        })
    }

    fn reader(meta: &HarvestFile, delimiter: u8) -> Result<csv::Reader<File>, HarvestError> {
        let file = File::open(&meta.path)
            .map_err(|e| HarvestError::internal(format!("opening {}: {e}", meta.path.display())))?;
        Ok(csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(false)
            .from_reader(file))
    }

    fn field(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The type an undeclared column takes from the file's first records: the narrowest of
    /// bigint, double, boolean, timestamptz and text that fits every value.
    pub fn infer(&self, column: &Column) -> Option<SqlType> {
        let Source::Csv(name) = &column.source else {
            return None;
        };
        let i = self.field(name)?;
        let mut reader = Self::reader(self.meta, self.delimiter).ok()?;
        let mut fits = [true; 4]; // bigint, double, boolean, timestamp
        let mut any = false;
        for record in reader.records().take(INFER_RECORDS) {
            let Ok(record) = record else { break };
            let v = record.get(i).unwrap_or_default().trim();
            if v.is_empty() {
                continue;
            }
            any = true;
            fits[0] &= v.parse::<i64>().is_ok();
            fits[1] &= v.parse::<f64>().is_ok();
            fits[2] &= matches!(v.to_ascii_lowercase().as_str(), "true" | "false");
            fits[3] &= parse_time(v).is_some();
        }
        Some(match fits {
            _ if !any => SqlType::Text,
            [true, ..] => SqlType::BigInt,
            [_, true, ..] => SqlType::Double,
            [_, _, true, _] => SqlType::Boolean,
            [.., true] => SqlType::Timestamp,
            _ => SqlType::Text,
        })
    }

    /// The table's rows, `chunk_rows` records at a time.
    pub fn chunks(&self, table: &Table, chunk_rows: usize) -> Result<CsvChunks, HarvestError> {
        let mut feeds = Vec::new();
        for c in &table.columns {
            let missing = |what: &str| -> Result<Feed, HarvestError> {
                if c.required {
                    Err(HarvestError::input(
                        self.meta,
                        format!(
                            "the CSV header has no column {what}, which column {} of table {} requires (header: {})",
                            c.name,
                            table.name,
                            self.headers.join(", ")
                        ),
                    ))
                } else {
                    Ok(Feed::Const(Value::Null))
                }
            };
            feeds.push(match &c.source {
                Source::Csv(name) => match self.field(name) {
                    Some(i) => Feed::Field(i),
                    None => missing(name)?,
                },
                Source::Geometry {
                    lon,
                    lat,
                    precision,
                    ..
                } => match (self.field(lon), self.field(lat)) {
                    (Some(lon), Some(lat)) => Feed::Point {
                        lon,
                        lat,
                        precision: *precision,
                    },
                    _ => missing(&format!("{lon} or {lat}"))?,
                },
                Source::File(FileField::DestPath) => {
                    Feed::Const(Value::Text(self.meta.dest_path.clone()))
                }
                Source::File(FileField::Name) => {
                    Feed::Const(Value::Text(self.meta.name().to_string()))
                }
                Source::File(FileField::Size) => Feed::Const(Value::Num(self.meta.size as f64)),
                _ => Feed::Const(Value::Null),
            });
        }
        let mut reader = Self::reader(self.meta, self.delimiter)?;
        reader.headers().map_err(|e| {
            HarvestError::input(self.meta, format!("the CSV header cannot be read: {e}"))
        })?;
        Ok(CsvChunks {
            reader,
            record: csv::StringRecord::new(),
            feeds,
            chunk_rows: chunk_rows.max(1),
            line: 1,
            done: false,
            name: self.meta.name().to_string(),
        })
    }
}

impl CsvChunks {
    /// The next chunk, or `None` at the end.
    pub fn next_chunk(&mut self, meta: &HarvestFile) -> Result<Option<Chunk>, HarvestError> {
        if self.done {
            return Ok(None);
        }
        let mut columns: Vec<Cells> = self
            .feeds
            .iter()
            .map(|f| match f {
                Feed::Field(_) => Cells::Text(Vec::new()),
                Feed::Const(v) => Cells::Const(v.clone()),
                Feed::Point { .. } => Cells::Point(Vec::new()),
            })
            .collect();
        let mut len = 0;
        while len < self.chunk_rows {
            let more = self.reader.read_record(&mut self.record).map_err(|e| {
                HarvestError::input(meta, format!("{} line {}: {e}", self.name, self.line + 1))
            })?;
            if !more {
                self.done = true;
                break;
            }
            self.line += 1;
            for (feed, cells) in self.feeds.iter().zip(columns.iter_mut()) {
                match (feed, cells) {
                    (Feed::Field(i), Cells::Text(v)) => {
                        let s = self.record.get(*i).unwrap_or_default().trim();
                        v.push((!s.is_empty()).then(|| s.to_string()));
                    }
                    (
                        Feed::Point {
                            lon,
                            lat,
                            precision,
                        },
                        Cells::Point(v),
                    ) => {
                        let num = |i: usize| {
                            self.record
                                .get(i)
                                .and_then(|s| s.trim().parse::<f64>().ok())
                                .unwrap_or(f64::NAN)
                        };
                        let (x, y) = (num(*lon), num(*lat));
                        v.push(if valid_position(x, y) {
                            (round(x, *precision), round(y, *precision))
                        } else {
                            (f64::NAN, f64::NAN)
                        });
                    }
                    _ => {}
                }
            }
            len += 1;
        }
        Ok((len > 0).then_some(Chunk { len, columns }))
    }
}
