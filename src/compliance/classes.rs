//! The classes the CF and IMOS rules put a file's variables in (coordinates, auxiliary
//! coordinates, time, vertical, geophysical, data, quality control…), as data: each suite makes
//! its own, a dataset keeps them once made, so that every rule of a check shares one
//! classification.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::netcdf::{NcSummary, Variable};

/// Variable names in the reference's order, with membership in constant time (the reference's
/// lists, which it searches with `in`).
#[derive(Debug, Default, Clone)]
pub struct Names<'a> {
    order: Vec<&'a str>,
    set: HashSet<&'a str>,
}

impl<'a> Names<'a> {
    /// Adds a name not yet present; false if it was.
    pub fn push(&mut self, name: &'a str) -> bool {
        let new = self.set.insert(name);
        if new {
            self.order.push(name);
        }
        new
    }

    pub fn contains(&self, name: &str) -> bool {
        self.set.contains(name)
    }
}

impl<'a> std::ops::Deref for Names<'a> {
    type Target = [&'a str];
    fn deref(&self) -> &[&'a str] {
        &self.order
    }
}

impl<'a, 'b> IntoIterator for &'b Names<'a> {
    type Item = &'b &'a str;
    type IntoIter = std::slice::Iter<'b, &'a str>;
    fn into_iter(self) -> Self::IntoIter {
        self.order.iter()
    }
}

impl<'a> FromIterator<&'a str> for Names<'a> {
    /// Keeps the first of repeated names, as the lists the reference builds with `if not in`.
    fn from_iter<I: IntoIterator<Item = &'a str>>(iter: I) -> Self {
        let mut names = Names::default();
        for n in iter {
            names.push(n);
        }
        names
    }
}

/// Everything the CF rules classify, computed once per dataset over its header (every rule of
/// a check shares it: building it is linear in the variables, but 23 rules each building it
/// made it a tenth of a check's work).
#[derive(Debug, Default)]
pub struct Classes<'a> {
    pub coord_vars: Names<'a>,
    pub aux_coords: Names<'a>,
    pub axis_vars: Names<'a>,
    pub time_vars: BTreeSet<&'a str>,
    pub lat_vars: Names<'a>,
    pub lon_vars: Names<'a>,
    pub z_vars: Names<'a>,
    pub boundary_vars: Names<'a>,
    pub clim_var: Option<&'a str>,
    pub geophysical: Names<'a>,
    /// Variables named by a `platform` or an `instrument` attribute (of a variable or global).
    pub(crate) platform_or_instrument: Names<'a>,
    /// The axis letter of each coordinate and auxiliary coordinate (what cfutil's
    /// `get_axis_map` gives it).
    pub(crate) coordinate_axes: HashMap<&'a str, char>,
    /// Each coordinate's place in coordinates-then-auxiliary-coordinates order.
    pub(crate) coordinate_order: HashMap<&'a str, usize>,
}

/// The variable classes the IMOS (and GHRSST) rules iterate over, in the reference's order: what
/// the plugin's `setup` makes before its rules run. `compliance::imos::model` makes it, once per
/// dataset (28 rules each classifying again made a quarter of the IMOS suite's work).
#[derive(Debug)]
pub struct ImosClasses<'a> {
    pub summary: &'a NcSummary,
    /// Variables named after their only dimension, in dimension order.
    pub coordinates: Vec<&'a Variable>,
    /// Variables that hold data: not coordinates, auxiliary coordinates or ancillary variables;
    /// numeric with at least one dimension; no flags; not a ragged-array count or index.
    pub data: Vec<&'a Variable>,
    /// Quality-control variables, by name, standard name, long name or conventions attribute.
    pub quality_control: Vec<&'a Variable>,
    /// Variables some variable lists in `ancillary_variables`, as a set.
    pub(crate) ancillary: Members,
}

/// A set of variables of one file, compared as the reference compares variable objects (by
/// identity: here their address in the header, kept as a number so that the set can be shared
/// between the suites' threads).
#[derive(Debug, Default)]
pub struct Members(HashSet<usize>);

impl Members {
    /// The set of these variables.
    pub fn of<'v>(vars: impl IntoIterator<Item = &'v Variable>) -> Members {
        Members(vars.into_iter().map(Members::key).collect())
    }

    /// Whether `var` is a member.
    pub fn contains(&self, var: &Variable) -> bool {
        self.0.contains(&Members::key(var))
    }

    fn key(var: &Variable) -> usize {
        std::ptr::from_ref(var) as usize
    }
}
