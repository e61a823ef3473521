//! A CF/IMOS time series with any number of variables, written as CDL: the file on which the
//! compliance tests show every variable checked alike, and which `scripts/bench-variables.sh`
//! times at thousands of variables (through `examples/many_variables_cdl.rs`), so both judge the
//! same file. Plain `std` only: the example includes this file by path.

use std::fmt::Write;

/// The CDL of a time series of ten samples with `n` variables in all: four coordinates (TIME,
/// LATITUDE, LONGITUDE, NOMINAL_DEPTH), then pairs of a data variable naming the coordinates in
/// `coordinates` and its quality-control variable in `ancillary_variables` (at least one pair).
pub fn many_variables_cdl(n: usize) -> String {
    let pairs = (n.saturating_sub(4) / 2).max(1);
    let mut cdl = String::from(
        r#"netcdf many {
dimensions:
  TIME = 10 ;
variables:
  double TIME(TIME) ;
    TIME:standard_name = "time" ;
    TIME:long_name = "time" ;
    TIME:units = "days since 1950-01-01 00:00:00 UTC" ;
    TIME:calendar = "gregorian" ;
    TIME:axis = "T" ;
  double LATITUDE ;
    LATITUDE:standard_name = "latitude" ;
    LATITUDE:long_name = "latitude" ;
    LATITUDE:units = "degrees_north" ;
    LATITUDE:axis = "Y" ;
  double LONGITUDE ;
    LONGITUDE:standard_name = "longitude" ;
    LONGITUDE:long_name = "longitude" ;
    LONGITUDE:units = "degrees_east" ;
    LONGITUDE:axis = "X" ;
  float NOMINAL_DEPTH ;
    NOMINAL_DEPTH:standard_name = "depth" ;
    NOMINAL_DEPTH:long_name = "nominal depth" ;
    NOMINAL_DEPTH:units = "m" ;
    NOMINAL_DEPTH:positive = "down" ;
    NOMINAL_DEPTH:axis = "Z" ;
"#,
    );
    for i in 0..pairs {
        let _ = write!(
            cdl,
            r#"  float TEMP_{i}(TIME) ;
    TEMP_{i}:standard_name = "sea_water_temperature" ;
    TEMP_{i}:long_name = "sea water temperature {i}" ;
    TEMP_{i}:units = "degrees_Celsius" ;
    TEMP_{i}:_FillValue = 999999.f ;
    TEMP_{i}:coordinates = "TIME LATITUDE LONGITUDE NOMINAL_DEPTH" ;
    TEMP_{i}:ancillary_variables = "TEMP_{i}_quality_control" ;
  byte TEMP_{i}_quality_control(TIME) ;
    TEMP_{i}_quality_control:long_name = "quality flag for sea_water_temperature {i}" ;
    TEMP_{i}_quality_control:standard_name = "sea_water_temperature status_flag" ;
    TEMP_{i}_quality_control:_FillValue = 99b ;
    TEMP_{i}_quality_control:flag_values = 0b, 1b, 4b ;
    TEMP_{i}_quality_control:flag_meanings = "no_qc good bad" ;
"#
        );
    }
    let _ = write!(
        cdl,
        r#"
// global attributes:
    :Conventions = "CF-1.6" ;
    :title = "{n} variables" ;
    :history = "generated with many variables" ;
    :institution = "IMOS" ;
    :featureType = "timeSeries" ;
data:
  TIME = 25567, 25568, 25569, 25570, 25571, 25572, 25573, 25574, 25575, 25576 ;
  LATITUDE = -33.5 ;
  LONGITUDE = 151.25 ;
  NOMINAL_DEPTH = 20 ;
"#
    );
    for i in 0..pairs {
        let _ = writeln!(
            cdl,
            "  TEMP_{i} = 20, 20.1, 20.2, 20.3, 20.4, 20.5, 20.6, 20.7, 20.8, 20.9 ;"
        );
        let _ = writeln!(
            cdl,
            "  TEMP_{i}_quality_control = 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 ;"
        );
    }
    cdl.push_str("}\n");
    cdl
}
