#!/usr/bin/env python3
"""Writes an IMOS ANMN-style moored time series of N samples (TIME, TEMP, PRES, DEPTH, each with
its quality-control flags; scalar LATITUDE/LONGITUDE; the global attributes the anmn_ts collection
reads) for the harvest and checker benchmarks. Values are written in blocks, so memory stays flat
for any N.

Usage: gen-timeseries.py OUT.nc [N] [--imos]   (default N = 5,000,000; needs numpy and netCDF4)
  --imos   lay the file out as the IMOS toolbox does: an unlimited TIME dimension and HDF5 chunks
           of 512 samples (the layout of the SRS altimetry files whose 5,007,551-point TIME the
           reference checker is slow on), instead of a fixed TIME and 65,536-sample chunks.
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
chunk = 512 if imos else 65_536
start_days = 23_000.0  # 2012-12-21, days since 1950-01-01
step_days = 1.0 / 86_400.0  # one sample a second: unique times, as the prototype's key needs

with netCDF4.Dataset(out, "w", format="NETCDF4") as ds:
    ds.createDimension("TIME", None if imos else n)
    time = ds.createVariable("TIME", "f8", ("TIME",), chunksizes=(chunk,))
    time.standard_name = "time"
    time.units = "days since 1950-01-01 00:00:00 UTC"
    time.calendar = "gregorian"
    time.axis = "T"
    for name, value, units in (("LATITUDE", -32.0, "degrees_north"), ("LONGITUDE", 115.4, "degrees_east")):
        v = ds.createVariable(name, "f8", ())
        v.units = units
        v.assignValue(value)
    variables = {}
    for name, units in (("TEMP", "degrees_Celsius"), ("PRES", "dbar"), ("DEPTH", "m")):
        v = ds.createVariable(name, "f4", ("TIME",), fill_value=np.float32(999999.0), zlib=True, complevel=1, chunksizes=(chunk,))
        v.units = units
        v.ancillary_variables = f"{name}_quality_control"
        q = ds.createVariable(f"{name}_quality_control", "i1", ("TIME",), fill_value=np.int8(99), zlib=True, complevel=1, chunksizes=(chunk,))
        q.quality_control_conventions = "IMOS standard flags"
        q.flag_values = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype="i1")
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
            "site_code": "BENCH01",
            "platform_code": "BENCH01",
            "deployment_code": "BENCH01-2012",
            "instrument": "Generated thermistor",
            "instrument_serial_number": "0001",
            "instrument_nominal_depth": 40.0,
            "site_nominal_depth": 60.0,
            "time_coverage_start": iso(start_days),
            "time_coverage_end": iso(start_days + (n - 1) * step_days),
            "time_deployment_start": iso(start_days),
            "time_deployment_end": iso(start_days + (n - 1) * step_days),
            "toolbox_version": "generated",
        }
    )
print(f"{out}: {n} samples")
