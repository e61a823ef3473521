//! Unit tests of the CF rules on small NetCDF files written as CDL in the test.
