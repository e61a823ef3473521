//! Refuses, before libnetcdf opens it, an HDF5 file whose groups libnetcdf would walk without
//! end.
//!
//! libnetcdf reads every group of a netCDF-4 file when it opens it, following each link to a
//! group, hard or soft, into it: a group that links back to one that contains it (`/a/back` →
//! `/`) makes it recurse until memory runs out (2 GB in ten seconds for a file of a few
//! kilobytes), and groups each linking twice to the next make it walk 2^depth paths. In a job
//! that is an out-of-memory kill, retried, with no report. So the groups are walked here first,
//! as libnetcdf would walk them, with a bound on the depth and on the number of groups visited.

use std::ffi::{CString, c_char, c_void};
use std::path::Path;

use hdf5_sys::h5::{H5_index_t, H5_iter_order_t, herr_t};
use hdf5_sys::h5f::{H5F_ACC_RDONLY, H5Fclose, H5Fopen};
use hdf5_sys::h5g::{H5Gclose, H5Gopen2};
use hdf5_sys::h5i::hid_t;
// HDF5 1.12 deprecates the first version of link iteration; both builds' libraries (1.10 and
// 2.2, with its deprecated functions) have it, where the second version is missing from 1.10.
#[allow(deprecated)]
use hdf5_sys::h5l::{H5L_info1_t, H5Literate1};
use hdf5_sys::h5p::H5P_DEFAULT;

/// Groups nested deeper than this are taken for a cycle: real files nest a few levels.
pub const MAX_GROUP_DEPTH: usize = 64;

/// The most groups a walk of the file may visit (a group reached by two paths counts twice, as
/// libnetcdf reads it twice).
pub const MAX_GROUPS: usize = 100_000;

/// Whether libnetcdf can walk the groups of the file at `path`: `Err` with the reason when they
/// nest deeper than [`MAX_GROUP_DEPTH`] or number more than [`MAX_GROUPS`]. A file HDF5 does not
/// recognise (netCDF classic, or not NetCDF at all) is left to libnetcdf. Call on a thread whose
/// HDF5 error printing is off.
pub(super) fn check(path: &Path) -> Result<(), String> {
    let Some(name) = path.to_str().and_then(|p| CString::new(p).ok()) else {
        return Ok(());
    };
    let _lock = netcdf_sys::libnetcdf_lock.lock();
    // SAFETY: plain C calls under the libraries' lock on a NUL-terminated path; every identifier
    // opened is closed.
    unsafe {
        let file = H5Fopen(name.as_ptr(), H5F_ACC_RDONLY, H5P_DEFAULT);
        if file < 0 {
            return Ok(());
        }
        let result = walk(
            file,
            &mut Walk {
                depth: 0,
                groups: 0,
                refused: None,
            },
        );
        H5Fclose(file);
        result
    }
}

/// Where a walk is: its depth below the root and the groups it has visited, or why it stopped.
struct Walk {
    depth: usize,
    groups: usize,
    refused: Option<String>,
}

/// Visits the groups the links of `group` lead to, counting each visit in `walk`.
///
/// The links are visited in HDF5's own order (`H5Literate`, native order): asking for each
/// link's name by its index instead (`H5Lget_name_by_idx`) makes HDF5 build and sort the group's
/// whole link table on every call, which for a group of 10,000 variables took over a minute.
///
/// # Safety
/// `group` is an open file or group identifier; called under the libraries' lock.
#[allow(deprecated)]
unsafe fn walk(group: hid_t, walk: &mut Walk) -> Result<(), String> {
    let mut index = 0;
    // SAFETY: as the caller's; the visitor gets `walk`, which outlives the iteration.
    unsafe {
        H5Literate1(
            group,
            H5_index_t::H5_INDEX_NAME,
            H5_iter_order_t::H5_ITER_NATIVE,
            &mut index,
            Some(visit),
            (walk as *mut Walk).cast(),
        );
    }
    match walk.refused.take() {
        Some(reason) => Err(reason),
        None => Ok(()),
    }
}

/// One link of a walk: the group it names, if it names one, walked in turn.
extern "C" fn visit(
    group: hid_t,
    name: *const c_char,
    _info: *const H5L_info1_t,
    data: *mut c_void,
) -> herr_t {
    // SAFETY: `data` is the `Walk` of `walk`, for the iteration's duration.
    let walk = unsafe { &mut *(data as *mut Walk) };
    // SAFETY: `name` is NUL-terminated. A link to anything but a group (or to nothing, a
    // dangling soft link, which libnetcdf skips too) does not open as a group. Opening a group
    // by name reads the object's header only, where opening any object would build each
    // dataset's whole state (5 M instructions for the datasets of an ordinary file).
    let inner = unsafe { H5Gopen2(group, name, H5P_DEFAULT) };
    if inner < 0 {
        return 0;
    }
    walk.groups += 1;
    let result = if walk.depth + 1 > MAX_GROUP_DEPTH {
        Err(format!(
            "its groups nest more than {MAX_GROUP_DEPTH} deep: a group links back to one that \
             contains it, which libnetcdf would follow without end"
        ))
    } else if walk.groups > MAX_GROUPS {
        Err(format!(
            "its links reach more than {MAX_GROUPS} groups, which libnetcdf would each read"
        ))
    } else {
        walk.depth += 1;
        // SAFETY: `inner` is an open group; called under the lock `check` holds.
        let inside = unsafe { self::walk(inner, walk) };
        walk.depth -= 1;
        inside
    };
    // SAFETY: `inner` is open, and closed once.
    unsafe { H5Gclose(inner) };
    match result {
        Ok(()) => 0,
        Err(reason) => {
            walk.refused = Some(reason);
            // Stops the iteration here and in every walk above it.
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;
    use std::path::{Path, PathBuf};

    use hdf5_sys::h5f::{H5F_ACC_TRUNC, H5Fclose, H5Fcreate};
    use hdf5_sys::h5g::{H5Gclose, H5Gcreate2};
    use hdf5_sys::h5l::{H5Lcreate_hard, H5Lcreate_soft};
    use hdf5_sys::h5p::H5P_DEFAULT;

    use crate::netcdf::{NcError, NcFile};

    use super::{MAX_GROUP_DEPTH, MAX_GROUPS};

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    /// An HDF5 file with the groups `groups` (parents first), then the links `(target, name,
    /// hard)`.
    fn hdf5_file(dir: &Path, groups: &[&str], links: &[(&str, &str, bool)]) -> PathBuf {
        let path = dir.join("groups.nc");
        let _lock = netcdf_sys::libnetcdf_lock.lock();
        // SAFETY: plain C calls under the libraries' lock on NUL-terminated names; every
        // identifier opened is closed.
        unsafe {
            let file = H5Fcreate(
                c(path.to_str().unwrap()).as_ptr(),
                H5F_ACC_TRUNC,
                H5P_DEFAULT,
                H5P_DEFAULT,
            );
            assert!(file >= 0);
            for g in groups {
                let id = H5Gcreate2(file, c(g).as_ptr(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
                assert!(id >= 0, "{g}");
                H5Gclose(id);
            }
            for (target, name, hard) in links {
                let made = if *hard {
                    H5Lcreate_hard(
                        file,
                        c(target).as_ptr(),
                        file,
                        c(name).as_ptr(),
                        H5P_DEFAULT,
                        H5P_DEFAULT,
                    )
                } else {
                    H5Lcreate_soft(
                        c(target).as_ptr(),
                        file,
                        c(name).as_ptr(),
                        H5P_DEFAULT,
                        H5P_DEFAULT,
                    )
                };
                assert!(made >= 0, "{name}");
            }
            H5Fclose(file);
        }
        path
    }

    fn refusal(path: &Path) -> String {
        match NcFile::open(path) {
            Err(e @ NcError::Invalid { .. }) => e.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_group_linking_back_to_its_parent_is_refused_before_libnetcdf_walks_it() {
        let dir = tempfile::tempdir().unwrap();
        for hard in [true, false] {
            let path = hdf5_file(dir.path(), &["/a", "/a/b"], &[("/", "/a/b/up", hard)]);
            let message = refusal(&path);
            assert!(
                message.starts_with("invalid NetCDF file (its groups nest more than 64 deep"),
                "{message}"
            );
        }
        assert_eq!(MAX_GROUP_DEPTH, 64);
    }

    #[test]
    fn groups_reached_by_exponentially_many_paths_are_refused() {
        // g0 … g20, each linking twice to the next: 2^21 paths to the last.
        let dir = tempfile::tempdir().unwrap();
        let names: Vec<String> = (0..=20).map(|i| format!("/g{i}")).collect();
        let groups: Vec<&str> = names.iter().map(String::as_str).collect();
        let link_names: Vec<(String, String)> = (0..20)
            .flat_map(|i| {
                [
                    (names[i + 1].clone(), format!("{}/x", names[i])),
                    (names[i + 1].clone(), format!("{}/y", names[i])),
                ]
            })
            .collect();
        let links: Vec<(&str, &str, bool)> = link_names
            .iter()
            .map(|(t, n)| (t.as_str(), n.as_str(), true))
            .collect();
        let path = hdf5_file(dir.path(), &groups, &links);
        let message = refusal(&path);
        assert!(
            message.contains(&format!("reach more than {MAX_GROUPS} groups")),
            "{message}"
        );
    }

    #[test]
    fn nested_groups_and_classic_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = hdf5_file(
            dir.path(),
            &["/a", "/a/b", "/a/b/c", "/d"],
            &[("/a/b/c", "/d/same_c", true), ("/a/b", "/d/soft_b", false)],
        );
        let file = NcFile::open(&path).unwrap();
        assert_eq!(file.summary().unwrap().groups, ["a", "d"]);
        let classic = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
        );
        NcFile::open(&classic).unwrap();
    }
}
