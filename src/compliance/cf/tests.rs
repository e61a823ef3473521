//! Unit tests of the CF rules on small NetCDF files written as CDL in the test: a compliant
//! time series, then one defect at a time, each failing the group the reference fails.

use crate::compliance::Priority::{High, Low, Medium};
use crate::compliance::testing::{check_cdl, failed, group};

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
