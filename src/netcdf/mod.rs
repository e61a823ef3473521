//! The only module that calls libnetcdf and HDF5: it opens a file and returns an owned summary
//! (header and lazily, in bounded chunks, values), so the checks and the harvest work on plain
//! Rust data. A plain netCDF-4 file is read through HDF5 alone ([`hdf5_reader`]), any other
//! through libnetcdf.
//! Nothing the C libraries report reaches stderr: it comes back as an [`NcError`].

mod cftime;
pub mod columns;
mod diagnostics;
mod hdf5_cache;
mod hdf5_groups;
mod hdf5_reader;
mod masked;
pub mod memo;
mod metadata;
mod summary;
mod write;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

pub use cftime::{CfTimeUnits, parse_time_units};
pub use hdf5_cache::METADATA_CACHE_BYTES;
pub use masked::MissingRule;
pub use memo::ValueMemo;
pub use metadata::{extract_metadata, extract_metadata_shared, share_ranges};
pub use summary::{AttrValue, Attribute, Dimension, NcSummary, NcType, Variable};
pub use write::{NcWriteError, NcWriter, VarDef, convert_attr, default_fill};

/// Values are read about this many bytes at a time (as `f64`), so a multi-GB variable never
/// sits in memory.
pub const READ_BYTES: usize = 1 << 20;

/// Values are read at most this many at a time: [`READ_BYTES`] of `f64`.
pub const DEFAULT_CHUNK: usize = READ_BYTES / std::mem::size_of::<f64>();

/// A read grows to cover whole HDF5 chunks only up to this size; beyond it, a file of huge chunks
/// is read in [`READ_BYTES`] pieces (each inflating its chunk again) to keep memory bounded.
pub const MAX_ALIGNED_BYTES: usize = 16 * READ_BYTES;

/// libnetcdf's chunk cache for each variable of a file opened after [`limit_chunk_cache`]: one
/// chunk of at most this many bytes. Reads run front to back, so a chunk is wanted again only by
/// the next read of the same variable; libnetcdf's default (16 MiB and 1009 chunks per variable,
/// kept until the file closes) made a check's memory grow with every variable it read.
pub const CHUNK_CACHE_BYTES: usize = 4 << 20;

/// The default of [`set_max_file_values`]: 2^34 values (128 GiB as `f64`), about twenty times
/// the values of the largest files ingested (a 4 GB file of compressed IMOS series holds under
/// 10^9), and read in about a minute.
pub const DEFAULT_MAX_FILE_VALUES: u64 = 1 << 34;

/// The largest chunk a variable may be stored in to be read: HDF5 inflates a compressed chunk
/// whole to read any value of it, into memory of the chunk's size, and again for each read that
/// its cache (one chunk of [`CHUNK_CACHE_BYTES`]) cannot hold. A file of one megabyte can hold a
/// variable of one chunk of a gigabyte of zeros, which would take a gigabyte of memory per read
/// and hours of inflating in pieces of [`READ_BYTES`]; libnetcdf's own chunking keeps chunks
/// under 4 MiB, and no file of the corpora comes near this.
pub const MAX_CHUNK_BYTES: usize = 64 << 20;

/// The most values one file may have read ([`set_max_file_values`]).
static MAX_FILE_VALUES: AtomicU64 = AtomicU64::new(DEFAULT_MAX_FILE_VALUES);

/// Sets the most values the checks, the quick look, the metadata and the harvest may read from
/// one file (`INGEST_MAX_FILE_VALUES`), for files opened from now on. A netCDF-4 file of a few
/// kilobytes can declare billions of values it never wrote (HDF5 stores no chunk until one is
/// written, and reads the fill value for each), which would otherwise be read one by one for
/// hours: each variable's declared size is counted against the limit before its first value is
/// read, and the read that would pass it fails, naming the variable, without reading anything.
pub fn set_max_file_values(n: u64) {
    MAX_FILE_VALUES.store(n, Ordering::Relaxed);
}

/// Sets HDF5 up on the calling thread: its first call builds the library's state (its types,
/// property lists and error stacks; about a million instructions and 150 fresh pages) before
/// doing anything asked of it. `run` has this done on a blocking thread while the job starts
/// (settings, pipelines, index, the upload's fetch), where the second core would otherwise wait,
/// instead of on the way to the upload's first file (BENCHMARKS.md, "HDF5 set up beside the
/// job's start").
pub fn prepare() {
    diagnostics::quiet_thread();
}

/// What reading a variable's values needs to know of it ([`NcFile::meta`]).
struct Meta {
    dtype: NcType,
    /// The name of its first dimension ("" for a scalar).
    first_dim: String,
    shape: Vec<usize>,
    chunking: Option<Vec<usize>>,
    /// Bytes of one value.
    width: usize,
}

/// What [`NcFile::visit_slab`] reads.
struct Slab<'a> {
    var: &'a str,
    shape: &'a [usize],
    chunking: Option<&'a [usize]>,
    chunk: usize,
}

/// Sets libnetcdf's default chunk cache (a process-wide setting that files opened or created
/// later take) to one slot of [`CHUNK_CACHE_BYTES`], once, before the first file is opened.
fn limit_chunk_cache() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        // SAFETY: plain values, under the lock every libnetcdf call takes. A failure leaves
        // libnetcdf's default, which only costs memory.
        unsafe {
            netcdf_sys::nc_set_chunk_cache(CHUNK_CACHE_BYTES, 1, 0.75);
        }
    });
}

/// A NetCDF file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NcError {
    /// libnetcdf does not recognise the file (the reference's "invalid NetCDF file"). The path is
    /// kept for logs but left out of the message, which users see about their own file.
    #[error("invalid NetCDF file ({detail})")]
    Invalid { path: PathBuf, detail: String },
    #[error("reading {what} failed: {detail}")]
    Read {
        path: PathBuf,
        what: String,
        detail: String,
    },
    /// A variable is stored in chunks larger than [`MAX_CHUNK_BYTES`].
    #[error(
        "variable {var} is stored in chunks of {bytes} bytes each, which HDF5 must inflate whole \
         to read any of its values: more than the {limit} bytes a chunk may have to be read in \
         bounded memory and time; rechunk it (for instance nccopy -c {dim}/{suggested} IN OUT) and \
         upload it again"
    )]
    ChunkTooLarge {
        path: PathBuf,
        var: String,
        bytes: u64,
        limit: u64,
        /// The variable's first dimension, and a chunk length along it of about [`READ_BYTES`].
        dim: String,
        suggested: u64,
    },
    /// Reading a variable would take the values read from the file past the limit
    /// ([`set_max_file_values`]).
    #[error("{}", too_many_values(var, *values, *before, *limit))]
    TooManyValues {
        path: PathBuf,
        var: String,
        values: u64,
        before: u64,
        limit: u64,
    },
}

fn too_many_values(var: &str, values: u64, before: u64, limit: u64) -> String {
    let with = match before {
        0 => String::new(),
        n => format!(", which with the {n} values read before it from this file is"),
    };
    format!(
        "variable {var} declares {values} values{with} more than one file may have read \
         ({limit}, {}): the file is refused rather than read for hours; if it really holds that \
         many values, raise the limit",
        crate::vars::MAX_FILE_VALUES
    )
}

/// The variables whose values have been read from a file, and how many values they declare.
#[derive(Debug, Default)]
struct Charged {
    vars: HashSet<String>,
    values: u64,
}

/// An open NetCDF file.
pub struct NcFile {
    path: PathBuf,
    /// The on-disk format, from the magic number read at opening.
    format: &'static str,
    /// libnetcdf's handle, opened when the file is, or on first need for a file that
    /// [`hdf5_reader`] reads; taken on drop, to close it on a quiet thread.
    file: OnceLock<netcdf::File>,
    /// The reader of a plain netCDF-4 file, which then needs libnetcdf only for what it does
    /// not read itself (strings, values past a variable's own extent).
    h5: Option<hdf5_reader::H5Reader>,
    /// Whether HDF5's metadata cache of the file has been held small for reading values.
    values_read: AtomicBool,
    /// The most values this file may have read, and those read so far.
    max_values: u64,
    charged: Mutex<Charged>,
}

impl Drop for NcFile {
    fn drop(&mut self) {
        // Closing calls into HDF5 too, possibly on another thread than the one that opened it.
        let file = self.file.take();
        let h5 = self.h5.take();
        if file.is_some() || h5.is_some() {
            let _ = call(|| {
                drop(file);
                drop(h5);
                Ok(())
            });
        }
    }
}

impl std::fmt::Debug for NcFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcFile").field("path", &self.path).finish()
    }
}

/// Runs libnetcdf calls on this thread with HDF5's printing off, returning the binding's result
/// with libnetcdf's error (and HDF5's account of it) as text, and its panics (e.g. on names that
/// are not UTF-8) as errors.
fn call<T>(f: impl FnOnce() -> Result<T, netcdf::Error>) -> Result<T, String> {
    diagnostics::quiet_thread();
    diagnostics::clear();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(describe(&e)),
        Err(panic) => Err(panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unreadable structure".to_string())),
    }
}

/// libnetcdf's message, with what HDF5 recorded when the failure came from HDF5 (netCDF-4 error
/// codes), which HDF5 would otherwise have printed on stderr.
fn describe(e: &netcdf::Error) -> String {
    match e {
        netcdf::Error::Netcdf(code)
            if (netcdf_sys::NC4_LAST_ERROR..=netcdf_sys::NC4_FIRST_ERROR).contains(code) =>
        {
            match diagnostics::hdf5_stack() {
                Some(stack) => format!("{e} (HDF5: {stack})"),
                None => e.to_string(),
            }
        }
        _ => e.to_string(),
    }
}

/// Runs a libnetcdf call for `what` of the file at `path`; any failure is [`NcError::Read`].
fn guarded<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, netcdf::Error>,
) -> Result<T, NcError> {
    call(f).map_err(|detail| NcError::Read {
        path: path.to_path_buf(),
        what: what.to_string(),
        detail,
    })
}

impl NcFile {
    /// Opens a file read-only. Anything libnetcdf cannot open is [`NcError::Invalid`].
    pub fn open(path: &Path) -> Result<NcFile, NcError> {
        limit_chunk_cache();
        let format = summary::format_of(path);
        let file = |file: OnceLock<netcdf::File>, h5| NcFile {
            path: path.to_path_buf(),
            format,
            file,
            h5,
            values_read: AtomicBool::new(false),
            max_values: MAX_FILE_VALUES.load(Ordering::Relaxed),
            charged: Mutex::default(),
        };
        // A classic file is not HDF5: it has no groups to walk.
        if !summary::is_classic(format) {
            diagnostics::quiet_thread();
            // A plain netCDF-4 file (one group, which the reader checks) is read through HDF5.
            if format == "netcdf4"
                && let Some(h5) = hdf5_reader::H5Reader::open(path)
            {
                return Ok(file(OnceLock::new(), Some(h5)));
            }
            if let Err(detail) = hdf5_groups::check(path) {
                return Err(NcError::Invalid {
                    path: path.to_path_buf(),
                    detail,
                });
            }
        }
        match call(|| netcdf::open(path)) {
            Ok(opened) => Ok(file(OnceLock::from(opened), None)),
            Err(detail) => Err(NcError::Invalid {
                path: path.to_path_buf(),
                detail,
            }),
        }
    }

    /// Called before every read of values: the first holds HDF5's metadata cache of the file
    /// small ([`hdf5_cache`]), as reads stream every chunk of a variable front to back and the
    /// cache would otherwise fill with the chunk index of the longest one. Not at opening: the
    /// header (read first, whole, by [`NcFile::summary`]) wants the object headers of every
    /// variable, which a small cache would evict and load again (4 % more instructions on a file
    /// of 2,500 variables).
    fn before_values(&self) {
        if !self.values_read.swap(true, Ordering::Relaxed) {
            diagnostics::quiet_thread();
            hdf5_cache::bound(&self.path);
        }
    }

    /// This file's limit on the values read, instead of the process's
    /// ([`set_max_file_values`]).
    pub fn with_max_values(mut self, n: u64) -> NcFile {
        self.max_values = n;
        self
    }

    /// Counts `var`'s declared values against the file's limit before the first of them is read
    /// (once per variable, however often it is read): [`NcError::TooManyValues`] when they would
    /// take the file past it, [`NcError::ChunkTooLarge`] when the variable's chunks are larger
    /// than [`MAX_CHUNK_BYTES`], before anything is read.
    fn charge(&self, var: &str) -> Result<(), NcError> {
        let mut charged = self
            .charged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if charged.vars.contains(var) {
            return Ok(());
        }
        let Meta {
            shape,
            chunking,
            width,
            first_dim: dim,
            ..
        } = self.meta(var)?;
        let values = shape
            .iter()
            .fold(1u64, |n, &len| n.saturating_mul(len as u64));
        if let Some(chunk) = chunking {
            let bytes = chunk
                .iter()
                .fold(width, |n, &len| n.saturating_mul(len.max(1)));
            if bytes > MAX_CHUNK_BYTES {
                let row = (bytes / chunk.first().copied().unwrap_or(1).max(1)).max(1);
                return Err(NcError::ChunkTooLarge {
                    path: self.path.clone(),
                    var: var.to_string(),
                    bytes: bytes as u64,
                    limit: MAX_CHUNK_BYTES as u64,
                    dim,
                    suggested: (READ_BYTES / row).max(1) as u64,
                });
            }
        }
        let total = charged.values.saturating_add(values);
        if total > self.max_values {
            return Err(NcError::TooManyValues {
                path: self.path.clone(),
                var: var.to_string(),
                values,
                before: charged.values,
                limit: self.max_values,
            });
        }
        charged.values = total;
        charged.vars.insert(var.to_string());
        Ok(())
    }

    /// libnetcdf's handle of the file, opened now if the HDF5 reader has read it so far.
    fn file(&self) -> Result<&netcdf::File, netcdf::Error> {
        if let Some(file) = self.file.get() {
            return Ok(file);
        }
        let opened = netcdf::open(&self.path)?;
        Ok(self.file.get_or_init(|| opened))
    }

    /// What reading `var`'s values needs to know of it.
    fn meta(&self, var: &str) -> Result<Meta, NcError> {
        if let Some((v, info)) = self.h5.as_ref().and_then(|h5| h5.var(var)) {
            return Ok(Meta {
                dtype: v.dtype.clone(),
                first_dim: v.dimensions.first().cloned().unwrap_or_default(),
                shape: v.shape.clone(),
                chunking: info.chunking.clone(),
                width: hdf5_reader::width(&v.dtype).unwrap_or(std::mem::size_of::<usize>()),
            });
        }
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            Ok(Meta {
                dtype: summary::nc_type(&v.vartype()),
                first_dim: v.dimensions().first().map(|d| d.name()).unwrap_or_default(),
                shape: v.dimensions().iter().map(|d| d.len()).collect(),
                chunking: v.chunking()?,
                width: v.vartype().size(),
            })
        })
    }

    /// The HDF5 reader, when it reads the hyperslab `start`/`count` of `var` itself: a numeric
    /// (or, with `text`, `char`) variable of a plain netCDF-4 file, within its dataset.
    fn h5_reads(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        text: bool,
    ) -> Option<&hdf5_reader::H5Reader> {
        let h5 = self.h5.as_ref()?;
        let (v, _) = h5.var(var)?;
        let readable = v.dtype.is_numeric() || (text && v.dtype == NcType::Char);
        (readable && h5.within(var, start, count)).then_some(h5)
    }

    /// Runs a read of `var` by the HDF5 reader on this thread, with HDF5's account of a failure
    /// in the error as libnetcdf gives it.
    fn h5_read(&self, var: &str, read: impl FnOnce() -> Result<(), String>) -> Result<(), NcError> {
        diagnostics::quiet_thread();
        diagnostics::clear();
        read().map_err(|detail| {
            let detail = match diagnostics::hdf5_stack() {
                Some(stack) => format!("NetCDF: HDF error (HDF5: {stack})"),
                None => format!("NetCDF: HDF error ({detail})"),
            };
            diagnostics::clear();
            NcError::Read {
                path: self.path.clone(),
                what: format!("variable {var}"),
                detail,
            }
        })
    }

    fn variable(&self, name: &str) -> Result<netcdf::Variable<'_>, netcdf::Error> {
        self.file()?
            .variable(name)
            .ok_or_else(|| netcdf::Error::NotFound(name.to_string()))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The header: dimensions, variables with types, shapes and attributes, global attributes.
    pub fn summary(&self) -> Result<NcSummary, NcError> {
        if let Some(h5) = &self.h5 {
            return Ok(h5.summary().clone());
        }
        guarded(&self.path, "the header", || {
            summary::read(self.file()?, self.format)
        })
    }

    /// Reads a hyperslab of a numeric variable as `f64` (libnetcdf converts the type).
    pub fn read_f64(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
    ) -> Result<Vec<f64>, NcError> {
        self.charge(var)?;
        self.before_values();
        if let Some(h5) = self.h5_reads(var, start, count, false) {
            let mut out = Vec::new();
            self.h5_read(var, || h5.read_f64_into(var, start, count, &mut out))?;
            return Ok(out);
        }
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            if v.dimensions().is_empty() {
                return Ok(vec![v.get_value::<f64, _>(..)?]);
            }
            v.get_values::<f64, _>((start, count))
        })
    }

    /// Visits every value of a numeric variable in row-major order, at most about `chunk` values
    /// at a time, so memory stays bounded whatever the variable's size. Whole rows are read
    /// through a [`columns::RowCursor`], which inflates each HDF5 chunk once; a variable whose
    /// rows are each larger than `chunk` is read row by row, in reads rounded to whole HDF5
    /// chunks unless one row of chunks is larger than [`MAX_ALIGNED_BYTES`].
    pub fn for_each_chunk(
        &self,
        var: &str,
        chunk: usize,
        mut visit: impl FnMut(&[f64]),
    ) -> Result<(), NcError> {
        self.for_each_chunk_until(var, chunk, |values| {
            visit(values);
            ControlFlow::Continue(())
        })
    }

    /// [`NcFile::for_each_chunk`] until the visitor breaks: nothing after that piece is read.
    pub fn for_each_chunk_until(
        &self,
        var: &str,
        chunk: usize,
        mut visit: impl FnMut(&[f64]) -> ControlFlow<()>,
    ) -> Result<(), NcError> {
        self.for_each_piece(var, chunk, |piece| visit(piece))
    }

    /// [`NcFile::for_each_chunk_until`], handing the visitor the buffer each piece was read
    /// into: it may take the buffer (swapping in another, whose contents the next read
    /// replaces), so that a piece goes to another thread without a copy.
    pub fn for_each_piece(
        &self,
        var: &str,
        chunk: usize,
        mut visit: impl FnMut(&mut Vec<f64>) -> ControlFlow<()>,
    ) -> Result<(), NcError> {
        let Meta {
            shape, chunking, ..
        } = self.meta(var)?;
        let mut buf = Vec::new();
        if shape.is_empty() {
            self.read_f64_into(var, &[], &[], &mut buf)?;
            let _ = visit(&mut buf);
            return Ok(());
        }
        if shape.contains(&0) {
            return Ok(());
        }
        let inner: usize = shape[1..].iter().product();
        if inner <= chunk {
            // Whole rows per read, through a cursor: each HDF5 chunk is inflated once even when
            // it is larger than the library's cache.
            let mut cursor = self.row_cursor(var)?;
            let rows = (chunk / inner).max(1);
            let mut i = 0;
            while i < shape[0] {
                let n = rows.min(shape[0] - i);
                cursor.read_rows_into(self, i, n, &mut buf)?;
                if visit(&mut buf).is_break() {
                    break;
                }
                i += n;
            }
            return Ok(());
        }
        let slab = Slab {
            var,
            shape: &shape,
            chunking: chunking.as_deref(),
            chunk: chunk.max(1),
        };
        self.visit_slab(&slab, &mut Vec::new(), &mut buf, &mut visit)
            .map(|_| ())
    }

    fn visit_slab(
        &self,
        slab: &Slab<'_>,
        prefix: &mut Vec<usize>,
        buf: &mut Vec<f64>,
        visit: &mut impl FnMut(&mut Vec<f64>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>, NcError> {
        let shape = slab.shape;
        let depth = prefix.len();
        let inner: usize = shape[depth + 1..].iter().product();
        if inner <= slab.chunk {
            // Read whole rows of dimension `depth`, as many as fit in one read, rounded to whole
            // HDF5 chunks along it.
            let mut rows = (slab.chunk / inner).max(1);
            if let Some(step) = slab.chunking.and_then(|c| c.get(depth)).copied()
                && step > 0
                && step.saturating_mul(inner).saturating_mul(8) <= MAX_ALIGNED_BYTES
            {
                rows = (rows / step).max(1) * step;
            }
            let mut i = 0;
            while i < shape[depth] {
                let n = rows.min(shape[depth] - i);
                let start: Vec<usize> = prefix
                    .iter()
                    .copied()
                    .chain([i])
                    .chain(shape[depth + 1..].iter().map(|_| 0))
                    .collect();
                let count: Vec<usize> = prefix
                    .iter()
                    .map(|_| 1)
                    .chain([n])
                    .chain(shape[depth + 1..].iter().copied())
                    .collect();
                self.read_f64_into(slab.var, &start, &count, buf)?;
                if visit(buf).is_break() {
                    return Ok(ControlFlow::Break(()));
                }
                i += n;
            }
            Ok(ControlFlow::Continue(()))
        } else {
            for i in 0..shape[depth] {
                prefix.push(i);
                let flow = self.visit_slab(slab, prefix, buf, visit)?;
                prefix.pop();
                if flow.is_break() {
                    return Ok(flow);
                }
            }
            Ok(ControlFlow::Continue(()))
        }
    }

    /// Reads a `char` variable as strings, one per outer index (the last dimension is the string
    /// length), or a scalar/1-D char variable as one string.
    pub fn read_text(&self, var: &str) -> Result<Vec<String>, NcError> {
        self.charge(var)?;
        self.before_values();
        let shape = self.meta(var)?.shape;
        let zeros = vec![0; shape.len()];
        if let Some(h5) = self.h5_reads(var, &zeros, &shape, true) {
            let mut raw = Vec::new();
            self.h5_read(var, || h5.read_bytes_into(var, &zeros, &shape, &mut raw))?;
            return Ok(text_rows(&raw, shape.last().copied().unwrap_or(raw.len())));
        }
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            let dims: Vec<usize> = v.dimensions().iter().map(|d| d.len()).collect();
            let raw = v.get_raw_values(..)?;
            let width = dims.last().copied().unwrap_or(raw.len());
            Ok(text_rows(&raw, width))
        })
    }
}

/// The strings a `char` variable's bytes hold, one per row of `width` bytes, with the padding
/// (NULs, then trailing blanks) removed.
pub fn text_rows(raw: &[u8], width: usize) -> Vec<String> {
    raw.chunks(width.max(1))
        .map(|c| {
            String::from_utf8_lossy(c)
                .trim_end_matches('\0')
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Whether the file opens as NetCDF: the format check.
pub fn probe(path: &Path) -> Result<(), NcError> {
    let file = NcFile::open(path)?;
    file.summary().map(|_| ())
}
