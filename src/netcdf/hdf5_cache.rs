//! Bounds HDF5's metadata cache of each netCDF-4 file we open for reading, so that reading a
//! long variable costs the same memory whatever the file's length.
//!
//! HDF5 keeps a file's metadata (object headers, and the B-tree that indexes a chunked variable's
//! chunks) in a per-file cache that starts at 2 MiB and may grow to 32 MiB. It counts entries at
//! their size on disk, but a version-1 B-tree node of a chunk index (what an unlimited dimension
//! gets in netCDF-4 files such as the IMOS toolbox's) is held with native keys sized for HDF5's
//! 33 possible dimensions: about ten times its size on disk. Streaming every chunk of a long
//! variable walks the whole index front to back, so the cache fills to its size and holds about
//! 24 MiB of nodes that are never needed again (measured through libnetcdf 4.10.1 and HDF5 2.2.0:
//! 25 MiB at 1.25 M points, 40 MiB from 5 M points to a 4 GB file, against 22.6 MiB at every size
//! with the cache held at [`METADATA_CACHE_BYTES`]; BENCHMARKS.md). libnetcdf does not let a
//! caller configure the cache before it opens the file, so it is set on the open file, before its
//! first read of values.

use std::ffi::{CStr, c_char};
use std::path::Path;

use hdf5_sys::h5ac::{H5AC__CURR_CACHE_CONFIG_VERSION, H5AC_cache_config_t};
use hdf5_sys::h5c::{H5C_decr__off, H5C_flash_incr__off, H5C_incr__off};
use hdf5_sys::h5f::{
    H5F_OBJ_ALL, H5F_OBJ_FILE, H5Fget_mdc_config, H5Fget_name, H5Fget_obj_count, H5Fget_obj_ids,
    H5Fset_mdc_config,
};
use hdf5_sys::h5i::hid_t;

/// The metadata cache of a file opened for reading, in HDF5's accounting (sizes on disk): room
/// for the path from a chunk index's root to the chunk being read and the object headers in use,
/// fixed (no adaptive growth). Reads stream front to back, so nothing evicted is wanted again
/// soon; a smaller cache saved no more memory (128 KiB: 22.4 MiB), a larger one kept more nodes
/// (512 KiB: 25 MiB; 1 MiB: 30 MiB at 5 M points), none changed the read's time.
pub const METADATA_CACHE_BYTES: usize = 256 << 10;

/// Holds the metadata cache of the HDF5 file libnetcdf opened at `path` (if it is one: a netCDF
/// classic file has none) at [`METADATA_CACHE_BYTES`]. Any failure leaves HDF5's default cache,
/// which only costs memory. Call without holding the libraries' lock, on a thread whose HDF5
/// error printing is off.
pub(super) fn bound(path: &Path) {
    let _lock = netcdf_sys::libnetcdf_lock.lock();
    let Some((id, mut config)) = open_file(path) else {
        return;
    };
    if config.max_size == METADATA_CACHE_BYTES {
        return;
    }
    config.set_initial_size = true.into();
    config.initial_size = METADATA_CACHE_BYTES;
    config.max_size = METADATA_CACHE_BYTES;
    config.min_size = METADATA_CACHE_BYTES;
    config.incr_mode = H5C_incr__off;
    config.flash_incr_mode = H5C_flash_incr__off;
    config.decr_mode = H5C_decr__off;
    // SAFETY: a plain C call under the libraries' lock, on an identifier HDF5 has just listed as
    // open, with its own configuration changed field by field.
    unsafe {
        H5Fset_mdc_config(id, &mut config);
    }
}

/// The open HDF5 file named `path` (the name libnetcdf gave HDF5) and its metadata cache's
/// configuration. Call under the libraries' lock. The identifier is not a new reference (HDF5
/// does not count what it lists), so it is not closed.
fn open_file(path: &Path) -> Option<(hid_t, H5AC_cache_config_t)> {
    let wanted = path.to_str()?.as_bytes();
    let all = hid_t::from(H5F_OBJ_ALL);
    // SAFETY: plain C calls under the libraries' lock: HDF5 writes at most `ids.len()`
    // identifiers, and at most `name.len()` bytes with their NUL.
    unsafe {
        let count = usize::try_from(H5Fget_obj_count(all, H5F_OBJ_FILE)).ok()?;
        let mut ids: Vec<hid_t> = vec![0; count];
        let listed =
            usize::try_from(H5Fget_obj_ids(all, H5F_OBJ_FILE, count, ids.as_mut_ptr())).ok()?;
        let mut name = vec![0 as c_char; wanted.len() + 2];
        let id = ids[..listed.min(count)].iter().copied().find(|&id| {
            let len = H5Fget_name(id, name.as_mut_ptr(), name.len());
            usize::try_from(len) == Ok(wanted.len())
                && CStr::from_ptr(name.as_ptr()).to_bytes() == wanted
        })?;
        let mut config = H5AC_cache_config_t {
            version: H5AC__CURR_CACHE_CONFIG_VERSION,
            ..Default::default()
        };
        (H5Fget_mdc_config(id, &mut config) >= 0).then_some((id, config))
    }
}

/// The metadata cache's maximum size of the open HDF5 file named `path`, for tests.
#[cfg(test)]
pub(super) fn max_size(path: &Path) -> Option<usize> {
    let _lock = netcdf_sys::libnetcdf_lock.lock();
    open_file(path).map(|(_, config)| config.max_size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::NcFile;

    #[test]
    fn the_metadata_cache_of_a_netcdf4_file_is_held_small_from_its_first_read_of_values() {
        let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
        let tz = data.join(
            "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
        );
        let fish = data.join("IMOS_SOOP-FishSOOP_TP_20240310T094642Z_FV00_786.nc");
        let classic = data.join("IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc");
        let (a, b, c) = (
            NcFile::open(&tz).unwrap(),
            NcFile::open(&fish).unwrap(),
            NcFile::open(&classic).unwrap(),
        );
        // HDF5's default while the header is read.
        let default = max_size(&tz).unwrap();
        assert!(default > METADATA_CACHE_BYTES, "{default}");
        a.summary().unwrap();
        assert_eq!(max_size(&tz), Some(default));

        let mut n = 0;
        a.for_each_chunk("TEMP", 100, |v| n += v.len()).unwrap();
        assert_eq!(n, 1001, "the values come whole through the small cache");
        assert_eq!(max_size(&tz), Some(METADATA_CACHE_BYTES));
        assert_eq!(
            max_size(&fish),
            Some(default),
            "another open file keeps its own"
        );
        let header = b.summary().unwrap();
        let var = header
            .variables
            .iter()
            .find(|v| !v.shape.is_empty())
            .unwrap();
        b.read_f64(&var.name, &[0], &[1]).unwrap();
        assert_eq!(max_size(&fish), Some(METADATA_CACHE_BYTES));

        assert_eq!(max_size(&classic), None, "a classic file is not HDF5");
        c.read_f64("LATITUDE", &[], &[]).unwrap();
        drop((a, b, c));
        assert_eq!(max_size(&tz), None, "closed with its NcFile");
    }
}
