//! Hyperslab reads into buffers the caller keeps: the harvest streams a variable chunk by chunk
//! through the same few buffers, so memory stays flat whatever the variable's length.

use super::summary::NcType;
use super::{CHUNK_CACHE_BYTES, MAX_ALIGNED_BYTES, NcError, NcFile, guarded};

/// Reads a numeric variable's rows (its first dimension, whole along the others) front to back as
/// `f64`, inflating each HDF5 chunk once. Reads in steps smaller than a chunk along the rows would
/// each inflate the whole chunk again when it is larger than libnetcdf's per-variable cache
/// ([`CHUNK_CACHE_BYTES`]): such a variable is read a row of chunks at a time into a window of its
/// own type (at most [`MAX_ALIGNED_BYTES`]) and served from it. Other variables are read directly.
#[derive(Debug)]
pub struct RowCursor {
    var: String,
    dtype: NcType,
    shape: Vec<usize>,
    /// Rows per window (one row of HDF5 chunks); 0 when the variable is read directly.
    window_rows: usize,
    window_start: usize,
    window_len: usize,
    raw: Vec<u8>,
}

/// Bytes of one value of a numeric type.
pub(super) fn numeric_width(t: &NcType) -> Option<usize> {
    Some(match t {
        NcType::Byte | NcType::UByte => 1,
        NcType::Short | NcType::UShort => 2,
        NcType::Int | NcType::UInt | NcType::Float => 4,
        NcType::Int64 | NcType::UInt64 | NcType::Double => 8,
        _ => return None,
    })
}

/// Appends values in memory (native byte order, as libnetcdf returns them) as `f64`, converted as
/// libnetcdf's own `nc_get_vara_double` does: a plain numeric cast.
fn extend_f64(out: &mut Vec<f64>, t: &NcType, raw: &[u8]) {
    macro_rules! cast {
        ($ty:ty) => {
            out.extend(
                raw.chunks_exact(std::mem::size_of::<$ty>())
                    .map(|b| <$ty>::from_ne_bytes(b.try_into().expect("exact chunk")) as f64),
            )
        };
    }
    match t {
        NcType::Byte => cast!(i8),
        NcType::UByte => cast!(u8),
        NcType::Short => cast!(i16),
        NcType::UShort => cast!(u16),
        NcType::Int => cast!(i32),
        NcType::UInt => cast!(u32),
        NcType::Int64 => cast!(i64),
        NcType::UInt64 => cast!(u64),
        NcType::Float => cast!(f32),
        NcType::Double => cast!(f64),
        _ => unreachable!("a cursor is made for numeric variables only"),
    }
}

impl RowCursor {
    /// Rows `[start, start + count)` as `f64` into `buf` (replacing what it held).
    pub fn read_rows_into(
        &mut self,
        file: &NcFile,
        start: usize,
        count: usize,
        buf: &mut Vec<f64>,
    ) -> Result<(), NcError> {
        let end = (start + count).min(self.shape[0]);
        if self.window_rows == 0 {
            let (s, c) = self.extent(start, end.saturating_sub(start));
            return file.read_f64_into(&self.var, &s, &c, buf);
        }
        let width = numeric_width(&self.dtype).expect("a cursor's variable is numeric");
        let row_bytes = self.shape[1..].iter().product::<usize>() * width;
        buf.clear();
        let mut r = start;
        while r < end {
            if !(self.window_start..self.window_start + self.window_len).contains(&r) {
                let w0 = r / self.window_rows * self.window_rows;
                let n = self.window_rows.min(self.shape[0] - w0);
                let (s, c) = self.extent(w0, n);
                file.read_bytes_into(&self.var, &s, &c, &mut self.raw)?;
                self.window_start = w0;
                self.window_len = n;
            }
            let upto = end.min(self.window_start + self.window_len);
            let from = (r - self.window_start) * row_bytes;
            let to = (upto - self.window_start) * row_bytes;
            extend_f64(buf, &self.dtype, &self.raw[from..to]);
            r = upto;
        }
        Ok(())
    }

    /// The hyperslab of `n` rows from `row`, whole along the other dimensions.
    fn extent(&self, row: usize, n: usize) -> (Vec<usize>, Vec<usize>) {
        let mut start = vec![0; self.shape.len()];
        let mut count = self.shape.clone();
        start[0] = row;
        count[0] = n;
        (start, count)
    }
}

impl NcFile {
    /// A [`RowCursor`] over `var`, a numeric variable with at least one dimension.
    pub fn row_cursor(&self, var: &str) -> Result<RowCursor, NcError> {
        let what = format!("variable {var}");
        let super::Meta {
            dtype,
            shape,
            chunking,
            ..
        } = self.meta(var)?;
        let not_rows = |detail: String| NcError::Read {
            path: self.path.clone(),
            what: what.clone(),
            detail,
        };
        let width = numeric_width(&dtype)
            .ok_or_else(|| not_rows(format!("type {} is not numeric", dtype.cdl_name())))?;
        if shape.is_empty() {
            return Err(not_rows("a scalar has no rows".to_string()));
        }
        let mut window_rows = 0;
        if let Some(c) = chunking
            && let Some(&rows) = c.first()
            && rows > 0
        {
            let chunk_bytes = c.iter().product::<usize>().saturating_mul(width);
            let window_bytes = rows
                .saturating_mul(shape[1..].iter().product())
                .saturating_mul(width);
            if chunk_bytes > CHUNK_CACHE_BYTES && window_bytes <= MAX_ALIGNED_BYTES {
                window_rows = rows;
            }
        }
        Ok(RowCursor {
            var: var.to_string(),
            dtype,
            shape,
            window_rows,
            window_start: 0,
            window_len: 0,
            raw: Vec::new(),
        })
    }

    /// Reads the hyperslab `start`/`count` of a numeric variable as `f64` into `buf` (resized to
    /// the slab's size; libnetcdf converts the type). A scalar variable takes empty `start` and
    /// `count` and yields its one value.
    pub fn read_f64_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<f64>,
    ) -> Result<(), NcError> {
        self.charge(var)?;
        self.before_values();
        if let Some(h5) = self.h5_reads(var, start, count, false) {
            return self.h5_read(var, || h5.read_f64_into(var, start, count, buf));
        }
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            if v.dimensions().is_empty() {
                buf.clear();
                buf.push(v.get_value::<f64, _>(..)?);
                return Ok(());
            }
            buf.resize(count.iter().product(), 0.0);
            v.get_values_into::<f64, _>(buf.as_mut_slice(), (start, count))
        })
    }

    /// Reads the hyperslab `start`/`count` of a `char` (or other one-byte) variable's raw bytes
    /// into `buf` (resized to the slab's size).
    pub fn read_bytes_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<u8>,
    ) -> Result<(), NcError> {
        self.charge(var)?;
        self.before_values();
        if let Some(h5) = self.h5_reads(var, start, count, true) {
            return self.h5_read(var, || h5.read_bytes_into(var, start, count, buf));
        }
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            let width = v.vartype().size();
            if v.dimensions().is_empty() {
                buf.resize(width, 0);
                return v.get_raw_values_into(buf.as_mut_slice(), ..);
            }
            buf.resize(count.iter().product::<usize>() * width, 0);
            v.get_raw_values_into(buf.as_mut_slice(), (start, count))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::netcdf::{MAX_CHUNK_BYTES, READ_BYTES};

    fn fixture() -> NcFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
        );
        NcFile::open(&path).unwrap()
    }

    #[test]
    fn chunks_read_into_one_buffer_cover_the_variable() {
        let file = fixture();
        let whole = file.read_f64("TEMP", &[0], &[1001]).unwrap();
        let mut buf = Vec::new();
        let mut joined = Vec::new();
        for start in (0..1001).step_by(300) {
            let n = 300.min(1001 - start);
            file.read_f64_into("TEMP", &[start], &[n], &mut buf)
                .unwrap();
            assert_eq!(buf.len(), n);
            joined.extend_from_slice(&buf);
        }
        assert_eq!(joined, whole);
        file.read_f64_into("LATITUDE", &[], &[], &mut buf).unwrap();
        assert_eq!(buf, vec![-31.9895833333]);
    }

    /// A file whose chunks are larger than libnetcdf's per-variable cache (1-D float and 2-D
    /// short, both windowed) beside one whose chunks fit it (read directly).
    fn big_chunks(dir: &Path) -> std::path::PathBuf {
        let path = dir.join("big-chunks.nc");
        let mut f = netcdf::create(&path).unwrap();
        f.add_dimension("TIME", 3_000_000).unwrap();
        f.add_dimension("PROFILE", 700_000).unwrap();
        f.add_dimension("LEVEL", 4).unwrap();
        let temp: Vec<f32> = (0..3_000_000).map(|i| (i % 1000) as f32 * 0.5).collect();
        let mut v = f.add_variable::<f32>("TEMP", &["TIME"]).unwrap();
        v.set_chunking(&[1_200_000]).unwrap(); // 4.8 MB a chunk
        v.set_compression(1, true).unwrap();
        v.put_values(&temp, ..).unwrap();
        let qc: Vec<i8> = (0..3_000_000).map(|i| (i % 7) as i8 - 1).collect();
        let mut v = f
            .add_variable::<i8>("TEMP_quality_control", &["TIME"])
            .unwrap();
        v.set_chunking(&[65_536]).unwrap();
        v.set_compression(1, true).unwrap();
        v.put_values(&qc, ..).unwrap();
        let pres: Vec<i16> = (0..2_800_000)
            .map(|i| (i % 30_000) as i16 - 15_000)
            .collect();
        let mut v = f
            .add_variable::<i16>("PRES", &["PROFILE", "LEVEL"])
            .unwrap();
        v.set_chunking(&[600_000, 4]).unwrap(); // 4.8 MB a chunk
        v.set_compression(1, true).unwrap();
        v.put_values(&pres, ..).unwrap();
        f.add_variable::<f64>("LATITUDE", &[]).unwrap();
        f.add_string_variable("SITE", &["LEVEL"]).unwrap();
        path
    }

    #[test]
    fn a_cursor_windows_chunks_larger_than_the_cache_and_reads_the_same_values() {
        let dir = tempfile::tempdir().unwrap();
        let file = NcFile::open(&big_chunks(dir.path())).unwrap();
        for (var, rows, window, step) in [
            ("TEMP", 3_000_000, 1_200_000, 700_001),
            ("TEMP_quality_control", 3_000_000, 0, 700_001),
            ("PRES", 700_000, 600_000, 250_000),
        ] {
            let mut cursor = file.row_cursor(var).unwrap();
            assert_eq!(cursor.window_rows, window, "{var}");
            let width: usize = cursor.shape[1..].iter().product();
            let whole = file
                .read_f64(var, &[0, 0][..cursor.shape.len()], &cursor.shape.clone())
                .unwrap();
            let (mut buf, mut joined) = (Vec::new(), Vec::new());
            // Steps that straddle windows, and one past the end (clamped).
            for start in (0..rows).step_by(step) {
                cursor.read_rows_into(&file, start, step, &mut buf).unwrap();
                assert_eq!(
                    buf.len(),
                    step.min(rows - start) * width,
                    "{var} at {start}"
                );
                joined.extend_from_slice(&buf);
            }
            assert_eq!(joined.len(), whole.len(), "{var}");
            assert!(
                joined == whole,
                "{var}: the cursor's values differ from a whole read"
            );
            // Backwards: a row behind the window is read again.
            cursor.read_rows_into(&file, 1, 2, &mut buf).unwrap();
            assert_eq!(buf, whole[width..3 * width], "{var}");
        }
    }

    #[test]
    fn a_cursor_refuses_scalars_and_text() {
        let dir = tempfile::tempdir().unwrap();
        let file = NcFile::open(&big_chunks(dir.path())).unwrap();
        let e = file.row_cursor("LATITUDE").unwrap_err().to_string();
        assert!(
            e.contains("variable LATITUDE") && e.contains("scalar"),
            "{e}"
        );
        let e = file.row_cursor("SITE").unwrap_err().to_string();
        assert!(
            e.contains("variable SITE") && e.contains("not numeric"),
            "{e}"
        );
        assert!(file.row_cursor("NOPE").is_err());
    }

    #[test]
    fn byte_slabs_are_raw_bytes() {
        let file = fixture();
        let mut buf = Vec::new();
        file.read_bytes_into("TEMP_quality_control", &[0], &[5], &mut buf)
            .unwrap();
        assert_eq!(buf.len(), 5);
        let as_f64 = file.read_f64("TEMP_quality_control", &[0], &[5]).unwrap();
        let bytes: Vec<f64> = buf.iter().map(|&b| b as i8 as f64).collect();
        assert_eq!(bytes, as_f64);
        assert!(file.read_bytes_into("NOPE", &[0], &[1], &mut buf).is_err());
    }

    #[test]
    fn a_file_has_no_more_values_read_than_its_limit() {
        let header = fixture().summary().unwrap();
        let len = |name: &str| header.variable(name).unwrap().len() as u64;
        let (time, temp) = (len("TIME"), len("TEMP"));
        assert!(time > 1 && temp > 1);
        let file = fixture().with_max_values(time + 1);
        let mut buf = Vec::new();
        // A variable is counted once, however often and however it is read.
        file.read_f64_into("TIME", &[0], &[1], &mut buf).unwrap();
        file.for_each_chunk("TIME", 7, |_| {}).unwrap();
        assert_eq!(file.read_f64("TIME", &[0], &[2]).unwrap().len(), 2);
        // The next one would pass the limit: refused by every reader, before anything is read.
        buf = vec![-1.0];
        let refused = file
            .read_f64_into("TEMP", &[0], &[1], &mut buf)
            .unwrap_err();
        assert_eq!(buf, [-1.0], "nothing was read");
        match &refused {
            NcError::TooManyValues {
                var,
                values,
                before,
                limit,
                ..
            } => assert_eq!(
                (var.as_str(), *values, *before, *limit),
                ("TEMP", temp, time, time + 1)
            ),
            other => panic!("{other:?}"),
        }
        let message = refused.to_string();
        assert!(message.contains("INGEST_MAX_FILE_VALUES"), "{message}");
        assert!(message.starts_with("variable TEMP declares"), "{message}");
        assert!(file.for_each_chunk("TEMP", 7, |_| panic!("read")).is_err());
        assert!(file.read_f64("TEMP", &[0], &[1]).is_err());
        assert!(
            file.read_bytes_into("TEMP_quality_control", &[0], &[1], &mut Vec::new())
                .is_err()
        );
        // A refused variable is not counted: one that fits is still read (a scalar counts 1).
        let fits = fixture().with_max_values(1);
        assert!(fits.read_f64_into("TEMP", &[0], &[1], &mut buf).is_err());
        assert_eq!(fits.read_f64("LATITUDE", &[], &[]).unwrap().len(), 1);
        assert!(fits.read_f64("LONGITUDE", &[], &[]).is_err());
    }

    #[test]
    fn a_variable_in_chunks_larger_than_the_limit_is_refused_before_a_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("one-big-chunk.nc");
        {
            // Chunks are declared, not written: the refusal reads the header only.
            let mut f = netcdf::create(&path).unwrap();
            f.add_dimension("TIME", 20_000_000).unwrap();
            f.add_dimension("DEPTH", 2).unwrap();
            let limit_values = MAX_CHUNK_BYTES / 4;
            let mut v = f.add_variable::<f32>("TEMP", &["TIME", "DEPTH"]).unwrap();
            v.set_chunking(&[limit_values / 2 + 1, 2]).unwrap(); // 8 bytes over the limit
            let mut v = f.add_variable::<f32>("PSAL", &["TIME", "DEPTH"]).unwrap();
            v.set_chunking(&[limit_values / 2, 2]).unwrap(); // the limit exactly
        }
        let file = NcFile::open(&path).unwrap();
        let mut buf = vec![-1.0];
        let refused = file
            .read_f64_into("TEMP", &[0, 0], &[1, 1], &mut buf)
            .unwrap_err();
        assert_eq!(buf, [-1.0], "nothing was read");
        match &refused {
            NcError::ChunkTooLarge {
                var,
                bytes,
                dim,
                suggested,
                ..
            } => {
                assert_eq!((var.as_str(), dim.as_str()), ("TEMP", "TIME"));
                assert_eq!(*bytes, MAX_CHUNK_BYTES as u64 + 8);
                // The rechunking it suggests reads in about one piece: 2 floats a row.
                assert_eq!(*suggested, (READ_BYTES / 8) as u64);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            refused.to_string().contains("nccopy -c TIME/131072"),
            "{refused}"
        );
        assert!(file.for_each_chunk("TEMP", 7, |_| panic!("read")).is_err());
        // At the limit, read (the chunk was never written: its fill values).
        file.read_f64_into("PSAL", &[0, 0], &[1, 2], &mut buf)
            .unwrap();
        assert_eq!(buf.len(), 2);
    }
}
