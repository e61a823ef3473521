//! Test support for the IMOS and GHRSST rules: a conforming IMOS file as CDL to vary one thing at
//! a time, and one rule's results (on the file read into memory) grouped as the reports group them.

use std::collections::BTreeMap;

use super::{Imos13, Imos14};
use crate::compliance::{Priority, SuiteImpl};

/// Group name and priority → (scored, possible), for groups worth points.
pub type Groups = BTreeMap<(String, Priority), (u32, u32)>;

/// A CDL file from its parts; `data` may be empty.
pub fn cdl(dims: &str, vars: &str, globals: &str, data: &str) -> String {
    format!(
        "netcdf t {{\ndimensions:\n{dims}\nvariables:\n{vars}\n\n// global attributes:\n{globals}\n\
         data:\n{data}\n}}\n"
    )
}

/// A passing IMOS 1.4 time series: TIME, LATITUDE, LONGITUDE, NOMINAL_DEPTH and TEMP with its
/// QC variable, and every mandatory global attribute. Tests change one thing at a time.
pub fn good_1_4() -> (String, String, String, String) {
    let dims = "  TIME = 3 ;".to_string();
    let vars = r#"
  double TIME(TIME) ;
    TIME:standard_name = "time" ;
    TIME:long_name = "time" ;
    TIME:units = "days since 1950-01-01 00:00:00 UTC" ;
    TIME:axis = "T" ;
    TIME:calendar = "gregorian" ;
    TIME:valid_min = 0. ;
    TIME:valid_max = 90000. ;
  double LATITUDE ;
    LATITUDE:standard_name = "latitude" ;
    LATITUDE:long_name = "latitude" ;
    LATITUDE:units = "degrees_north" ;
    LATITUDE:axis = "Y" ;
    LATITUDE:valid_min = -90. ;
    LATITUDE:valid_max = 90. ;
    LATITUDE:reference_datum = "WGS84 coordinate reference system" ;
  double LONGITUDE ;
    LONGITUDE:standard_name = "longitude" ;
    LONGITUDE:long_name = "longitude" ;
    LONGITUDE:units = "degrees_east" ;
    LONGITUDE:axis = "X" ;
    LONGITUDE:valid_min = -180. ;
    LONGITUDE:valid_max = 180. ;
    LONGITUDE:reference_datum = "WGS84 coordinate reference system" ;
  double NOMINAL_DEPTH ;
    NOMINAL_DEPTH:standard_name = "depth" ;
    NOMINAL_DEPTH:long_name = "nominal depth" ;
    NOMINAL_DEPTH:units = "m" ;
    NOMINAL_DEPTH:axis = "Z" ;
    NOMINAL_DEPTH:positive = "down" ;
    NOMINAL_DEPTH:valid_min = -5. ;
    NOMINAL_DEPTH:valid_max = 12000. ;
    NOMINAL_DEPTH:reference_datum = "sea surface" ;
  float TEMP(TIME) ;
    TEMP:standard_name = "sea_water_temperature" ;
    TEMP:long_name = "sea water temperature" ;
    TEMP:units = "degrees_Celsius" ;
    TEMP:_FillValue = 999999.f ;
    TEMP:valid_min = -2.5f ;
    TEMP:valid_max = 40.f ;
    TEMP:coordinates = "TIME LATITUDE LONGITUDE NOMINAL_DEPTH" ;
    TEMP:ancillary_variables = "TEMP_quality_control" ;
  byte TEMP_quality_control(TIME) ;
    TEMP_quality_control:long_name = "quality flag for sea_water_temperature" ;
    TEMP_quality_control:standard_name = "sea_water_temperature status_flag" ;
    TEMP_quality_control:quality_control_conventions = "IMOS standard flags" ;
    TEMP_quality_control:_FillValue = 99b ;
    TEMP_quality_control:valid_min = 0b ;
    TEMP_quality_control:valid_max = 9b ;
    TEMP_quality_control:flag_values = 0b, 1b, 2b ;
    TEMP_quality_control:flag_meanings = "none good probably_good" ;"#
        .to_string();
    let globals = r#"
  :Conventions = "CF-1.6,IMOS-1.4" ;
  :project = "Integrated Marine Observing System (IMOS)" ;
  :naming_authority = "IMOS" ;
  :date_created = "2020-01-01T00:00:00Z" ;
  :title = "A test mooring" ;
  :abstract = "Temperature at a test mooring" ;
  :author = "Ocean Ingest" ;
  :principal_investigator = "A. Scientist" ;
  :citation = "The citation in a list of references is: IMOS [year]" ;
  :data_centre = "Australian Ocean Data Network (AODN)" ;
  :data_centre_email = "info@aodn.org.au" ;
  :disclaimer = "Data, products and services from IMOS are provided \"as is\" without any warranty as to fitness for a particular purpose." ;
  :license = "http://creativecommons.org/licenses/by/4.0/" ;
  :standard_name_vocabulary = "NetCDF Climate and Forecast (CF) Metadata Convention Standard Name Table 45" ;
  :acknowledgement = "Any users of IMOS data are required to clearly acknowledge the source of the material derived from IMOS in the format: \"Data was sourced from Australia's Integrated Marine Observing System (IMOS) - IMOS is enabled by the National Collaborative Research Infrastructure Strategy (NCRIS).\"" ;
  :featureType = "timeSeries" ;
  :geospatial_lat_min = -33.5 ;
  :geospatial_lat_max = -33.5 ;
  :geospatial_lon_min = 151.25 ;
  :geospatial_lon_max = 151.25 ;
  :geospatial_vertical_min = 20. ;
  :geospatial_vertical_max = 20. ;
  :geospatial_vertical_positive = "down" ;
  :geospatial_vertical_units = "m" ;
  :time_coverage_start = "2020-01-01T00:00:00Z" ;
  :time_coverage_end = "2020-01-01T02:00:00Z" ;"#
        .to_string();
    let data = r#"
  TIME = 25567, 25567.0416666667, 25567.0833333333 ;
  LATITUDE = -33.5 ;
  LONGITUDE = 151.25 ;
  NOMINAL_DEPTH = 20 ;
  TEMP = 20.1, 20.2, 20.3 ;
  TEMP_quality_control = 1, 1, 1 ;"#
        .to_string();
    (dims, vars, globals, data)
}

/// The passing file with `edit` applied to its (dims, vars, globals, data).
pub fn good_with(edit: impl FnOnce(&mut (String, String, String, String))) -> String {
    let mut parts = good_1_4();
    edit(&mut parts);
    let (d, v, g, x) = parts;
    cdl(&d, &v, &g, &x)
}

/// Replaces one line (matched exactly after trimming) of a CDL part, or removes it with "".
pub fn replace_line(part: &mut String, line: &str, with: &str) {
    let before = part.clone();
    *part = part
        .lines()
        .filter_map(|l| {
            if l.trim() == line {
                (!with.is_empty()).then(|| format!("    {with}"))
            } else {
                Some(l.to_string())
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(
        &before, part,
        "no line {line:?} to replace in the test file"
    );
}

/// Runs one rule of a suite over the file `cdl` describes.
pub fn run_rule(
    suite: &dyn SuiteImpl,
    rule: &str,
    cdl: &str,
) -> Result<Vec<crate::compliance::CheckResult>, String> {
    crate::compliance::testing::run_rule_on_cdl(suite, rule, cdl)
}

/// One rule's results summed per group, as the reports show them (groups worth no points left
/// out).
pub fn groups(suite: &dyn SuiteImpl, rule: &str, cdl: &str) -> Groups {
    let results = run_rule(suite, rule, cdl).unwrap_or_else(|e| panic!("{rule} failed: {e}"));
    let mut out = Groups::new();
    for r in results.into_iter().filter(|r| r.possible > 0) {
        let g = out.entry((r.name, r.priority)).or_default();
        g.0 += r.scored;
        g.1 += r.possible;
    }
    out
}

/// One rule's groups on a file, asserted to be the same in IMOS 1.3 and 1.4: for rules both
/// versions share, so that each suite is seen to run its rule.
pub fn groups_1_3_and_1_4(rule: &str, cdl: &str) -> Groups {
    let got = groups(&Imos14, rule, cdl);
    assert_eq!(
        groups(&Imos13, rule, cdl),
        got,
        "IMOS 1.3 and 1.4 judge {rule} differently"
    );
    got
}

/// Builds expected groups: `[("TIME", High, 1, 2), …]`.
pub fn expect(list: &[(&str, Priority, u32, u32)]) -> Groups {
    list.iter()
        .map(|(n, p, s, t)| ((n.to_string(), *p), (*s, *t)))
        .collect()
}
