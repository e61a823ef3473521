//! Reads a NetCDF file's header through the libnetcdf this build links and nothing else: the
//! floor `scripts/bench-variables.sh` times beside `check`, for the static build (whose
//! libnetcdf and HDF5 are not the system's, so `ncdump -h` is not its floor).
//!
//! It asks libnetcdf what `check` asks of every header (dimensions; each variable's name, type,
//! dimensions and every attribute's value; the global attributes), then closes the file, and
//! prints the counts (`variables 10000 attributes 55001` on the 10,000-variable file of
//! `scripts/bench-variables.sh`).

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args_os().nth(1) else {
        eprintln!("usage: netcdf_header FILE");
        return ExitCode::from(2);
    };
    match read(std::path::Path::new(&path)) {
        Ok((variables, attributes)) => {
            println!("variables {variables} attributes {attributes}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}: {e}", path.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}

/// The numbers of variables and of attributes (global ones included) read.
fn read(path: &std::path::Path) -> Result<(usize, usize), netcdf::Error> {
    let file = netcdf::open(path)?;
    let mut dimensions = 0;
    for d in file.dimensions() {
        dimensions += d.name().len() + d.len() + usize::from(d.is_unlimited());
    }
    let mut variables = 0;
    let mut attributes = 0;
    for v in file.variables() {
        let _ = (v.name(), v.vartype());
        for d in v.dimensions() {
            let _ = (d.name(), d.len());
        }
        for a in v.attributes() {
            let _ = (a.name(), a.value()?);
            attributes += 1;
        }
        variables += 1;
    }
    for a in file.attributes() {
        let _ = (a.name(), a.value()?);
        attributes += 1;
    }
    std::hint::black_box(dimensions);
    Ok((variables, attributes))
}
