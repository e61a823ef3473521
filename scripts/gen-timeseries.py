#!/usr/bin/env python3
"""Writes an IMOS ANMN-style moored time series of N samples (TIME, TEMP, PRES, DEPTH, each with
its quality-control flags; scalar LATITUDE/LONGITUDE; the global attributes the anmn_ts collection
reads) for the harvest and checker benchmarks. Values are written in blocks, so memory stays flat
for any N. Its variables and global attributes are those of an IMOS toolbox mooring file (modelled
on the ANMN NRSROT WQM file of the IMOS corpus, which passes imos:1.4), so that the file passes
cf:1.6 and imos:1.4 and a whole job on it publishes and draws its quick look.

Usage: gen-timeseries.py OUT.nc [N] [--imos] [--chunk=C]   (default N = 5,000,000; needs numpy
and netCDF4)
  --imos     lay the file out as the IMOS toolbox does: an unlimited TIME dimension and HDF5
             chunks of 512 samples (the layout of the SRS altimetry files whose 5,007,551-point
             TIME the reference checker is slow on), instead of a fixed TIME and 65,536-sample
             chunks.
  --chunk=C  HDF5 chunks of C samples instead (e.g. 2500000: chunks of 10 MB of floats, larger
             than a reader's per-variable cache, as some writers' defaults make them).
"""
import sys

import datetime

import netCDF4
import numpy as np


def iso(days):
    t = datetime.datetime(1950, 1, 1) + datetime.timedelta(days=days)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")

args = [a for a in sys.argv[1:] if not a.startswith("--")]
imos = "--imos" in sys.argv[1:]
out = args[0]
n = int(args[1].replace(",", "").replace("_", "")) if len(args) > 1 else 5_000_000
block = 1_000_000
# HDF5 chunks of 65,536 samples (256 KiB of floats), as the netCDF library sizes them for
# series like this: a reader caches a chunk per variable, not megabytes. The IMOS toolbox's
# files have 512-sample chunks along their unlimited TIME.
chunk = min(512 if imos else 65_536, max(n, 1))
for a in (a for a in sys.argv[1:] if a.startswith("--")):
    if a.startswith("--chunk="):
        chunk = min(int(a.split("=", 1)[1].replace(",", "").replace("_", "")), max(n, 1))
    elif a != "--imos":
        sys.exit(f"gen-timeseries.py: unknown option {a}")
LATITUDE, LONGITUDE, NOMINAL_DEPTH = -32.0, 115.4, 40.0
FLAG_MEANINGS = (
    "No_QC_performed Good_data Probably_good_data Bad_data_that_are_potentially_correctable "
    "Bad_data Value_changed Not_used Not_used Not_used Missing_value"
)
ACKNOWLEDGEMENT = (
    "Any users of IMOS data are required to clearly acknowledge the source of the material derived "
    "from IMOS in the format: \"Data was sourced from Australia's Integrated Marine Observing "
    "System (IMOS) - IMOS is enabled by the National Collaborative Research Infrastructure "
    "Strategy (NCRIS).\""
)
start_days = 23_000.0  # 2012-12-21, days since 1950-01-01
step_days = 1.0 / 86_400.0  # one sample a second: unique times, as the prototype's key needs

with netCDF4.Dataset(out, "w", format="NETCDF4") as ds:
    ds.createDimension("TIME", None if imos else n)
    time = ds.createVariable("TIME", "f8", ("TIME",), chunksizes=(chunk,))
    time.axis = "T"
    time.calendar = "gregorian"
    time.long_name = "time"
    time.standard_name = "time"
    time.units = "days since 1950-01-01 00:00:00 UTC"
    time.valid_min = 0.0
    time.valid_max = 90000.0
    series = ds.createVariable("TIMESERIES", "i4", ())
    series.cf_role = "timeseries_id"
    series.long_name = "unique_identifier_for_each_timeseries_feature_instance_in_this_file"
    series.assignValue(1)
    for name, value, axis, units, limit in (
        ("LATITUDE", LATITUDE, "Y", "degrees_north", 90.0),
        ("LONGITUDE", LONGITUDE, "X", "degrees_east", 180.0),
    ):
        v = ds.createVariable(name, "f8", ())
        v.axis = axis
        v.long_name = name.lower()
        v.reference_datum = "WGS84 geographic coordinate system"
        v.standard_name = name.lower()
        v.units = units
        v.valid_max = limit
        v.valid_min = -limit
        v.assignValue(value)
    nominal = ds.createVariable("NOMINAL_DEPTH", "f4", ())
    nominal.axis = "Z"
    nominal.long_name = "nominal depth"
    nominal.positive = "down"
    nominal.reference_datum = "sea surface"
    nominal.standard_name = "depth"
    nominal.units = "m"
    nominal.valid_max = np.float32(12000.0)
    nominal.valid_min = np.float32(-5.0)
    nominal.assignValue(NOMINAL_DEPTH)
    variables = {}
    for name, standard_name, long_name, units, valid in (
        ("TEMP", "sea_water_temperature", "sea_water_temperature", "degrees_Celsius", (-2.5, 40.0)),
        ("PRES", "sea_water_pressure", "sea_water_pressure", "dbar", (-5.0, 12000.0)),
        ("DEPTH", "depth", "actual depth", "m", (-5.0, 12000.0)),
    ):
        v = ds.createVariable(name, "f4", ("TIME",), fill_value=np.float32(999999.0), zlib=True, complevel=1, chunksizes=(chunk,))
        v.ancillary_variables = f"{name}_quality_control"
        v.coordinates = "TIME LATITUDE LONGITUDE NOMINAL_DEPTH"
        v.long_name = long_name
        v.standard_name = standard_name
        v.units = units
        v.valid_min = np.float32(valid[0])
        v.valid_max = np.float32(valid[1])
        if name == "DEPTH":
            v.positive = "down"
            v.reference_datum = "sea surface"
        q = ds.createVariable(f"{name}_quality_control", "i1", ("TIME",), fill_value=np.int8(99), zlib=True, complevel=1, chunksizes=(chunk,))
        q.flag_meanings = FLAG_MEANINGS
        q.flag_values = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype="i1")
        q.long_name = f"quality flag for {standard_name}"
        q.quality_control_conventions = "IMOS standard flags"
        q.standard_name = f"{standard_name} status_flag"
        variables[name] = (v, q)
    rng = np.random.default_rng(11)
    for i in range(0, n, block):
        k = min(block, n - i)
        idx = np.arange(i, i + k, dtype="f8")
        time[i : i + k] = start_days + idx * step_days
        temp = 15.0 + 3.0 * np.sin(idx / 86_400.0 * 2 * np.pi) + rng.normal(0, 0.05, k)
        pres = 40.0 + rng.normal(0, 0.2, k)
        for name, values in (("TEMP", temp), ("PRES", pres), ("DEPTH", pres * 0.99)):
            v, q = variables[name]
            flags = np.where(rng.random(k) < 0.02, 4, 1).astype("i1")
            values = values.astype("f4")
            values[::997] = 999999.0  # now and then a missing value
            flags[::997] = 9
            v[i : i + k] = values
            q[i : i + k] = flags
    ds.setncatts(
        {
            "project": "Integrated Marine Observing System (IMOS)",
            "Conventions": "CF-1.6,IMOS-1.4",
            "featureType": "timeSeries",
            "title": "Generated ANMN-style moored time series",
            "abstract": "A generated moored time series for benchmarks: temperature, pressure and depth.",
            "acknowledgement": ACKNOWLEDGEMENT,
            "author": "Benchmark, Generated",
            "citation": "The citation in a list of references is: \"IMOS [year-of-data-download], [Title], [data-access-URL], accessed [date-of-access].\".",
            "data_centre": "Australian Ocean Data Network (AODN)",
            "data_centre_email": "info@aodn.org.au",
            "date_created": "2020-01-01T00:00:00Z",
            "disclaimer": "Data, products and services from IMOS are provided \"as is\" without any warranty as to fitness for a particular purpose.",
            "file_version": "Level 1 - Quality Controlled Data",
            "history": "2020-01-01T00:00:00Z - written by scripts/gen-timeseries.py",
            "geospatial_lat_min": LATITUDE,
            "geospatial_lat_max": LATITUDE,
            "geospatial_lon_min": LONGITUDE,
            "geospatial_lon_max": LONGITUDE,
            "geospatial_vertical_min": np.float32(NOMINAL_DEPTH),
            "geospatial_vertical_max": np.float32(NOMINAL_DEPTH),
            "geospatial_vertical_positive": "down",
            "institution": "ANMN-NRS",
            "license": "http://creativecommons.org/licenses/by/4.0/",
            "naming_authority": "IMOS",
            "principal_investigator": "Benchmark, Generated",
            "standard_name_vocabulary": "NetCDF Climate and Forecast (CF) Metadata Convention Standard Name Table 45",
            "site_code": "BENCH01",
            "platform_code": "BENCH01",
            "deployment_code": "BENCH01-2012",
            "instrument": "Generated thermistor",
            "instrument_serial_number": "0001",
            "instrument_nominal_depth": NOMINAL_DEPTH,
            "site_nominal_depth": 60.0,
            "time_coverage_start": iso(start_days),
            "time_coverage_end": iso(start_days + (n - 1) * step_days),
            "time_deployment_start": iso(start_days),
            "time_deployment_end": iso(start_days + (n - 1) * step_days),
            "toolbox_version": "generated",
        }
    )
print(f"{out}: {n} samples")
