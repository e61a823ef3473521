//! What the C libraries would print: HDF5's automatic error-stack printing is turned off on every
//! thread before it calls libnetcdf, and what HDF5 reported for a failed call is read back into
//! our error instead, so stderr carries only our structured log lines.
//!
//! HDF5 keeps the automatic printing switch per thread when it is built thread-safe (Debian's
//! libhdf5 is): libnetcdf turns it off only on the thread that first initialises it, so reads on
//! any other thread (the async runtime's blocking pool) printed an `HDF5-DIAG` stack for every
//! attribute libnetcdf merely probes for (such as `_QuantizeBitGroomNumberOfSignificantDigits`).
//! The HDF5 functions are reached through `hdf5-sys`, which links the same HDF5 libnetcdf uses:
//! Debian's shared libhdf5 in the default build, the static HDF5 built with libnetcdf under the
//! `static-netcdf` feature.

use std::cell::Cell;
use std::ffi::{CStr, c_uint, c_void};

use hdf5_sys::h5e::{
    H5E_DEFAULT, H5E_direction_t, H5E_error2_t, H5Eclear2, H5Eset_auto2, H5Ewalk2,
};

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Turns HDF5's automatic error printing off for the calling thread (once per thread), and
/// netCDF's own logging off for the process where the library has the switch. Call before any
/// libnetcdf call.
pub(super) fn quiet_thread() {
    if QUIET.with(Cell::get) {
        return;
    }
    let _lock = netcdf_sys::libnetcdf_lock.lock();
    // SAFETY: plain C calls under the libraries' lock; a null function pointer is HDF5's
    // documented way to turn automatic printing off for the default (this thread's) stack.
    unsafe {
        H5Eset_auto2(H5E_DEFAULT, None, std::ptr::null_mut());
    }
    // Only does something in a libnetcdf built with logging; never prints then either. The
    // static libnetcdf (netcdf-src) is built without logging and without this function at all,
    // so calling it there fails the link.
    #[cfg(not(feature = "static-netcdf"))]
    // SAFETY: a plain C call under the libraries' lock.
    unsafe {
        netcdf_sys::nc_set_log_level(netcdf_sys::NC_TURN_OFF_LOGGING);
    }
    QUIET.with(|q| q.set(true));
}

/// Forgets what HDF5 recorded for earlier calls on this thread, so that [`hdf5_stack`] after a
/// failed call reports that call only.
pub(super) fn clear() {
    let _lock = netcdf_sys::libnetcdf_lock.lock();
    // SAFETY: a plain C call under the libraries' lock.
    unsafe {
        H5Eclear2(H5E_DEFAULT);
    }
}

/// HDF5's account of the last failed call on this thread, outermost function first, as
/// `H5Dread(): can't read data; …` (at most four entries); `None` when HDF5 recorded nothing.
pub(super) fn hdf5_stack() -> Option<String> {
    extern "C" fn visit(_n: c_uint, err: *const H5E_error2_t, data: *mut c_void) -> i32 {
        // SAFETY: HDF5 passes a valid entry for the walk's duration, and `data` is the Vec below.
        let (err, lines) = unsafe { (&*err, &mut *(data as *mut Vec<String>)) };
        let text = |p: *const std::ffi::c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: HDF5's strings are NUL-terminated and live as long as the entry.
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        lines.push(format!("{}(): {}", text(err.func_name), text(err.desc)));
        0
    }
    let mut lines: Vec<String> = Vec::new();
    {
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        // SAFETY: the callback only reads the entries and appends to `lines`, which outlives
        // the walk; under the libraries' lock.
        unsafe {
            H5Ewalk2(
                H5E_DEFAULT,
                H5E_direction_t::H5E_WALK_DOWNWARD,
                Some(visit),
                &mut lines as *mut Vec<String> as *mut c_void,
            );
        }
    }
    if lines.is_empty() {
        return None;
    }
    lines.truncate(4);
    Some(lines.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_that_never_touched_netcdf_is_quieted_by_the_first_call() {
        std::thread::spawn(|| {
            assert!(!QUIET.with(Cell::get));
            quiet_thread();
            assert!(QUIET.with(Cell::get));
            let mut func: hdf5_sys::h5e::H5E_auto2_t = None;
            let mut data = std::ptr::null_mut();
            // SAFETY: reads this thread's setting into locals, under the lock.
            let got = unsafe {
                let _lock = netcdf_sys::libnetcdf_lock.lock();
                hdf5_sys::h5e::H5Eget_auto2(H5E_DEFAULT, &mut func, &mut data)
            };
            assert!(got >= 0);
            assert!(func.is_none(), "HDF5 would still print on this thread");
        })
        .join()
        .expect("the thread runs");
    }
}
