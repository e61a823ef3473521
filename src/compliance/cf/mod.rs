//! The CF 1.6 suite (`cf:1.6`): the reference checker's CF rules (compliance-checker 5.0.2,
//! `CF1_6Check`), with its section titles as group names and its priorities and points, so that
//! verdicts match production's. Where the reference crashes inside a rule, the rule fails with a
//! clear error (the file is then non-compliant), as the reference's report shows.

mod ch2;
mod ch3;
mod ch4;
mod ch5;
mod ch7;
mod ch9;
mod feature;
mod model;

use super::{Rule, SuiteImpl};

/// The reference's section titles (its group names).
pub mod section {
    pub const S2_1: &str = "§2.1 Filename";
    pub const S2_2: &str = "§2.2 Data Types";
    pub const S2_3: &str = "§2.3 Naming Conventions";
    pub const S2_4: &str = "§2.4 Dimensions";
    pub const S2_5: &str = "§2.5 Variables";
    pub const S2_6: &str = "§2.6 Attributes";
    pub const S3_1: &str = "§3.1 Units";
    pub const S3_3: &str = "§3.3 Standard Name";
    pub const S3_4: &str = "§3.4 Ancillary Data";
    pub const S3_5: &str = "§3.5 Flags";
    pub const S4: &str = "§4 Coordinate Types";
    pub const S4_1: &str = "§4.1 Latitude Coordinate";
    pub const S4_2: &str = "§4.2 Longitude Coordinate";
    pub const S4_3: &str = "§4.3 Vertical Coordinate";
    pub const S4_4: &str = "§4.4 Time Coordinate";
    pub const S5: &str = "§5 Coordinate Systems";
    pub const S5_3: &str = "§5.3 Reduced Horizontal Grid";
    pub const S5_6: &str =
        "§5.6 Horizontal Coordinate Reference Systems, Grid Mappings, Projections";
    pub const S6_1: &str = "§6.1 Labels";
    pub const S7_1: &str = "§7.1 Cell Boundaries";
    pub const S7_2: &str = "§7.2 Cell Measures";
    pub const S7_3: &str = "§7.3 Cell Methods";
    pub const S7_4: &str = "§7.4 Climatological Statistics";
    pub const S8_1: &str = "§8.1 Packed Data";
    pub const S8_2: &str = "§8.2 Compression by Gathering";
    pub const S9_1: &str = "§9.1 Features and feature types";
    pub const S9_1_VALID: &str = "§9.1 Dataset contains a valid featureType";
    pub const S9_5: &str = "§9.5 Coordinates and metadata";
}

/// `cf:1.6`.
pub struct Cf16;

static RULES: &[Rule] = &[
    Rule {
        id: "check_filename",
        run: ch2::filename,
    },
    Rule {
        id: "check_data_types",
        run: ch2::data_types,
    },
    Rule {
        id: "check_child_attr_data_types",
        run: ch2::child_attr_data_types,
    },
    Rule {
        id: "check_add_offset_scale_factor_type",
        run: ch2::add_offset_scale_factor_type,
    },
    Rule {
        id: "check_naming_conventions",
        run: ch2::naming_conventions,
    },
    Rule {
        id: "check_names_unique",
        run: ch2::names_unique,
    },
    Rule {
        id: "check_dimension_names",
        run: ch2::dimension_names,
    },
    Rule {
        id: "check_dimension_order",
        run: ch2::dimension_order,
    },
    Rule {
        id: "check_fill_value_outside_valid_range",
        run: ch2::fill_value_outside_valid_range,
    },
    Rule {
        id: "check_convention_globals",
        run: ch2::convention_globals,
    },
    Rule {
        id: "check_convention_possibly_var_attrs",
        run: ch2::convention_possibly_var_attrs,
    },
    Rule {
        id: "check_conventions_version",
        run: ch2::conventions_version,
    },
    Rule {
        id: "check_units",
        run: ch3::units,
    },
    Rule {
        id: "check_standard_name",
        run: ch3::standard_name,
    },
    Rule {
        id: "check_ancillary_variables",
        run: ch3::ancillary_variables,
    },
    Rule {
        id: "check_flags",
        run: ch3::flags,
    },
    Rule {
        id: "check_coordinate_types",
        run: ch4::coordinate_types,
    },
    Rule {
        id: "check_latitude",
        run: ch4::latitude,
    },
    Rule {
        id: "check_longitude",
        run: ch4::longitude,
    },
    Rule {
        id: "check_dimensional_vertical_coordinate",
        run: ch4::dimensional_vertical_coordinate,
    },
    Rule {
        id: "check_dimensionless_vertical_coordinates",
        run: ch4::dimensionless_vertical_coordinates,
    },
    Rule {
        id: "check_time_coordinate",
        run: ch4::time_coordinate,
    },
    Rule {
        id: "check_calendar",
        run: ch4::calendar,
    },
    Rule {
        id: "check_aux_coordinates",
        run: ch5::aux_coordinates,
    },
    Rule {
        id: "check_duplicate_axis",
        run: ch5::duplicate_axis,
    },
    Rule {
        id: "check_multi_dimensional_coords",
        run: ch5::multi_dimensional_coords,
    },
    Rule {
        id: "check_grid_coordinates",
        run: ch5::grid_coordinates,
    },
    Rule {
        id: "check_reduced_horizontal_grid",
        run: ch5::reduced_horizontal_grid,
    },
    Rule {
        id: "check_grid_mapping",
        run: ch5::grid_mapping,
    },
    Rule {
        id: "check_geographic_region",
        run: ch5::geographic_region,
    },
    Rule {
        id: "check_cell_boundaries",
        run: ch7::cell_boundaries,
    },
    Rule {
        id: "check_cell_measures",
        run: ch7::cell_measures,
    },
    Rule {
        id: "check_cell_methods",
        run: ch7::cell_methods,
    },
    Rule {
        id: "check_climatological_statistics",
        run: ch7::climatological_statistics,
    },
    Rule {
        id: "check_packed_data",
        run: ch7::packed_data,
    },
    Rule {
        id: "check_compression_gathering",
        run: ch7::compression_gathering,
    },
    Rule {
        id: "check_feature_type",
        run: ch9::feature_type,
    },
    Rule {
        id: "check_cf_role",
        run: ch9::cf_role,
    },
    Rule {
        id: "check_variable_features",
        run: ch9::variable_features,
    },
    Rule {
        id: "check_hints",
        run: ch9::hints,
    },
];

impl SuiteImpl for Cf16 {
    fn id(&self) -> &'static str {
        "cf:1.6"
    }

    fn rules(&self) -> &'static [Rule] {
        RULES
    }
}

#[cfg(test)]
mod tests;
