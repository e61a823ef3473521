//! Unit tests of the CF rules on small NetCDF files written as CDL in the test: a compliant
//! time series (and a compliant grid for the grid rules), then one defect at a time, each failing
//! the group the reference fails. Every rule of the suite has a test that fails without it.

use crate::compliance::Priority::{High, Low, Medium};
use crate::compliance::testing::{check_cdl, check_cdl_named, failed, group};
use crate::compliance::{Priority, SuiteReport};

const GOOD: &str = r#"netcdf good {
dimensions:
    TIME = 3 ;
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
    float TEMP(TIME) ;
        TEMP:standard_name = "sea_water_temperature" ;
        TEMP:long_name = "sea water temperature" ;
        TEMP:units = "degrees_Celsius" ;
        TEMP:_FillValue = 999999.f ;
        TEMP:valid_min = -2.5f ;
        TEMP:valid_max = 40.f ;
        TEMP:coordinates = "TIME LATITUDE LONGITUDE NOMINAL_DEPTH" ;
        TEMP:ancillary_variables = "TEMP_quality_control" ;
        TEMP:cell_methods = "TIME: mean" ;
    byte TEMP_quality_control(TIME) ;
        TEMP_quality_control:long_name = "quality flag for sea water temperature" ;
        TEMP_quality_control:standard_name = "sea_water_temperature status_flag" ;
        TEMP_quality_control:_FillValue = 99b ;
        TEMP_quality_control:flag_values = 0b, 1b, 2b ;
        TEMP_quality_control:flag_meanings = "no_qc good bad" ;

// global attributes:
        :Conventions = "CF-1.6,IMOS-1.4" ;
        :title = "a test time series" ;
        :history = "made in a test" ;
        :institution = "IMOS" ;
        :featureType = "timeSeries" ;
data:
    TIME = 1, 2, 3 ;
    TEMP = 10, 11, 12 ;
    TEMP_quality_control = 1, 1, 1 ;
}
"#;

fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "the base CDL has {from:?}");
    GOOD.replacen(from, to, 1)
}

#[test]
fn a_compliant_time_series_passes_every_group() {
    let r = check_cdl(GOOD, "cf:1.6", &[]);
    let lost: Vec<_> = r.groups.iter().filter(|g| !g.passed()).collect();
    assert!(lost.is_empty(), "{lost:#?}");
    assert!(r.passed && r.errors.is_empty());
    assert!(group(&r, "§2.1 Filename", High).is_some());
    assert!(group(&r, "§9.1 Features and feature types", Medium).is_some());
}

#[test]
fn data_types_outside_cf_1_6_fail_section_2_2() {
    let r = check_cdl(
        &with("float TEMP(TIME)", "uint64 TEMP(TIME)")
            .replace("999999.f", "999999UL")
            .replace("-2.5f", "0UL")
            .replace("40.f", "40UL"),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.2 Data Types", High));
}

#[test]
fn names_not_starting_with_a_letter_fail_section_2_3() {
    let r = check_cdl(
        &with(
            "        :institution",
            "        :_private = \"x\" ;\n        :institution",
        ),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.3 Naming Conventions", Medium));
}

#[test]
fn a_fill_value_inside_the_valid_range_fails_section_2_5() {
    let r = check_cdl(
        &with("TEMP:_FillValue = 999999.f", "TEMP:_FillValue = 20.f"),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.5 Variables", Medium));
}

#[test]
fn attributes_not_of_the_variable_type_fail_section_2_5() {
    let r = check_cdl(
        &with("TEMP:valid_min = -2.5f", "TEMP:valid_min = -2.5"),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.5 Variables", Medium));
}

#[test]
fn conventions_without_cf_1_6_fail_section_2_6() {
    let r = check_cdl(&with("CF-1.6,IMOS-1.4", "IMOS-1.4"), "cf:1.6", &[]);
    assert!(failed(&r, "§2.6 Attributes", Medium));
    let r = check_cdl(
        &with(":title = \"a test time series\" ;", ""),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.6 Attributes", Medium));
}

#[test]
fn units_udunits_refuses_fail_section_3_1_and_score_the_reference_units_group() {
    let r = check_cdl(&with("\"degrees_Celsius\"", "\"psu\""), "cf:1.6", &[]);
    assert!(failed(&r, "§3.1 Units", High));
    // The reference returns its context instead of a result here: a passing MEDIUM "units".
    let g = group(&r, "units", Medium).expect("the reference's quirk group");
    assert_eq!((g.scored, g.possible), (1, 1));
}

#[test]
fn units_not_convertible_to_the_canonical_units_fail_section_3_1() {
    let r = check_cdl(&with("\"degrees_Celsius\"", "\"m s-1\""), "cf:1.6", &[]);
    assert!(failed(&r, "§3.1 Units", High));
}

#[test]
fn unknown_standard_names_fail_section_3_3() {
    let r = check_cdl(
        &with("\"sea_water_temperature\" ;", "\"sea_water_temprature\" ;"),
        "cf:1.6",
        &[],
    );
    let g = group(&r, "§3.3 Standard Name", High).unwrap();
    assert!(!g.passed());
    assert!(
        g.messages
            .iter()
            .any(|m| m.contains("sea_water_temperature")),
        "{g:?}"
    );
}

#[test]
fn missing_ancillary_variables_fail_section_3_4() {
    let r = check_cdl(
        &with("\"TEMP_quality_control\" ;", "\"TEMP_qc\" ;"),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§3.4 Ancillary Data", High));
}

#[test]
fn flag_meanings_and_values_of_different_lengths_fail_section_3_5() {
    let r = check_cdl(&with("\"no_qc good bad\"", "\"no_qc good\""), "cf:1.6", &[]);
    assert!(failed(&r, "§3.5 Flags", High));
}

#[test]
fn text_flag_values_fail_the_rule_where_the_reference_crashes() {
    let r = check_cdl(
        &with("flag_values = 0b, 1b, 2b", "flag_values = \"0 1 2\""),
        "cf:1.6",
        &[],
    );
    assert!(!r.passed);
    assert!(
        r.errors.iter().any(|e| e.starts_with("check_flags:")),
        "{:?}",
        r.errors
    );
}

#[test]
fn an_empty_axis_fails_section_4() {
    let r = check_cdl(
        &with("NOMINAL_DEPTH:axis = \"Z\"", "NOMINAL_DEPTH:axis = \"\""),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§4 Coordinate Types", High));
}

#[test]
fn latitude_units_that_are_not_north_degrees_fail_section_4_1() {
    let r = check_cdl(&with("\"degrees_north\"", "\"degrees\""), "cf:1.6", &[]);
    assert!(failed(&r, "§4.1 Latitude Coordinate", Medium));
    assert!(
        group(&r, "§4.1 Latitude Coordinate", Low).is_some(),
        "the recommendation"
    );
}

#[test]
fn a_vertical_coordinate_without_positive_fails_section_4_3() {
    let r = check_cdl(
        &with("NOMINAL_DEPTH:positive = \"down\" ;", ""),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§4.3 Vertical Coordinate", High));
}

#[test]
fn time_without_a_reference_and_odd_calendars_fail_section_4_4() {
    let r = check_cdl(
        &with("\"days since 1950-01-01 00:00:00 UTC\"", "\"days\""),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§4.4 Time Coordinate", High));
    // A calendar outside the list needs month_lengths (case matters, as in the reference).
    let r = check_cdl(&with("\"gregorian\"", "\"Gregorian\""), "cf:1.6", &[]);
    assert!(failed(&r, "§4.4 Time Coordinate", High));
}

#[test]
fn auxiliary_coordinates_that_do_not_exist_fail_section_5() {
    let r = check_cdl(
        &with(
            "NOMINAL_DEPTH\" ;\n        TEMP:ancillary",
            "NOMINAL_DEPTH PRES\" ;\n        TEMP:ancillary",
        ),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§5 Coordinate Systems", High));
}

#[test]
fn invalid_cell_methods_fail_section_7_3() {
    let r = check_cdl(&with("\"TIME: mean\"", "\"TIME: average\""), "cf:1.6", &[]);
    assert!(failed(&r, "§7.3 Cell Methods", Medium));
}

#[test]
fn packed_data_of_the_wrong_types_fail_section_8_1() {
    let r = check_cdl(
        &with(
            "TEMP:cell_methods",
            "TEMP:scale_factor = 2 ;\n        TEMP:cell_methods",
        ),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§8.1 Packed Data", Medium));
}

#[test]
fn an_unknown_feature_type_fails_section_9_1() {
    let r = check_cdl(&with("\"timeSeries\"", "\"timeseriesX\""), "cf:1.6", &[]);
    assert!(failed(
        &r,
        "§9.1 Dataset contains a valid featureType",
        High
    ));
    let r = check_cdl(&with("\"timeSeries\"", "\"profile\""), "cf:1.6", &[]);
    assert!(failed(&r, "§9.1 Features and feature types", Medium));
}

#[test]
fn skip_checks_skip_a_rule_or_its_lower_priorities_as_the_reference() {
    let bad = with("\"sea_water_temperature\" ;", "\"sea_water_temprature\" ;");
    let r = check_cdl(&bad, "cf:1.6", &["check_standard_name"]);
    assert!(group(&r, "§3.3 Standard Name", High).is_none());
    let r = check_cdl(&bad, "cf:1.6", &["check_standard_name:A"]);
    assert!(group(&r, "§3.3 Standard Name", High).is_none());
    // :M keeps only HIGH results; :L drops only LOW ones.
    let lat = with("\"degrees_north\"", "\"degrees\"");
    let r = check_cdl(&lat, "cf:1.6", &["check_latitude:M"]);
    assert!(group(&r, "§4.1 Latitude Coordinate", High).is_some());
    assert!(group(&r, "§4.1 Latitude Coordinate", Medium).is_none());
    let r = check_cdl(&lat, "cf:1.6", &["check_latitude:L"]);
    assert!(group(&r, "§4.1 Latitude Coordinate", Medium).is_some());
    assert!(group(&r, "§4.1 Latitude Coordinate", Low).is_none());
    // Other names leave the rule alone.
    let r = check_cdl(&bad, "cf:1.6", &["standard_name"]);
    assert!(failed(&r, "§3.3 Standard Name", High));
}

#[test]
fn spatio_temporal_dimensions_out_of_order_fail_section_2_4() {
    let cdl = with("    TIME = 3 ;", "    TIME = 3 ;\n    DEPTH = 2 ;")
        .replace(
            "    byte TEMP_quality_control(TIME) ;",
            "    double DEPTH(DEPTH) ;\n        DEPTH:standard_name = \"depth\" ;\n        DEPTH:long_name = \"depth\" ;\n        DEPTH:units = \"m\" ;\n        DEPTH:positive = \"down\" ;\n        DEPTH:axis = \"Z\" ;\n    float PSAL(DEPTH, TIME) ;\n        PSAL:standard_name = \"sea_water_practical_salinity\" ;\n        PSAL:long_name = \"salinity\" ;\n        PSAL:units = \"1\" ;\n    byte TEMP_quality_control(TIME) ;",
        );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let g = group(&r, "§2.4 Dimensions", Medium).unwrap();
    assert!(!g.passed());
    assert!(g.messages.iter().any(|m| m.starts_with("PSAL's")), "{g:?}");
}

#[test]
fn boundary_variables_of_the_wrong_shape_fail_section_7_1() {
    let cdl = with(
        "        TIME:axis = \"T\" ;",
        "        TIME:axis = \"T\" ;\n        TIME:bounds = \"TIME_bnds\" ;",
    )
    .replace(
        "    double LATITUDE ;",
        "    double TIME_bnds(TIME) ;\n    double LATITUDE ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    assert!(failed(&r, "§7.1 Cell Boundaries", Medium));
}

#[test]
fn a_variable_named_like_bounds_gets_the_low_priority_hint() {
    let cdl = with(
        "    double LATITUDE ;",
        "    double TIME_bounds(TIME) ;\n    double LATITUDE ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let hint = group(&r, "§7.1 Cell Boundaries", Low).expect("the hint");
    assert!(hint.passed() && hint.messages[0].contains("TIME_bounds"));
}

#[test]
fn unknown_cf_roles_fail_section_9_5() {
    let cdl = with(
        "    double LATITUDE ;",
        "    int station ;\n        station:cf_role = \"station_id\" ;\n        station:long_name = \"station\" ;\n    double LATITUDE ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    assert!(failed(&r, "§9.5 Coordinates and metadata", High));
}

#[test]
fn grid_mappings_are_checked_against_appendix_f() {
    let cdl = with(
        "        TEMP:cell_methods",
        "        TEMP:grid_mapping = \"crs\" ;\n        TEMP:cell_methods",
    )
    .replace(
        "    double LATITUDE ;",
        "    int crs ;\n        crs:grid_mapping_name = \"latitude_longitude\" ;\n    double LATITUDE ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let g = group(
        &r,
        "§5.6 Horizontal Coordinate Reference Systems, Grid Mappings, Projections",
        High,
    )
    .unwrap();
    assert!(g.passed(), "{g:?}");
    let r = check_cdl(
        &cdl.replace("\"latitude_longitude\"", "\"plate_carree\""),
        "cf:1.6",
        &[],
    );
    assert!(failed(
        &r,
        "§5.6 Horizontal Coordinate Reference Systems, Grid Mappings, Projections",
        High
    ));
}

#[test]
fn compression_indices_must_be_integers_naming_dimensions_section_8_2() {
    let cdl = with(
        "    double LATITUDE ;",
        "    float landpoint(TIME) ;\n        landpoint:compress = \"lat lon\" ;\n        landpoint:long_name = \"packed index\" ;\n    double LATITUDE ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let g = group(&r, "§8.2 Compression by Gathering", Medium).unwrap();
    assert!(!g.passed());
    assert_eq!(g.messages.len(), 2, "{g:?}");
}

#[test]
fn several_axis_coordinates_of_one_kind_fail_section_5() {
    let cdl = with(
        "    double LONGITUDE ;",
        "    double LAT2 ;\n        LAT2:standard_name = \"latitude\" ;\n        LAT2:long_name = \"latitude\" ;\n        LAT2:units = \"degrees_north\" ;\n        LAT2:axis = \"Y\" ;\n    double LONGITUDE ;",
    )
    .replace("\"TIME LATITUDE LONGITUDE NOMINAL_DEPTH\"", "\"TIME LATITUDE LAT2 LONGITUDE NOMINAL_DEPTH\"");
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let g = group(&r, "§5 Coordinate Systems", High).unwrap();
    assert!(
        g.messages.iter().any(|m| m.contains("duplicate axis Y")),
        "{g:?}"
    );
}

/// The points a group scored, and the points it was worth.
fn points(r: &SuiteReport, name: &str, p: Priority) -> (u32, u32) {
    let g = group(r, name, p).unwrap_or_else(|| panic!("no group {name} at {p:?}: {r:#?}"));
    (g.scored, g.possible)
}

/// Whether some message of a group contains `text`.
fn says(r: &SuiteReport, name: &str, p: Priority, text: &str) -> bool {
    group(r, name, p).is_some_and(|g| g.messages.iter().any(|m| m.contains(text)))
}

#[test]
fn a_file_name_not_ending_in_nc_fails_section_2_1() {
    let r = check_cdl_named(GOOD, "test.cdf", "cf:1.6", &[]);
    assert_eq!(points(&r, "§2.1 Filename", High), (0, 1));
    assert!(says(&r, "§2.1 Filename", High, "test.cdf"), "{r:#?}");
}

#[test]
fn variable_names_differing_only_in_case_fail_section_2_3() {
    let r = check_cdl(
        &with(
            "    byte TEMP_quality_control(TIME) ;",
            "    float temp(TIME) ;\n        temp:long_name = \"a second temperature\" ;\n    byte TEMP_quality_control(TIME) ;",
        ),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§2.3 Naming Conventions", Medium));
    assert!(
        says(
            &r,
            "§2.3 Naming Conventions",
            Medium,
            "Duplicate variables named: temp"
        ),
        "{r:#?}"
    );
}

#[test]
fn a_variable_using_one_dimension_twice_fails_section_2_4() {
    let r = check_cdl(
        &with(
            "    byte TEMP_quality_control(TIME) ;",
            "    float COV(TIME, TIME) ;\n        COV:long_name = \"temperature covariance\" ;\n        COV:units = \"K2\" ;\n    byte TEMP_quality_control(TIME) ;",
        ),
        "cf:1.6",
        &[],
    );
    // Seven variables, one of which repeats a dimension.
    assert_eq!(points(&r, "§2.4 Dimensions", High), (6, 7));
    assert!(
        says(
            &r,
            "§2.4 Dimensions",
            High,
            "COV has two or more dimensions named TIME"
        ),
        "{r:#?}"
    );
}

#[test]
fn an_empty_institution_or_variable_comment_fails_section_2_6() {
    let r = check_cdl(
        &with(":institution = \"IMOS\"", ":institution = \"\""),
        "cf:1.6",
        &[],
    );
    // title and history (2), Conventions (1), institution (0 of 1).
    assert_eq!(points(&r, "§2.6 Attributes", Medium), (3, 4));
    assert!(
        says(
            &r,
            "§2.6 Attributes",
            Medium,
            "institution global attribute should be a non-empty string"
        ),
        "{r:#?}"
    );
    let r = check_cdl(
        &with(
            "TEMP:cell_methods",
            "TEMP:comment = 1 ;\n        TEMP:cell_methods",
        ),
        "cf:1.6",
        &[],
    );
    assert_eq!(points(&r, "§2.6 Attributes", Medium), (4, 5));
    assert!(says(
        &r,
        "§2.6 Attributes",
        Medium,
        "TEMP:comment should be a non-empty string"
    ));
}

#[test]
fn longitude_units_that_are_not_east_degrees_fail_section_4_2() {
    let r = check_cdl(&with("\"degrees_east\"", "\"degrees\""), "cf:1.6", &[]);
    // Units defined (HIGH) but not valid for longitude (MEDIUM); the LOW recommendation.
    assert_eq!(points(&r, "§4.2 Longitude Coordinate", High), (1, 1));
    assert_eq!(points(&r, "§4.2 Longitude Coordinate", Medium), (1, 2));
    assert!(group(&r, "§4.2 Longitude Coordinate", Low).is_some());
    let r = check_cdl(
        &with("LONGITUDE:units = \"degrees_east\" ;", ""),
        "cf:1.6",
        &[],
    );
    assert!(failed(&r, "§4.2 Longitude Coordinate", High));
}

/// A dimensionless (sigma) vertical coordinate beside the dimensional nominal depth.
fn with_sigma(extra: &str) -> String {
    with(
        "    float TEMP(TIME) ;",
        &format!(
            "    double sigma ;\n        sigma:standard_name = \"ocean_sigma_coordinate\" ;\n        sigma:long_name = \"sigma\" ;\n        sigma:units = \"1\" ;\n        sigma:positive = \"up\" ;\n{extra}    float TEMP(TIME) ;"
        ),
    )
}

#[test]
fn a_dimensionless_vertical_coordinate_without_valid_formula_terms_fails_section_4_3() {
    let r = check_cdl(&with_sigma(""), "cf:1.6", &[]);
    // NOMINAL_DEPTH's units and positive (2 of 2), sigma's missing formula_terms (0 of 1).
    assert_eq!(points(&r, "§4.3 Vertical Coordinate", High), (2, 3));
    assert!(
        says(
            &r,
            "§4.3 Vertical Coordinate",
            High,
            "sigma's formula_terms is a required attribute"
        ),
        "{r:#?}"
    );
    assert_eq!(points(&r, "§4.3 Vertical Coordinate", Low), (1, 1));
    // Terms naming variables the file lacks.
    let r = check_cdl(
        &with_sigma("        sigma:formula_terms = \"sigma: sigma eta: eta depth: depth\" ;\n"),
        "cf:1.6",
        &[],
    );
    // Non-empty, well formed, a known name with its terms; only the variables are missing.
    assert_eq!(points(&r, "§4.3 Vertical Coordinate", High), (6, 7));
    assert!(
        says(
            &r,
            "§4.3 Vertical Coordinate",
            High,
            "not present in the dataset: depth, eta"
        ),
        "{r:#?}"
    );
    // Deprecated units are the LOW finding.
    let r = check_cdl(
        &with_sigma("").replace("sigma:units = \"1\"", "sigma:units = \"level\""),
        "cf:1.6",
        &[],
    );
    assert_eq!(points(&r, "§4.3 Vertical Coordinate", Low), (0, 1));
}

#[test]
fn a_multidimensional_coordinate_named_like_its_dimension_fails_section_5() {
    let cdl = with("    TIME = 3 ;", "    TIME = 3 ;\n    DEPTH = 2 ;").replace(
        "    float TEMP(TIME) ;",
        "    double DEPTH(TIME, DEPTH) ;\n        DEPTH:standard_name = \"depth\" ;\n        DEPTH:long_name = \"depth\" ;\n        DEPTH:units = \"m\" ;\n        DEPTH:positive = \"down\" ;\n    float TEMP(TIME) ;",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    assert_eq!(points(&r, "§5 Coordinate Systems", Medium), (0, 1));
    assert!(
        says(
            &r,
            "§5 Coordinate Systems",
            Medium,
            "DEPTH shares the same name as one of its dimensions"
        ),
        "{r:#?}"
    );
}

/// A compliant gridded file: sea surface temperature on time, latitude and longitude.
const GRID: &str = r#"netcdf grid {
dimensions:
    TIME = 2 ;
    LATITUDE = 2 ;
    LONGITUDE = 3 ;
variables:
    double TIME(TIME) ;
        TIME:standard_name = "time" ;
        TIME:long_name = "time" ;
        TIME:units = "days since 1950-01-01 00:00:00 UTC" ;
        TIME:calendar = "gregorian" ;
        TIME:axis = "T" ;
    double LATITUDE(LATITUDE) ;
        LATITUDE:standard_name = "latitude" ;
        LATITUDE:long_name = "latitude" ;
        LATITUDE:units = "degrees_north" ;
        LATITUDE:axis = "Y" ;
    double LONGITUDE(LONGITUDE) ;
        LONGITUDE:standard_name = "longitude" ;
        LONGITUDE:long_name = "longitude" ;
        LONGITUDE:units = "degrees_east" ;
        LONGITUDE:axis = "X" ;
    float SST(TIME, LATITUDE, LONGITUDE) ;
        SST:standard_name = "sea_surface_temperature" ;
        SST:long_name = "sea surface temperature" ;
        SST:units = "degrees_Celsius" ;
        SST:_FillValue = 999999.f ;

// global attributes:
        :Conventions = "CF-1.6" ;
        :title = "a test grid" ;
        :history = "made in a test" ;
        :institution = "IMOS" ;
data:
    TIME = 1, 2 ;
    LATITUDE = -34, -33 ;
    LONGITUDE = 150, 151, 152 ;
}
"#;

fn grid_with(from: &str, to: &str) -> String {
    assert!(GRID.contains(from), "the grid CDL has {from:?}");
    GRID.replacen(from, to, 1)
}

#[test]
fn a_compliant_grid_passes_every_group() {
    let r = check_cdl(GRID, "cf:1.6", &[]);
    let lost: Vec<_> = r.groups.iter().filter(|g| !g.passed()).collect();
    assert!(lost.is_empty(), "{lost:#?}");
    assert!(r.passed && r.errors.is_empty());
    // SST is a regular grid on true latitude and longitude.
    assert_eq!(
        points(
            &r,
            "§5.6 Horizontal Coordinate Reference Systems, Grid Mappings, Projections",
            High
        ),
        (2, 2)
    );
}

#[test]
fn a_grid_without_true_latitude_fails_section_5_6() {
    let cdl = grid_with(
        "LATITUDE:standard_name = \"latitude\"",
        "LATITUDE:standard_name = \"grid_latitude\"",
    )
    .replace(
        "LATITUDE:units = \"degrees_north\"",
        "LATITUDE:units = \"degrees\"",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    let section = "§5.6 Horizontal Coordinate Reference Systems, Grid Mappings, Projections";
    assert_eq!(points(&r, section, High), (1, 2));
    assert!(
        says(
            &r,
            section,
            High,
            "SST's coordinate variable \"LATITUDE\" is not one of the variables identifying true latitude/longitude"
        ),
        "{r:#?}"
    );
}

#[test]
fn a_reduced_grid_variable_without_coordinates_fails_section_5_3() {
    let cdl = grid_with("    LONGITUDE = 3 ;", "    LONGITUDE = 3 ;\n    rgrid = 4 ;").replace(
        "    float SST(",
        "    int rgrid(rgrid) ;\n        rgrid:compress = \"LATITUDE LONGITUDE\" ;\n        rgrid:long_name = \"reduced grid index\" ;\n    float PS(rgrid) ;\n        PS:standard_name = \"surface_air_pressure\" ;\n        PS:long_name = \"surface pressure\" ;\n        PS:units = \"Pa\" ;\n    float SST(",
    );
    let r = check_cdl(&cdl, "cf:1.6", &[]);
    assert_eq!(points(&r, "§5.3 Reduced Horizontal Grid", High), (0, 1));
    assert!(
        says(
            &r,
            "§5.3 Reduced Horizontal Grid",
            High,
            "reduced grid feature PS must define coordinates attribute"
        ),
        "{r:#?}"
    );
}

/// GOOD with a region label variable holding `region`.
fn with_region(region: &str) -> String {
    with("    TIME = 3 ;", "    TIME = 3 ;\n    name_strlen = 16 ;")
        .replace(
            "    byte TEMP_quality_control(TIME) ;",
            "    char region(name_strlen) ;\n        region:standard_name = \"region\" ;\n        region:long_name = \"region\" ;\n    byte TEMP_quality_control(TIME) ;",
        )
        .replace(
            "    TEMP_quality_control = 1, 1, 1 ;",
            &format!("    TEMP_quality_control = 1, 1, 1 ;\n    region = \"{region}\" ;"),
        )
}

#[test]
fn a_region_outside_the_cf_region_list_fails_section_6_1() {
    let r = check_cdl(&with_region("atlantis"), "cf:1.6", &[]);
    assert_eq!(points(&r, "§6.1 Labels", Medium), (0, 1));
    assert!(says(
        &r,
        "§6.1 Labels",
        Medium,
        "'atlantis' specified by 'region' is not a valid region"
    ));
    let r = check_cdl(&with_region("Pacific_Ocean"), "cf:1.6", &[]);
    assert_eq!(points(&r, "§6.1 Labels", Medium), (1, 1));
}

#[test]
fn cell_measures_naming_a_missing_variable_fail_section_7_2() {
    let r = check_cdl(
        &with(
            "TEMP:cell_methods",
            "TEMP:cell_measures = \"area: cell_area\" ;\n        TEMP:cell_methods",
        ),
        "cf:1.6",
        &[],
    );
    assert_eq!(points(&r, "§7.2 Cell Measures", Medium), (0, 1));
    assert!(says(
        &r,
        "§7.2 Cell Measures",
        Medium,
        "Cell measure variable cell_area referred to by TEMP is not present"
    ));
    let r = check_cdl(
        &with(
            "TEMP:cell_methods",
            "TEMP:cell_measures = \"area cell_area\" ;\n        TEMP:cell_methods",
        ),
        "cf:1.6",
        &[],
    );
    assert!(says(
        &r,
        "§7.2 Cell Measures",
        Medium,
        "is formatted incorrectly"
    ));
}

/// GOOD with a climatological time axis and TEMP's cell_methods set to `methods`.
fn with_climatology(methods: &str) -> String {
    with("    TIME = 3 ;", "    TIME = 3 ;\n    nv = 2 ;")
        .replace(
            "        TIME:axis = \"T\" ;",
            "        TIME:axis = \"T\" ;\n        TIME:climatology = \"climatology_bounds\" ;\n    double climatology_bounds(TIME, nv) ;",
        )
        .replace("\"TIME: mean\"", &format!("\"{methods}\""))
}

#[test]
fn cell_methods_of_a_climatological_variable_not_in_climatology_form_fail_section_7_4() {
    let r = check_cdl(&with_climatology("TIME: mean"), "cf:1.6", &[]);
    assert_eq!(points(&r, "§7.4 Climatological Statistics", Medium), (0, 1));
    assert!(says(
        &r,
        "§7.4 Climatological Statistics",
        Medium,
        "format is not correct in variable TEMP"
    ));
    let r = check_cdl(
        &with_climatology("time: mean within days time: mean over days"),
        "cf:1.6",
        &[],
    );
    assert_eq!(points(&r, "§7.4 Climatological Statistics", Medium), (1, 1));
}

/// GOOD with TEMP packed as shorts: `scale_factor` and `add_offset` as given.
fn packed(scale_factor: &str, add_offset: &str) -> String {
    with("float TEMP(TIME)", "short TEMP(TIME)")
        .replace("TEMP:_FillValue = 999999.f", "TEMP:_FillValue = 32767s")
        .replace("TEMP:valid_min = -2.5f", "TEMP:valid_min = -250s")
        .replace("TEMP:valid_max = 40.f", "TEMP:valid_max = 4000s")
        .replace(
            "TEMP:cell_methods",
            &format!(
                "TEMP:scale_factor = {scale_factor} ;\n        TEMP:add_offset = {add_offset} ;\n        TEMP:cell_methods"
            ),
        )
}

#[test]
fn packed_data_is_checked_by_two_rules_of_section_8_1() {
    let r = check_cdl(&packed("0.01f", "10.f"), "cf:1.6", &[]);
    // Both types agree (1), each attribute suits a short (2); the same types (1), the
    // fill value and valid range of the variable's type (1).
    assert_eq!(points(&r, "§8.1 Packed Data", Medium), (5, 5));
    // A double offset with a float scale: both rules object once each.
    let r = check_cdl(&packed("0.01f", "10."), "cf:1.6", &[]);
    assert_eq!(points(&r, "§8.1 Packed Data", Medium), (3, 5));
    assert!(says(
        &r,
        "§8.1 Packed Data",
        Medium,
        "When both scale_factor and add_offset are supplied for variable TEMP, they must have the same type"
    ));
    assert!(says(
        &r,
        "§8.1 Packed Data",
        Medium,
        "Attributes add_offset and scale_factor have different data type."
    ));
}

#[test]
fn a_packed_variable_whose_valid_range_is_not_of_its_type_fails_section_8_1() {
    let r = check_cdl(
        &packed("0.01f", "10.f").replace("TEMP:valid_min = -250s", "TEMP:valid_min = -2.5f"),
        "cf:1.6",
        &[],
    );
    assert_eq!(points(&r, "§8.1 Packed Data", Medium), (4, 5));
    assert!(says(
        &r,
        "§8.1 Packed Data",
        Medium,
        "Type of TEMP:valid_min attribute (float) does not match variable type (short)"
    ));
}

#[test]
fn every_variable_of_a_file_with_many_variables_is_checked_alike() {
    use crate::compliance::testing::many_variables_cdl;
    // 5, 10 and 15 pairs of a data variable and its flags: each pair adds the same points, and
    // the file stays compliant, so no variable is lost or judged against another's neighbours.
    let [r5, r10, r15] = [14, 24, 34].map(|n| check_cdl(&many_variables_cdl(n), "cf:1.6", &[]));
    for r in [&r5, &r10, &r15] {
        assert!(r.passed && r.errors.is_empty(), "{r:?}");
        assert_eq!(r.scored, r.possible, "{r:?}");
    }
    let per_five_pairs = r10.possible - r5.possible;
    assert!(per_five_pairs > 0);
    assert_eq!(r15.possible - r10.possible, per_five_pairs);
}

#[test]
fn every_rule_of_a_dataset_sees_the_one_classification_made_for_it() {
    use super::model::{Classes, Model};
    use crate::compliance::Dataset;
    use crate::compliance::testing::cdl;

    let file = cdl::parse(GOOD);
    let ds = Dataset::new("t.nc", &file.summary, &file.values);
    let first = Model::new(&ds);
    let second = Model::new(&ds);
    assert!(
        std::ptr::eq::<Classes>(&*first, &*second),
        "the second model classified the variables again"
    );
    assert_eq!(&first.coord_vars[..], ["TIME"]);
    assert_eq!(&first.geophysical[..], ["TEMP"]);
    assert_eq!(first.time_variable(), Some("TIME"));

    // Another dataset over the same header is classified on its own.
    let other = Dataset::new("t.nc", &file.summary, &file.values);
    assert!(!std::ptr::eq::<Classes>(&*first, &*Model::new(&other)));
}
