//! Reads a plain netCDF-4 file (what libnetcdf writes: one root group of variables of atomic
//! types over shared dimensions) through HDF5 alone: its header, and its numeric and `char`
//! values. Any other file, or anything in one that this reader does not recognise, is left to
//! libnetcdf ([`H5Reader::open`] returns `None`).
//!
//! Why not libnetcdf for these: when it opens a netCDF-4 file it opens every dataset and keeps
//! each open (about 25 KB of HDF5 state per variable), then reads each variable's attributes on
//! the first question about it, after HDF5's metadata cache has evicted the object headers it
//! just read: opening and reading the header grew 4.7–4.9× from 2,500 to 10,000 variables, and
//! cost 26 M of the 89 M instructions of an ordinary file's whole job. Here each object is
//! opened, read whole and closed in turn (BENCHMARKS.md, "A netCDF-4 header without
//! libnetcdf").
//!
//! What "plain" means, each condition one that libnetcdf-written files meet and that keeps this
//! reader's answer the same as libnetcdf's: the root group tracks the creation order of its links
//! and attributes (libnetcdf then lists variables and attributes in that order); it links only to
//! datasets; every dataset tracks its attributes' creation order; every type is an integer of 8,
//! 16, 32 or 64 bits, a float of 32 or 64 bits, a one-byte fixed string (`char`) or a
//! variable-length string; every dimension is a dimension scale carrying libnetcdf's
//! `_Netcdf4Dimid`, and every variable names its dimensions by `_Netcdf4Coordinates`, by being
//! the scale itself, or by one scale per axis in `DIMENSION_LIST`.

use std::collections::HashMap;
use std::ffi::{CStr, CString, c_char, c_uint, c_void};
use std::sync::Mutex;

use hdf5_sys::h5::{H5_index_t, H5_iter_order_t, H5free_memory, herr_t, hsize_t};
use hdf5_sys::h5a::{
    H5A_info_t, H5Aclose, H5Aget_space, H5Aget_type, H5Aiterate2, H5Aopen, H5Aread,
};
use hdf5_sys::h5d::{
    H5D_layout_t, H5Dclose, H5Dget_create_plist, H5Dget_space, H5Dget_type, H5Dopen2, H5Dread,
};
use hdf5_sys::h5e::{H5E_DEFAULT, H5Eclear2};
use hdf5_sys::h5f::{H5F_ACC_RDONLY, H5Fclose, H5Fopen};
use hdf5_sys::h5g::{H5G_info_t, H5Gclose, H5Gget_create_plist, H5Gget_info, H5Gopen2};
use hdf5_sys::h5i::hid_t;
use hdf5_sys::h5l::H5Lget_name_by_idx;
use hdf5_sys::h5o::H5Oclose;
use hdf5_sys::h5p::{
    H5P_CLS_DATASET_ACCESS, H5P_CRT_ORDER_TRACKED, H5P_DEFAULT, H5Pclose, H5Pcreate,
    H5Pget_attr_creation_order, H5Pget_chunk, H5Pget_layout, H5Pget_link_creation_order,
    H5Pset_chunk_cache,
};
use hdf5_sys::h5r::{H5R_type_t, H5Rdereference2};
use hdf5_sys::h5s::{
    H5S_ALL, H5S_UNLIMITED, H5S_class_t, H5S_seloper_t, H5Sclose, H5Screate_simple,
    H5Sget_simple_extent_dims, H5Sget_simple_extent_ndims, H5Sget_simple_extent_npoints,
    H5Sget_simple_extent_type, H5Sselect_hyperslab,
};
use hdf5_sys::h5t::{
    H5T_NATIVE_DOUBLE, H5T_NATIVE_INT, H5T_STD_REF_OBJ, H5T_class_t, H5T_direction_t, H5T_sign_t,
    H5Tclose, H5Tcopy, H5Tget_class, H5Tget_native_type, H5Tget_precision, H5Tget_sign,
    H5Tget_size, H5Tis_variable_str, H5Tvlen_create, hvl_t,
};

use super::summary::{AttrValue, Attribute, Dimension, NcSummary, NcType, Variable};

/// Attributes libnetcdf keeps to itself: dimension-scale bookkeeping and its own markers. They
/// are never listed as attributes of a variable or of the file.
const HIDDEN: [&str; 8] = [
    "CLASS",
    "DIMENSION_LIST",
    "NAME",
    "REFERENCE_LIST",
    "_Netcdf4Coordinates",
    "_Netcdf4Dimid",
    "_NCProperties",
    "_nc3_strict",
];

/// Names libnetcdf reserves for its Zarr formats: an HDF5 file carrying one is left to libnetcdf,
/// whose versions differ in whether they list them.
const DECLINED: [&str; 3] = ["_ARRAY_DIMENSIONS", "_NCZARR_ATTR", "_nczarr_attr"];

/// The text libnetcdf writes into the `NAME` of a dimension that has no coordinate variable.
const DIMENSION_ONLY: &[u8] = b"This is a netCDF dimension but not a netCDF variable";

/// The prefix of the dataset of a variable that has a dimension's name but is not its coordinate
/// variable (a scalar `TIME` beside a dimension `TIME`).
const NON_COORDINATE: &str = "_nc4_non_coord_";

/// What the reader keeps of a variable beyond its summary.
#[derive(Debug, Clone)]
pub(super) struct VarInfo {
    /// Its place in the summary's variables.
    pub index: usize,
    /// Its dataset's name in the root group.
    pub link: String,
    /// Its HDF5 chunk shape, when it is chunked.
    pub chunking: Option<Vec<usize>>,
    /// Its dataset's current extent (an unlimited dimension's length is the longest variable's,
    /// so a shorter variable's extent can be less than its shape).
    pub extent: Vec<usize>,
}

/// An open plain netCDF-4 file.
pub(super) struct H5Reader {
    file: hid_t,
    summary: NcSummary,
    vars: HashMap<String, VarInfo>,
    /// Datasets opened for reading values, closed with the file.
    datasets: Mutex<HashMap<String, hid_t>>,
}

impl std::fmt::Debug for H5Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H5Reader")
            .field("file", &self.file)
            .finish()
    }
}

impl Drop for H5Reader {
    fn drop(&mut self) {
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        let datasets = std::mem::take(
            self.datasets
                .get_mut()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        // SAFETY: identifiers this reader opened, each closed once, under the libraries' lock.
        unsafe {
            for (_, d) in datasets {
                H5Dclose(d);
            }
            H5Fclose(self.file);
        }
    }
}

/// An HDF5 identifier closed when dropped (by the function given).
struct Id(hid_t, unsafe extern "C" fn(hid_t) -> herr_t);

impl Id {
    /// `Some` for a valid identifier, `None` for HDF5's failure value.
    fn new(id: hid_t, close: unsafe extern "C" fn(hid_t) -> herr_t) -> Option<Id> {
        (id >= 0).then_some(Id(id, close))
    }
}

impl Drop for Id {
    fn drop(&mut self) {
        // SAFETY: a valid identifier of the kind `close` closes, closed once.
        unsafe { (self.1)(self.0) };
    }
}

/// A dataset of the root group as read, before dimensions are resolved.
struct Dataset {
    /// The variable's name.
    name: String,
    /// The dataset's name in the root group.
    link: String,
    dtype: NcType,
    extent: Vec<usize>,
    unlimited: Vec<bool>,
    chunking: Option<Vec<usize>>,
    attributes: Vec<Attribute>,
    marks: Marks,
}

/// libnetcdf's hidden attributes of a dataset, as far as they name dimensions.
#[derive(Default)]
struct Marks {
    scale: bool,
    dimension_only: bool,
    dimid: Option<i32>,
    coordinates: Option<Vec<i32>>,
    /// One object reference per axis, from `DIMENSION_LIST`.
    dimension_refs: Option<Vec<u64>>,
    /// An attribute or type this reader does not read as libnetcdf would.
    unsupported: bool,
}

impl H5Reader {
    /// Opens `path` if it is a plain netCDF-4 file, reading its whole header; `None` for any
    /// other file (netCDF classic, not HDF5, unreadable, or anything not plain), which is then
    /// libnetcdf's to open. Call on a thread whose HDF5 error printing is off.
    pub(super) fn open(path: &std::path::Path) -> Option<H5Reader> {
        let name = CString::new(path.to_str()?).ok()?;
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        // SAFETY: plain C calls under the libraries' lock on a NUL-terminated path; the file is
        // closed on every path out (by the reader's drop once it is made).
        unsafe {
            let file = H5Fopen(name.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT);
            let header = (file >= 0).then(|| read_header(file)).flatten();
            // What HDF5 recorded of the calls that found the file not plain would otherwise
            // stay on this thread's error stack, which HDF5 cannot tear down at exit ("infinite
            // loop closing library") if no later call clears it.
            H5Eclear2(H5E_DEFAULT);
            match header {
                Some((summary, vars)) => Some(H5Reader {
                    file,
                    summary,
                    vars,
                    datasets: Mutex::default(),
                }),
                None => {
                    if file >= 0 {
                        H5Fclose(file);
                    }
                    None
                }
            }
        }
    }

    pub(super) fn summary(&self) -> &NcSummary {
        &self.summary
    }

    /// The variable named `name`, with its summary.
    pub(super) fn var(&self, name: &str) -> Option<(&Variable, &VarInfo)> {
        let info = self.vars.get(name)?;
        Some((&self.summary.variables[info.index], info))
    }

    /// Whether the hyperslab `start`/`count` of `var` lies within its dataset, so that HDF5 alone
    /// reads it: past a shorter variable's extent along an unlimited dimension, libnetcdf
    /// supplies fill values, which HDF5 does not.
    pub(super) fn within(&self, var: &str, start: &[usize], count: &[usize]) -> bool {
        let Some(info) = self.vars.get(var) else {
            return false;
        };
        start.len() == info.extent.len()
            && count.len() == info.extent.len()
            && start
                .iter()
                .zip(count)
                .zip(&info.extent)
                .all(|((&s, &c), &e)| s.checked_add(c).is_some_and(|end| end <= e))
    }

    /// Reads the hyperslab `start`/`count` of numeric variable `var` as `f64` into `buf` (a
    /// scalar takes empty slices), converted by HDF5 as libnetcdf converts it: a plain cast.
    /// `Err` carries HDF5's account of a failure.
    pub(super) fn read_f64_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<f64>,
    ) -> Result<(), String> {
        let n = count.iter().product::<usize>();
        buf.clear();
        buf.resize(n, 0.0);
        if n == 0 {
            return Ok(());
        }
        // `buf` holds `n` doubles, the size of the selection read.
        let out = buf.as_mut_ptr().cast::<c_void>();
        self.read(
            var,
            start,
            count,
            |_| Some(Id(*H5T_NATIVE_DOUBLE, no_close)),
            out,
        )
    }

    /// Reads the hyperslab `start`/`count` of `var` (numeric or `char`) as raw values of its own
    /// type in native byte order into `buf`.
    pub(super) fn read_bytes_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<u8>,
    ) -> Result<(), String> {
        let (v, _) = self.var(var).ok_or("no such variable")?;
        let width = width(&v.dtype).ok_or("not a numeric or char variable")?;
        let n = count.iter().product::<usize>();
        buf.clear();
        buf.resize(n * width, 0);
        if n == 0 {
            return Ok(());
        }
        let memory_type = |dataset_type: hid_t| {
            // SAFETY: a valid type identifier; the native type of a number, or a copy of the
            // one-byte string type of a char variable, is closed by the `Id`.
            unsafe {
                let t = if H5Tget_class(dataset_type) == H5T_class_t::H5T_STRING {
                    H5Tcopy(dataset_type)
                } else {
                    H5Tget_native_type(dataset_type, H5T_direction_t::H5T_DIR_ASCEND)
                };
                Id::new(t, H5Tclose)
            }
        };
        self.read(var, start, count, memory_type, buf.as_mut_ptr().cast())
    }

    /// Reads a hyperslab of `var` into `out`, which has room for it in the memory type that
    /// `memory_type` makes of the dataset's type.
    fn read(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        memory_type: impl FnOnce(hid_t) -> Option<Id>,
        out: *mut c_void,
    ) -> Result<(), String> {
        let failed = || "HDF5 could not read it".to_string();
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        let dataset = self.dataset(var).ok_or_else(failed)?;
        // SAFETY: plain C calls under the libraries' lock on identifiers closed by their `Id`s;
        // `out` has room for the selection in the memory type (the callers' contract).
        unsafe {
            let dataset_type = Id::new(H5Dget_type(dataset), H5Tclose).ok_or_else(failed)?;
            let memory = memory_type(dataset_type.0).ok_or_else(failed)?;
            let status = if start.is_empty() {
                H5Dread(dataset, memory.0, H5S_ALL, H5S_ALL, H5P_DEFAULT, out)
            } else {
                let file_space = Id::new(H5Dget_space(dataset), H5Sclose).ok_or_else(failed)?;
                let start: Vec<hsize_t> = start.iter().map(|&s| s as hsize_t).collect();
                let count: Vec<hsize_t> = count.iter().map(|&c| c as hsize_t).collect();
                if H5Sselect_hyperslab(
                    file_space.0,
                    H5S_seloper_t::H5S_SELECT_SET,
                    start.as_ptr(),
                    std::ptr::null(),
                    count.as_ptr(),
                    std::ptr::null(),
                ) < 0
                {
                    return Err(failed());
                }
                let memory_space = Id::new(
                    H5Screate_simple(count.len() as i32, count.as_ptr(), std::ptr::null()),
                    H5Sclose,
                )
                .ok_or_else(failed)?;
                H5Dread(
                    dataset,
                    memory.0,
                    memory_space.0,
                    file_space.0,
                    H5P_DEFAULT,
                    out,
                )
            };
            if status < 0 { Err(failed()) } else { Ok(()) }
        }
    }

    /// The open dataset of `var`, opened on first use with a chunk cache of one chunk of
    /// [`super::CHUNK_CACHE_BYTES`], as libnetcdf's is set ([`super::limit_chunk_cache`]).
    /// Called under the libraries' lock.
    fn dataset(&self, var: &str) -> Option<hid_t> {
        let mut open = self
            .datasets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(&d) = open.get(var) {
            return Some(d);
        }
        let name = CString::new(self.vars.get(var)?.link.as_str()).ok()?;
        // SAFETY: plain C calls under the caller's lock; the access list is closed here, the
        // dataset with the reader.
        let d = unsafe {
            let access = one_chunk_cache()?;
            H5Dopen2(self.file, name.as_ptr(), access.0)
        };
        if d < 0 {
            return None;
        }
        open.insert(var.to_string(), d);
        Some(d)
    }
}

/// A dataset access list with a chunk cache of one chunk of [`super::CHUNK_CACHE_BYTES`], as
/// libnetcdf's is set ([`super::limit_chunk_cache`]).
///
/// # Safety
/// Called under the libraries' lock.
unsafe fn one_chunk_cache() -> Option<Id> {
    // SAFETY: plain C calls under the caller's lock; the list is closed by its `Id`.
    unsafe {
        let access = Id::new(H5Pcreate(*H5P_CLS_DATASET_ACCESS), H5Pclose)?;
        (H5Pset_chunk_cache(access.0, 1, super::CHUNK_CACHE_BYTES, 0.75) >= 0).then_some(access)
    }
}

/// For types HDF5 predefines, which are not closed.
unsafe extern "C" fn no_close(_: hid_t) -> herr_t {
    0
}

/// Bytes of one value of a type that [`H5Reader::read_bytes_into`] reads: a number's, or one
/// for `char`.
pub(super) fn width(t: &NcType) -> Option<usize> {
    super::columns::numeric_width(t).or((*t == NcType::Char).then_some(1))
}

/// The netCDF type of an HDF5 type as libnetcdf reads it, when it is one this reader reads.
///
/// # Safety
/// `t` is a valid type identifier; called under the libraries' lock.
unsafe fn nc_type(t: hid_t) -> Option<NcType> {
    // SAFETY: as the caller's.
    unsafe {
        let size = H5Tget_size(t);
        match H5Tget_class(t) {
            H5T_class_t::H5T_INTEGER => {
                if H5Tget_precision(t) != size * 8 {
                    return None;
                }
                let signed = match H5Tget_sign(t) {
                    H5T_sign_t::H5T_SGN_2 => true,
                    H5T_sign_t::H5T_SGN_NONE => false,
                    _ => return None,
                };
                Some(match (size, signed) {
                    (1, true) => NcType::Byte,
                    (1, false) => NcType::UByte,
                    (2, true) => NcType::Short,
                    (2, false) => NcType::UShort,
                    (4, true) => NcType::Int,
                    (4, false) => NcType::UInt,
                    (8, true) => NcType::Int64,
                    (8, false) => NcType::UInt64,
                    _ => return None,
                })
            }
            H5T_class_t::H5T_FLOAT => match size {
                4 if H5Tget_precision(t) == 32 => Some(NcType::Float),
                8 if H5Tget_precision(t) == 64 => Some(NcType::Double),
                _ => None,
            },
            H5T_class_t::H5T_STRING => match H5Tis_variable_str(t) {
                1.. => Some(NcType::String),
                0 if size == 1 => Some(NcType::Char),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Whether the object `o` (of creation property list `plist`) tracks its attributes' creation
/// order, as libnetcdf lists them in it.
///
/// # Safety
/// `plist` is a valid creation property list; called under the libraries' lock.
unsafe fn tracks_attribute_order(plist: hid_t) -> bool {
    let mut flags: c_uint = 0;
    // SAFETY: as the caller's; HDF5 writes one unsigned.
    unsafe {
        H5Pget_attr_creation_order(plist, &mut flags) >= 0 && flags & H5P_CRT_ORDER_TRACKED != 0
    }
}

/// The whole header of the open `file`, or `None` when it is not plain.
///
/// # Safety
/// `file` is an open HDF5 file; called under the libraries' lock.
unsafe fn read_header(file: hid_t) -> Option<(NcSummary, HashMap<String, VarInfo>)> {
    // SAFETY: plain C calls under the caller's lock on identifiers closed by their `Id`s.
    unsafe {
        let root = Id::new(H5Gopen2(file, c"/".as_ptr(), H5P_DEFAULT), H5Gclose)?;
        let plist = Id::new(H5Gget_create_plist(root.0), H5Pclose)?;
        let mut flags: c_uint = 0;
        if H5Pget_link_creation_order(plist.0, &mut flags) < 0
            || flags & H5P_CRT_ORDER_TRACKED == 0
            || !tracks_attribute_order(plist.0)
        {
            return None;
        }
        let mut marks = Marks::default();
        let global_attributes = read_attributes(root.0, &mut marks)?;
        if marks.unsupported {
            return None;
        }
        let mut info: H5G_info_t = std::mem::zeroed();
        if H5Gget_info(root.0, &mut info) < 0 {
            return None;
        }
        let mut datasets = Vec::with_capacity(info.nlinks as usize);
        // Each dataset is opened with the one-slot chunk cache its reads would have: HDF5's
        // default sets up hundreds of slots per dataset, for a header that reads no chunk.
        let access = one_chunk_cache()?;
        let mut name: Vec<c_char> = vec![0; 256];
        for i in 0..info.nlinks {
            let len = link_name(root.0, i, &mut name)?;
            if len >= name.len() {
                name.resize(len + 1, 0);
                link_name(root.0, i, &mut name)?;
            }
            // Fails on anything but a dataset (a group, a named type): not plain.
            let object = Id::new(H5Dopen2(root.0, name.as_ptr(), access.0), H5Dclose)?;
            let text = CStr::from_ptr(name.as_ptr()).to_str().ok()?;
            // libnetcdf stores a variable named like a dimension it does not index under this
            // prefix, which it removes when it reads the file.
            let link = text.to_string();
            let text = text
                .strip_prefix(NON_COORDINATE)
                .unwrap_or(text)
                .to_string();
            datasets.push(read_dataset(object.0, text, link)?);
        }
        resolve(file, datasets, global_attributes)
    }
}

/// Writes the name of link `i` (in creation order) of `group` into `name` when it has room for
/// it, returning its length.
///
/// # Safety
/// `group` is an open group; called under the libraries' lock.
unsafe fn link_name(group: hid_t, i: hsize_t, name: &mut [c_char]) -> Option<usize> {
    // SAFETY: as the caller's; HDF5 writes at most `name.len()` bytes with the NUL.
    let len = unsafe {
        H5Lget_name_by_idx(
            group,
            c".".as_ptr(),
            H5_index_t::H5_INDEX_CRT_ORDER,
            H5_iter_order_t::H5_ITER_INC,
            i,
            name.as_mut_ptr(),
            name.len(),
            H5P_DEFAULT,
        )
    };
    usize::try_from(len).ok()
}

/// A dataset's type, extent, chunking and attributes.
///
/// # Safety
/// `d` is an open dataset; called under the libraries' lock.
unsafe fn read_dataset(d: hid_t, name: String, link: String) -> Option<Dataset> {
    // SAFETY: plain C calls under the caller's lock on identifiers closed by their `Id`s.
    unsafe {
        let t = Id::new(H5Dget_type(d), H5Tclose)?;
        let dtype = nc_type(t.0)?;
        let space = Id::new(H5Dget_space(d), H5Sclose)?;
        let rank = usize::try_from(H5Sget_simple_extent_ndims(space.0)).ok()?;
        let mut dims = vec![0 as hsize_t; rank];
        let mut max = vec![0 as hsize_t; rank];
        if H5Sget_simple_extent_dims(space.0, dims.as_mut_ptr(), max.as_mut_ptr()) < 0 {
            return None;
        }
        let plist = Id::new(H5Dget_create_plist(d), H5Pclose)?;
        if !tracks_attribute_order(plist.0) {
            return None;
        }
        let chunking = if H5Pget_layout(plist.0) == H5D_layout_t::H5D_CHUNKED {
            let mut chunk = vec![0 as hsize_t; rank];
            if H5Pget_chunk(plist.0, rank as i32, chunk.as_mut_ptr()) != rank as i32 {
                return None;
            }
            Some(chunk.into_iter().map(|c| c as usize).collect())
        } else {
            None
        };
        let mut marks = Marks::default();
        let attributes = read_attributes(d, &mut marks)?;
        if marks.unsupported {
            return None;
        }
        Some(Dataset {
            name,
            link,
            dtype,
            extent: dims.iter().map(|&n| n as usize).collect(),
            unlimited: max.iter().map(|&m| m == H5S_UNLIMITED).collect(),
            chunking,
            attributes,
            marks,
        })
    }
}

/// What [`attribute_visit`] gathers.
struct Gathered<'a> {
    attributes: Vec<Attribute>,
    marks: &'a mut Marks,
}

/// The attributes of object `o` in creation order, libnetcdf's hidden ones kept in `marks`.
///
/// # Safety
/// `o` is an open object; called under the libraries' lock.
unsafe fn read_attributes(o: hid_t, marks: &mut Marks) -> Option<Vec<Attribute>> {
    let mut gathered = Gathered {
        attributes: Vec::new(),
        marks,
    };
    // SAFETY: as the caller's; the visitor gets `gathered`, which outlives the iteration.
    let status = unsafe {
        H5Aiterate2(
            o,
            H5_index_t::H5_INDEX_CRT_ORDER,
            H5_iter_order_t::H5_ITER_INC,
            std::ptr::null_mut(),
            Some(attribute_visit),
            (&mut gathered as *mut Gathered<'_>).cast(),
        )
    };
    (status >= 0).then_some(gathered.attributes)
}

extern "C" fn attribute_visit(
    o: hid_t,
    name: *const c_char,
    _info: *const H5A_info_t,
    data: *mut c_void,
) -> herr_t {
    // SAFETY: `data` is the `Gathered` of `read_attributes`, `name` a NUL-terminated name, for
    // the call's duration; HDF5 calls this under the lock `read_attributes`' caller holds.
    let (gathered, name) = unsafe { (&mut *(data as *mut Gathered<'_>), CStr::from_ptr(name)) };
    let Ok(text) = name.to_str() else {
        gathered.marks.unsupported = true;
        return 1;
    };
    // SAFETY: as above; the attribute is closed by its `Id`.
    let read = unsafe {
        Id::new(H5Aopen(o, name.as_ptr(), H5P_DEFAULT), H5Aclose)
            .and_then(|a| read_attribute(a.0, text, gathered))
    };
    if read.is_none() {
        gathered.marks.unsupported = true;
        // Stops the iteration: the file is left to libnetcdf.
        return 1;
    }
    0
}

/// Reads attribute `a` named `name` into `gathered`: a hidden one into its marks, any other into
/// its attributes. `None` for one this reader cannot read as libnetcdf would.
///
/// # Safety
/// `a` is an open attribute; called under the libraries' lock.
unsafe fn read_attribute(a: hid_t, name: &str, gathered: &mut Gathered<'_>) -> Option<()> {
    // SAFETY: plain C calls under the caller's lock on identifiers closed by their `Id`s; each
    // buffer read into has room for the attribute's points in the memory type given.
    unsafe {
        let t = Id::new(H5Aget_type(a), H5Tclose)?;
        let space = Id::new(H5Aget_space(a), H5Sclose)?;
        let null = H5Sget_simple_extent_type(space.0) == H5S_class_t::H5S_NULL;
        let n = if null {
            0
        } else {
            usize::try_from(H5Sget_simple_extent_npoints(space.0)).ok()?
        };
        let marks = &mut *gathered.marks;
        match name {
            "DIMENSION_LIST" => {
                let memory = Id::new(H5Tvlen_create(*H5T_STD_REF_OBJ), H5Tclose)?;
                let mut lists = vec![
                    hvl_t {
                        len: 0,
                        p: std::ptr::null_mut()
                    };
                    n
                ];
                if n > 0 && H5Aread(a, memory.0, lists.as_mut_ptr().cast()) < 0 {
                    return None;
                }
                let mut refs = Vec::with_capacity(n);
                for list in &lists {
                    // One scale per axis, as libnetcdf attaches them.
                    if list.len == 1 && !list.p.is_null() {
                        refs.push(*(list.p as *const u64));
                    }
                }
                for list in lists {
                    if !list.p.is_null() {
                        H5free_memory(list.p);
                    }
                }
                if refs.len() != n {
                    return None;
                }
                marks.dimension_refs = Some(refs);
                return Some(());
            }
            "_Netcdf4Dimid" | "_Netcdf4Coordinates" => {
                let ints = match read_value(a, t.0, n)? {
                    AttrValue::Int(v) => v,
                    _ => return None,
                };
                if name == "_Netcdf4Dimid" {
                    marks.dimid = Some(*ints.first()?);
                } else {
                    marks.coordinates = Some(ints);
                }
                return Some(());
            }
            "CLASS" => {
                if let AttrValue::Text(s) = read_value(a, t.0, n)? {
                    marks.scale = s == "DIMENSION_SCALE";
                }
                return Some(());
            }
            "NAME" => {
                if let AttrValue::Text(s) = read_value(a, t.0, n)? {
                    marks.dimension_only = s.as_bytes().starts_with(DIMENSION_ONLY);
                }
                return Some(());
            }
            _ if HIDDEN.contains(&name) => return Some(()),
            _ if DECLINED.contains(&name) => return None,
            _ => {}
        }
        let value = read_value(a, t.0, n)?;
        gathered.attributes.push(Attribute {
            name: name.to_string(),
            value,
        });
        Some(())
    }
}

/// The value of attribute `a` of type `t` with `n` points (0 for an empty dataspace).
///
/// # Safety
/// `a` is an open attribute of type `t`; called under the libraries' lock.
unsafe fn read_value(a: hid_t, t: hid_t, n: usize) -> Option<AttrValue> {
    macro_rules! numbers {
        ($variant:ident, $ty:ty) => {{
            if n == 0 {
                return None;
            }
            let memory = Id::new(
                H5Tget_native_type(t, H5T_direction_t::H5T_DIR_ASCEND),
                H5Tclose,
            )?;
            if H5Tget_size(memory.0) != std::mem::size_of::<$ty>() {
                return None;
            }
            let mut v: Vec<$ty> = vec![Default::default(); n];
            if H5Aread(a, memory.0, v.as_mut_ptr().cast()) < 0 {
                return None;
            }
            AttrValue::$variant(v)
        }};
    }
    // SAFETY: plain C calls under the caller's lock; each buffer has room for `n` values of the
    // memory type read.
    unsafe {
        if H5Tget_class(t) == H5T_class_t::H5T_STRING && H5Tis_variable_str(t) == 0 {
            // libnetcdf writes text as one fixed string of its length, and empty text as an
            // empty dataspace; the binding cuts it at its first NUL.
            if n == 0 {
                return Some(AttrValue::Text(String::new()));
            }
            if n != 1 {
                return None;
            }
            let mut bytes = vec![0u8; H5Tget_size(t)];
            if H5Aread(a, t, bytes.as_mut_ptr().cast()) < 0 {
                return None;
            }
            let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
            return Some(AttrValue::Text(
                String::from_utf8_lossy(&bytes[..end]).into_owned(),
            ));
        }
        Some(match nc_type(t)? {
            NcType::Byte => numbers!(Byte, i8),
            NcType::UByte => numbers!(UByte, u8),
            NcType::Short => numbers!(Short, i16),
            NcType::UShort => numbers!(UShort, u16),
            NcType::Int => numbers!(Int, i32),
            NcType::UInt => numbers!(UInt, u32),
            NcType::Int64 => numbers!(Int64, i64),
            NcType::UInt64 => numbers!(UInt64, u64),
            NcType::Float => numbers!(Float, f32),
            NcType::Double => numbers!(Double, f64),
            NcType::String => {
                if n == 0 {
                    return None;
                }
                let mut p: Vec<*mut c_char> = vec![std::ptr::null_mut(); n];
                if H5Aread(a, t, p.as_mut_ptr().cast()) < 0 {
                    return None;
                }
                let strings = p
                    .iter()
                    .map(|&s| {
                        if s.is_null() {
                            String::new()
                        } else {
                            CStr::from_ptr(s).to_string_lossy().into_owned()
                        }
                    })
                    .collect();
                for s in p {
                    if !s.is_null() {
                        H5free_memory(s.cast());
                    }
                }
                AttrValue::Strings(strings)
            }
            // A `char` attribute is a fixed string, read above.
            NcType::Char | NcType::Other(_) => return None,
        })
    }
}

/// The summary and the variables' details from the root group's datasets: the dimensions from
/// the scales (in the order of libnetcdf's ids), the variables from the other datasets and the
/// scales that are coordinate variables, in creation order.
///
/// # Safety
/// `file` is an open HDF5 file; called under the libraries' lock.
unsafe fn resolve(
    file: hid_t,
    datasets: Vec<Dataset>,
    global_attributes: Vec<Attribute>,
) -> Option<(NcSummary, HashMap<String, VarInfo>)> {
    let mut dimensions: Vec<(i32, Dimension)> = Vec::new();
    for d in &datasets {
        if d.marks.scale {
            dimensions.push((
                d.marks.dimid?,
                Dimension {
                    name: d.name.clone(),
                    len: *d.extent.first()?,
                    unlimited: *d.unlimited.first()?,
                },
            ));
        } else if d.marks.dimension_only {
            return None;
        }
    }
    dimensions.sort_by_key(|(id, _)| *id);
    if dimensions.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let place: HashMap<i32, usize> = dimensions
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();
    let mut dimensions: Vec<Dimension> = dimensions.into_iter().map(|(_, d)| d).collect();
    // An unlimited dimension is as long as the longest variable along it (libnetcdf's rule).
    for d in dimensions.iter_mut().filter(|d| d.unlimited) {
        d.len = 0;
    }
    let mut scales: HashMap<u64, i32> = HashMap::new();
    let mut resolved = Vec::new();
    for d in datasets {
        if d.marks.dimension_only {
            continue;
        }
        let ids: Vec<i32> = if let Some(ids) = &d.marks.coordinates {
            ids.clone()
        } else if d.marks.scale {
            vec![d.marks.dimid?]
        } else if d.extent.is_empty() {
            Vec::new()
        } else {
            let mut ids = Vec::new();
            for r in d.marks.dimension_refs.as_ref()? {
                let id = match scales.get(r) {
                    Some(&id) => id,
                    // SAFETY: as the caller's.
                    None => unsafe { dimension_id(file, *r)? },
                };
                scales.insert(*r, id);
                ids.push(id);
            }
            ids
        };
        if ids.len() != d.extent.len() {
            return None;
        }
        let axes: Vec<usize> = ids
            .iter()
            .map(|id| place.get(id).copied())
            .collect::<Option<_>>()?;
        for (&axis, &n) in axes.iter().zip(&d.extent) {
            let dim = &mut dimensions[axis];
            if dim.unlimited {
                dim.len = dim.len.max(n);
            }
        }
        resolved.push((d, axes));
    }
    let mut variables = Vec::with_capacity(resolved.len());
    let mut infos = HashMap::with_capacity(resolved.len());
    for (index, (d, axes)) in resolved.into_iter().enumerate() {
        infos.insert(
            d.name.clone(),
            VarInfo {
                index,
                link: d.link,
                chunking: d.chunking,
                extent: d.extent,
            },
        );
        variables.push(Variable {
            name: d.name,
            dtype: d.dtype,
            dimensions: axes.iter().map(|&a| dimensions[a].name.clone()).collect(),
            shape: axes.iter().map(|&a| dimensions[a].len).collect(),
            attributes: d.attributes,
        });
    }
    if infos.len() != variables.len() {
        return None;
    }
    Some((
        NcSummary {
            format: "netcdf4".to_string(),
            dimensions,
            variables,
            global_attributes,
            groups: Vec::new(),
        },
        infos,
    ))
}

/// libnetcdf's id of the dimension whose scale the object reference `r` names.
///
/// # Safety
/// `file` is an open HDF5 file; called under the libraries' lock.
unsafe fn dimension_id(file: hid_t, r: u64) -> Option<i32> {
    // SAFETY: plain C calls under the caller's lock on identifiers closed by their `Id`s; the
    // reference is read from the memory of `r`, and one int is read into `id`.
    unsafe {
        // An object reference is type 0, which the binding names H5R_OBJECT before HDF5 1.12
        // and H5R_OBJECT1 from it: the two builds link 1.10 and 2.2.
        let object = std::mem::transmute::<i32, H5R_type_t>(0);
        let scale = Id::new(
            H5Rdereference2(file, H5P_DEFAULT, object, (&r as *const u64).cast()),
            H5Oclose,
        )?;
        let a = Id::new(
            H5Aopen(scale.0, c"_Netcdf4Dimid".as_ptr(), H5P_DEFAULT),
            H5Aclose,
        )?;
        let mut id: i32 = 0;
        if H5Aread(a.0, *H5T_NATIVE_INT, (&mut id as *mut i32).cast()) < 0 {
            return None;
        }
        Some(id)
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    /// The NetCDF files under `dir`, recursively.
    fn nc_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                nc_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "nc") {
                out.push(p);
            }
        }
    }

    /// The project's NetCDF test files, and the IMOS corpus and pipeline fixtures of
    /// `../shared` when it is beside the checkout.
    fn corpus() -> Vec<PathBuf> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        nc_files(&root.join("tests/data"), &mut files);
        let shared = root.join("../shared");
        if shared.is_dir() {
            nc_files(&shared.join("imos-corpus"), &mut files);
            nc_files(&shared.join("fixtures/pipeline"), &mut files);
        } else {
            eprintln!("../shared is missing: the IMOS corpus and pipeline fixtures are skipped");
        }
        files.sort();
        files
    }

    #[test]
    fn every_file_it_reads_reads_as_through_libnetcdf_header_and_values() {
        super::super::diagnostics::quiet_thread();
        let (mut read, mut left) = (0, 0);
        for path in corpus() {
            let Some(h5) = H5Reader::open(&path) else {
                left += 1;
                continue;
            };
            read += 1;
            let nc = netcdf::open(&path).expect("libnetcdf opens what the reader reads");
            let expected = super::super::summary::read(&nc, "netcdf4").expect("header");
            let ours = h5.summary();
            assert_eq!(ours.dimensions, expected.dimensions, "{}", path.display());
            assert_eq!(
                ours.global_attributes,
                expected.global_attributes,
                "{}",
                path.display()
            );
            assert_eq!(
                ours.variables.len(),
                expected.variables.len(),
                "{}",
                path.display()
            );
            for (a, b) in ours.variables.iter().zip(&expected.variables) {
                assert_eq!(a, b, "{}", path.display());
            }
            assert_eq!(ours, &expected, "{}", path.display());
            for v in &expected.variables {
                let zeros = vec![0; v.shape.len()];
                if !h5.within(&v.name, &zeros, &v.shape) {
                    continue;
                }
                let theirs = nc.variable(&v.name).expect("variable");
                if v.dtype.is_numeric() {
                    let want: Vec<f64> = if v.shape.is_empty() {
                        vec![theirs.get_value::<f64, _>(..).expect("value")]
                    } else {
                        theirs.get_values::<f64, _>(..).expect("values")
                    };
                    let mut got = Vec::new();
                    h5.read_f64_into(&v.name, &zeros, &v.shape, &mut got)
                        .expect("read");
                    let bits = |x: &[f64]| x.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{} {}", path.display(), v.name);
                } else if v.dtype == NcType::Char {
                    let want = theirs.get_raw_values(..).expect("bytes");
                    let mut got = Vec::new();
                    h5.read_bytes_into(&v.name, &zeros, &v.shape, &mut got)
                        .expect("read");
                    assert_eq!(got, want, "{} {}", path.display(), v.name);
                }
            }
        }
        eprintln!("read through HDF5: {read} files; left to libnetcdf: {left}");
        // The project's own files alone hold dozens of plain netCDF-4 files: a reader that
        // declined them all would compare nothing.
        assert!(
            read >= 40,
            "only {read} files read through HDF5 ({left} left)"
        );
    }
}

#[cfg(test)]
mod fallback_tests {
    use crate::netcdf::NcFile;

    /// A plain file with an unlimited dimension along which `short` has fewer values than `long`:
    /// the dimension is as long as `long`, and `short`'s values past its own extent are the fill
    /// value that libnetcdf supplies, not an HDF5 error.
    #[test]
    fn values_past_a_variables_own_extent_come_from_libnetcdf() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("unlimited.nc");
        {
            let mut f = netcdf::create(&path).expect("create");
            f.add_unlimited_dimension("t").expect("dimension");
            let mut long = f.add_variable::<f64>("long", &["t"]).expect("long");
            long.put_values(&[1.0, 2.0, 3.0, 4.0, 5.0], ..)
                .expect("put");
            let mut short = f.add_variable::<f64>("short", &["t"]).expect("short");
            short.put_values(&[7.0, 8.0], ..).expect("put");
        }
        let file = NcFile::open(&path).expect("open");
        assert!(
            file.h5.is_some(),
            "a plain netCDF-4 file is read through HDF5"
        );
        let summary = file.summary().expect("header");
        assert_eq!(summary.dimension("t").map(|d| d.len), Some(5));
        assert_eq!(
            summary.variable("short").map(|v| v.shape.clone()),
            Some(vec![5])
        );
        let fill = netcdf_sys::NC_FILL_DOUBLE;
        assert_eq!(
            file.read_f64("short", &[0], &[5]).expect("read"),
            vec![7.0, 8.0, fill, fill, fill]
        );
        assert_eq!(
            file.read_f64("short", &[0], &[2]).expect("read"),
            vec![7.0, 8.0]
        );
        assert_eq!(
            file.read_f64("long", &[1], &[3]).expect("read"),
            vec![2.0, 3.0, 4.0]
        );
    }
}

#[cfg(test)]
mod decline_tests {
    use super::H5Reader;
    use crate::netcdf::NcFile;

    /// A netCDF-4 file with a group, a netCDF classic file and a file that is not NetCDF are not
    /// read through HDF5; the first two open through libnetcdf as before.
    #[test]
    fn files_that_are_not_plain_netcdf4_are_left_to_libnetcdf() {
        crate::netcdf::diagnostics::quiet_thread();
        let dir = tempfile::tempdir().expect("temp dir");
        let grouped = dir.path().join("grouped.nc");
        {
            let mut f = netcdf::create(&grouped).expect("create");
            f.add_dimension("x", 2).expect("dimension");
            f.add_variable::<f64>("v", &["x"]).expect("variable");
            f.add_group("inner").expect("group");
        }
        let classic = dir.path().join("classic.nc");
        {
            let mut f =
                netcdf::create_with(&classic, netcdf::Options::CLASSIC).expect("create classic");
            f.add_dimension("x", 2).expect("dimension");
            f.add_variable::<f64>("v", &["x"]).expect("variable");
        }
        let text = dir.path().join("text.nc");
        std::fs::write(&text, b"\x89HDF\r\n\x1a\nnot really").expect("write");
        for path in [&grouped, &classic, &text] {
            assert!(H5Reader::open(path).is_none(), "{}", path.display());
        }
        let file = NcFile::open(&grouped).expect("libnetcdf opens it");
        assert!(file.h5.is_none());
        assert_eq!(file.summary().expect("header").groups, vec!["inner"]);
        assert!(NcFile::open(&classic).expect("open").h5.is_none());
        assert!(NcFile::open(&text).is_err());
    }
}
