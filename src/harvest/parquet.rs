//! The cloud-optimised sink: the same declaration writes one table's rows as a partitioned
//! Parquet dataset in an object store, one object per harvested file under hive-style partitions
//! (`<prefix>/site_code=NRSROT/year=2018/<file>.parquet`), with the file's columns repeated on
//! every row and geometries as WKB with GeoParquet 1.0 metadata (CRS: WGS 84 longitude/latitude).
//!
//! A publish writes the object locally first ([`write_object`]), finds the destination's objects
//! already in the store ([`objects_of`]) and plans the puts and deletes with its other writes, so
//! they are journaled and undone or settled with the rest of it. A file harvested again replaces
//! its object (also when its partition changed); a deletion or a superseded version removes it.
//! [`write`] and [`remove`] make the same changes outside a publish.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::{Compression, LogicalType, Repetition, TimeUnit, Type as Physical};
use parquet::data_type::{
    BoolType, ByteArray, ByteArrayType, DoubleType, FloatType, Int32Type, Int64Type,
};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type as PType;
use sha2::{Digest, Sha256};

use super::model::{Collection, Column, Rows, Source, SqlType, Table};
use super::values::{Chunk, Typed, Value, convert};
use super::{HarvestError, HarvestFile, Opened};
use crate::store::{Key, ObjectStore, PutOptions, Restore};

/// One reversible change of the dataset: the key, and how to put it back.
pub type Change = (Key, Restore);

/// Rows per Parquet row group: large enough for readers, small enough to keep memory flat.
const ROW_GROUP: usize = 65_536;

/// The object name of a destination's data: its file stem and a short hash of the whole path
/// (two destinations with one file name stay apart).
pub fn object_name(dest_path: &str) -> String {
    let name = dest_path.rsplit('/').next().unwrap_or(dest_path);
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    let hash = hex::encode(&Sha256::digest(dest_path.as_bytes())[..6]);
    format!("{stem}.{hash}.parquet")
}

/// A partition value as a key segment: characters outside `[A-Za-z0-9._-]` percent-encoded.
fn partition_value(v: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        "__HIVE_DEFAULT_PARTITION__".into()
    } else {
        out
    }
}

fn store_err(file: &HarvestFile, e: impl std::fmt::Display) -> HarvestError {
    HarvestError::internal(format!("parquet for {}: {e}", file.name()))
}

/// One column of the dataset being written: its name, type and the values of a row group.
struct ColumnBuf {
    name: String,
    ty: SqlType,
    defs: Vec<i16>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    f32s: Vec<f32>,
    f64s: Vec<f64>,
    bools: Vec<bool>,
    bytes: Vec<ByteArray>,
}

impl ColumnBuf {
    fn new(name: &str, ty: SqlType) -> ColumnBuf {
        ColumnBuf {
            name: name.to_string(),
            ty,
            defs: Vec::new(),
            i32s: Vec::new(),
            i64s: Vec::new(),
            f32s: Vec::new(),
            f64s: Vec::new(),
            bools: Vec::new(),
            bytes: Vec::new(),
        }
    }

    fn schema(&self) -> PType {
        let (physical, logical) = match self.ty {
            SqlType::SmallInt => (Physical::INT32, Some(LogicalType::integer(16, true))),
            SqlType::Integer => (Physical::INT32, None),
            SqlType::BigInt => (Physical::INT64, None),
            SqlType::Real => (Physical::FLOAT, None),
            SqlType::Double => (Physical::DOUBLE, None),
            SqlType::Text => (Physical::BYTE_ARRAY, Some(LogicalType::String)),
            SqlType::Boolean => (Physical::BOOLEAN, None),
            SqlType::Timestamp => (
                Physical::INT64,
                Some(LogicalType::timestamp(true, TimeUnit::MICROS)),
            ),
            SqlType::Geometry => (Physical::BYTE_ARRAY, None),
        };
        PType::primitive_type_builder(&self.name, physical)
            .with_repetition(Repetition::OPTIONAL)
            .with_logical_type(logical)
            .build()
            .expect("a valid primitive type")
    }

    fn push(&mut self, v: Typed<'_>, geo: &mut Geo) {
        let present = !matches!(v, Typed::Null);
        self.defs.push(present as i16);
        match (v, self.ty) {
            (Typed::Null, _) => {}
            (Typed::Int(i), SqlType::SmallInt | SqlType::Integer) => self.i32s.push(i as i32),
            (Typed::Int(i), SqlType::BigInt) => self.i64s.push(i),
            (Typed::Int(i), SqlType::Real) => self.f32s.push(i as f32),
            (Typed::Int(i), _) => self.f64s.push(i as f64),
            (Typed::Float(x), SqlType::Real) => self.f32s.push(x as f32),
            (Typed::Float(x), _) => self.f64s.push(x),
            (Typed::Bool(b), _) => self.bools.push(b),
            (Typed::Text(s), _) => self.bytes.push(ByteArray::from(s.as_bytes().to_vec())),
            (Typed::Time(t), _) => self.i64s.push(t),
            (Typed::Geom(g), _) => {
                geo.add(&g);
                self.bytes.push(ByteArray::from(g.wkb()));
            }
        }
    }

    fn clear(&mut self) {
        self.defs.clear();
        self.i32s.clear();
        self.i64s.clear();
        self.f32s.clear();
        self.f64s.clear();
        self.bools.clear();
        self.bytes.clear();
    }
}

/// What GeoParquet's metadata says of the geometry column.
#[derive(Default)]
struct Geo {
    types: BTreeSet<&'static str>,
    bbox: Option<[f64; 4]>,
}

impl Geo {
    fn add(&mut self, g: &super::geometry::Geometry) {
        self.types.insert(g.geoparquet_type());
        let b = g.bounds();
        self.bbox = Some(match self.bbox {
            None => b,
            Some(a) => [
                a[0].min(b[0]),
                a[1].min(b[1]),
                a[2].max(b[2]),
                a[3].max(b[3]),
            ],
        });
    }
}

/// A destination's object of the dataset, written locally and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Object {
    /// Where it goes in the store: `<prefix>/<partitions>/<object name>`.
    pub key: Key,
    /// The Parquet file on local disk.
    pub local: PathBuf,
    /// Hex SHA-256 of the file, recorded with the object.
    pub sha256: String,
}

impl Object {
    /// The options to store it with.
    pub fn put_options(&self) -> PutOptions {
        PutOptions {
            content_type: Some("application/vnd.apache.parquet".into()),
            sha256: Some(self.sha256.clone()),
        }
    }
}

/// Writes the file's rows of the sink's table as one local Parquet file in `work_dir`, and says
/// where it goes in the store. `None` when the collection has no Parquet copy or the file feeds
/// not the sink's table. Reads the whole file: call it off the async threads.
pub fn write_object(
    c: &Collection,
    file: &HarvestFile,
    work_dir: &Path,
) -> Result<Option<Object>, HarvestError> {
    let Some(sink) = &c.parquet else {
        return Ok(None);
    };
    let table = c.table(&sink.table).expect("validated");
    let opened = Opened::open(c, file)?;
    if !opened.feeds(table) {
        return Ok(None);
    }
    let name = object_name(&file.dest_path);
    let local = work_dir.join(&name);
    let partition = write_local(&opened, c, table, file, &local)?;
    let key =
        Key::new(format!("{}/{partition}{name}", sink.prefix)).map_err(|e| store_err(file, e))?;
    let (_, sha256) = crate::digest::sha256_file(&local).map_err(|e| store_err(file, e))?;
    Ok(Some(Object { key, local, sha256 }))
}

/// The keys of a destination's objects in the dataset (one, or more while an earlier harvest's
/// object in another partition is still there).
pub async fn objects_of(
    store: &dyn ObjectStore,
    c: &Collection,
    dest_path: &str,
) -> Result<Vec<Key>, HarvestError> {
    let Some(sink) = &c.parquet else {
        return Ok(Vec::new());
    };
    let name = object_name(dest_path);
    Ok(store
        .list(&format!("{}/", sink.prefix))
        .await?
        .into_iter()
        .filter(|object| object.key.file_name() == name)
        .map(|object| object.key)
        .collect())
}

/// Writes the file's object straight to the store, outside any publish, removing any object an
/// earlier harvest of the same destination left in another partition. Returns the changes made,
/// each prepared with a stash name from `stash_as` (see [`crate::layout::stash_name`]). A
/// publish plans the same writes with its others instead (`publish::dataset`).
pub async fn write(
    store: &dyn ObjectStore,
    c: &Collection,
    file: &HarvestFile,
    work_dir: &Path,
    stash_as: &mut (dyn FnMut() -> String + Send),
) -> Result<Vec<Change>, HarvestError> {
    let Some(object) = write_object(c, file, work_dir)? else {
        return Ok(Vec::new());
    };
    let mut changes = remove_except(store, c, &file.dest_path, Some(&object.key), stash_as).await?;
    let restore = store.prepare(&object.key, &stash_as()).await?;
    store
        .put_file(&object.key, &object.local, &object.put_options())
        .await?;
    let _ = std::fs::remove_file(&object.local);
    changes.push((object.key, restore));
    Ok(changes)
}

/// Removes a destination's objects from the dataset (a deletion, or a superseded version),
/// outside any publish.
pub async fn remove(
    store: &dyn ObjectStore,
    c: &Collection,
    dest_path: &str,
    stash_as: &mut (dyn FnMut() -> String + Send),
) -> Result<Vec<Change>, HarvestError> {
    remove_except(store, c, dest_path, None, stash_as).await
}

async fn remove_except(
    store: &dyn ObjectStore,
    c: &Collection,
    dest_path: &str,
    keep: Option<&Key>,
    stash_as: &mut (dyn FnMut() -> String + Send),
) -> Result<Vec<Change>, HarvestError> {
    let mut receipts = Vec::new();
    for key in objects_of(store, c, dest_path).await? {
        if Some(&key) != keep {
            let restore = store.prepare(&key, &stash_as()).await?;
            store.delete(&key).await?;
            receipts.push((key, restore));
        }
    }
    Ok(receipts)
}

/// The types of the dataset's columns: declared, else from this file, else as a new table's.
fn column_type(opened: &Opened<'_>, col: &Column) -> SqlType {
    col.ty.unwrap_or_else(|| match &col.source {
        Source::Geometry { .. } => SqlType::Geometry,
        Source::QualityControl { .. } => SqlType::Text,
        Source::TimeCoverage(_) => SqlType::Timestamp,
        Source::File(super::model::FileField::Size) => SqlType::BigInt,
        Source::Variable { .. } => opened.infer(col).unwrap_or(SqlType::Double),
        _ => opened.infer(col).unwrap_or(SqlType::Text),
    })
}

/// Writes the Parquet file locally; returns the partition path (`k=v/…/`, possibly empty).
fn write_local(
    opened: &Opened<'_>,
    c: &Collection,
    table: &Table,
    file: &HarvestFile,
    local: &Path,
) -> Result<String, HarvestError> {
    let sink = c.parquet.as_ref().expect("checked by the caller");
    // The file's own values: repeated columns and partition keys.
    let mut file_values: Vec<(Column, Value)> = Vec::new();
    for col in &sink.file_columns {
        let value = match opened {
            Opened::NetCdf(nc) => nc.file_value(col, "parquet")?,
            Opened::Csv(_) => Value::Null,
        };
        file_values.push((col.clone(), value));
    }
    let mut partition = String::new();
    for key in &sink.partition_by {
        let text = match key.as_str() {
            "year" | "month" => {
                let Opened::NetCdf(nc) = opened else {
                    return Err(HarvestError::input(
                        file,
                        format!("partition {key} needs the time of a NetCDF file"),
                    ));
                };
                let (start, _) = nc.time_coverage()?;
                let t = chrono::DateTime::from_timestamp_micros(start).ok_or_else(|| {
                    HarvestError::input(
                        file,
                        format!("partition {key}: the file has no valid time in {}", c.time),
                    )
                })?;
                if key == "year" {
                    t.format("%Y").to_string()
                } else {
                    t.format("%m").to_string()
                }
            }
            other => match file_values
                .iter()
                .find(|(col, _)| col.name == other)
                .map(|(_, v)| v)
            {
                Some(Value::Text(s)) => s.clone(),
                Some(Value::Num(x)) => super::values::number_text(*x).into_owned(),
                Some(Value::Time(t)) => super::values::time_text(*t),
                _ => String::new(),
            },
        };
        partition.push_str(&format!("{key}={}/", partition_value(&text)));
    }
    let mut buffers: Vec<ColumnBuf> = table
        .columns
        .iter()
        .map(|col| ColumnBuf::new(&col.name, column_type(opened, col)))
        .collect();
    // Partition keys live in the object's path, where readers find them, not in its columns.
    file_values.retain(|(col, _)| !sink.partition_by.contains(&col.name));
    let file_start = buffers.len();
    for (col, _) in &file_values {
        buffers.push(ColumnBuf::new(&col.name, column_type(opened, col)));
    }
    let schema = Arc::new(
        PType::group_type_builder("schema")
            .with_fields(buffers.iter().map(|b| Arc::new(b.schema())).collect())
            .build()
            .map_err(|e| store_err(file, e))?,
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_created_by(format!("ocean-ingest {}", env!("CARGO_PKG_VERSION")))
            .build(),
    );
    let out = File::create(local).map_err(|e| store_err(file, e))?;
    let mut writer =
        SerializedFileWriter::new(out, schema, props).map_err(|e| store_err(file, e))?;
    let mut geo = Geo::default();
    let mut chunks = opened.chunks_of(table, file, ROW_GROUP)?;
    let mut line = 0u64;
    while let Some(chunk) = chunks.next_chunk()? {
        fill(
            &chunk,
            table,
            &file_values,
            &mut buffers,
            file_start,
            &mut geo,
            file,
            &mut line,
        )?;
        let mut rg = writer.next_row_group().map_err(|e| store_err(file, e))?;
        for b in buffers.iter_mut() {
            let mut col = rg
                .next_column()
                .map_err(|e| store_err(file, e))?
                .ok_or_else(|| store_err(file, "fewer columns than the schema"))?;
            let defs = Some(b.defs.as_slice());
            let written = match b.ty {
                SqlType::SmallInt | SqlType::Integer => {
                    col.typed::<Int32Type>().write_batch(&b.i32s, defs, None)
                }
                SqlType::BigInt | SqlType::Timestamp => {
                    col.typed::<Int64Type>().write_batch(&b.i64s, defs, None)
                }
                SqlType::Real => col.typed::<FloatType>().write_batch(&b.f32s, defs, None),
                SqlType::Double => col.typed::<DoubleType>().write_batch(&b.f64s, defs, None),
                SqlType::Boolean => col.typed::<BoolType>().write_batch(&b.bools, defs, None),
                SqlType::Text | SqlType::Geometry => col
                    .typed::<ByteArrayType>()
                    .write_batch(&b.bytes, defs, None),
            };
            written.map_err(|e| store_err(file, e))?;
            col.close().map_err(|e| store_err(file, e))?;
            b.clear();
        }
        rg.close().map_err(|e| store_err(file, e))?;
    }
    if let Some(g) = buffers.iter().find(|b| b.ty == SqlType::Geometry) {
        let mut column = serde_json::json!({
            "encoding": "WKB",
            "geometry_types": geo.types.iter().collect::<Vec<_>>(),
        });
        if let Some(bbox) = geo.bbox {
            column["bbox"] = serde_json::json!(bbox);
        }
        let meta = serde_json::json!({
            "version": "1.0.0",
            "primary_column": g.name,
            "columns": { g.name.clone(): column },
        });
        writer.append_key_value_metadata(KeyValue::new("geo".to_string(), meta.to_string()));
    }
    writer.close().map_err(|e| store_err(file, e))?;
    Ok(partition)
}

#[allow(clippy::too_many_arguments)]
fn fill(
    chunk: &Chunk,
    table: &Table,
    file_values: &[(Column, Value)],
    buffers: &mut [ColumnBuf],
    file_start: usize,
    geo: &mut Geo,
    file: &HarvestFile,
    line: &mut u64,
) -> Result<(), HarvestError> {
    for row in 0..chunk.len {
        *line += 1;
        for (j, cells) in chunk.columns.iter().enumerate() {
            let b = &mut buffers[j];
            let v = convert(cells.get(row), b.ty).map_err(|e| {
                HarvestError::input(
                    file,
                    format!("table {} column {} row {line}: {e}", table.name, b.name),
                )
            })?;
            b.push(v, geo);
        }
        for (k, (col, value)) in file_values.iter().enumerate() {
            let b = &mut buffers[file_start + k];
            let v = convert(value.as_cell(), b.ty)
                .map_err(|e| HarvestError::input(file, format!("column {}: {e}", col.name)))?;
            b.push(v, geo);
        }
    }
    debug_assert!(!matches!(table.rows, Rows::File));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names_keep_the_stem_and_tell_destinations_apart() {
        let a = object_name("IMOS/ANMN/NRS/NRSROT/Temperature/IMOS_X_FV01.nc");
        let b = object_name("IMOS/ANMN/QLD/GBRPPS/Temperature/IMOS_X_FV01.nc");
        assert!(
            a.starts_with("IMOS_X_FV01.") && a.ends_with(".parquet"),
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(partition_value("NRS ROT/1"), "NRS%20ROT%2F1");
    }
}
