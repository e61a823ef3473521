//! Creating NetCDF-4 files: dimensions, typed variables with a fill value and attributes in a
//! given order, global attributes, and values written as hyperslabs so a writer never needs a
//! whole variable in memory.
//!
//! Values are handed over as `f64`, with `NaN` for a missing value: the writer converts them to
//! the variable's type and stores a missing value as the variable's fill value (its `_FillValue`,
//! or libnetcdf's default fill for the type when it has none), as netCDF4-python does with a
//! masked array.

use std::path::{Path, PathBuf};

use super::summary::{AttrValue, Attribute, NcType};

/// libnetcdf's default fill values (`NC_FILL_*`), used for a missing value of a variable
/// without `_FillValue`, as readers expect.
pub fn default_fill(dtype: &NcType) -> Option<f64> {
    Some(match dtype {
        NcType::Byte => -127.0,
        NcType::UByte => 255.0,
        NcType::Short => -32767.0,
        NcType::UShort => 65535.0,
        NcType::Int => -2_147_483_647.0,
        NcType::UInt => 4_294_967_295.0,
        NcType::Int64 => -9_223_372_036_854_775_806.0,
        NcType::UInt64 => 18_446_744_073_709_551_614.0,
        NcType::Float => f64::from(9.969_21e36_f32),
        NcType::Double => 9.969_209_968_386_869e36,
        NcType::Char | NcType::String | NcType::Other(_) => return None,
    })
}

/// A NetCDF file that could not be written: which file, what was being written, and why.
#[derive(Debug, thiserror::Error)]
#[error("writing {what} of {} failed: {detail}", path.display())]
pub struct NcWriteError {
    pub path: PathBuf,
    pub what: String,
    pub detail: String,
}

/// A variable to define: its type, dimensions (by name, already added), fill value and
/// attributes, which are written in this order after `_FillValue`.
#[derive(Debug, Clone, PartialEq)]
pub struct VarDef {
    pub name: String,
    pub dtype: NcType,
    pub dimensions: Vec<String>,
    /// The `_FillValue`, converted to the variable's type; `None` writes none.
    pub fill_value: Option<f64>,
    pub attributes: Vec<Attribute>,
    /// Store `NaN` of a float variable as `NaN` rather than as the fill value (what a writer
    /// that hands over plain arrays, as pandas does, leaves in the file).
    pub keep_nan: bool,
}

/// A NetCDF-4 file being written. Dropping it without [`NcWriter::finish`] leaves a file that
/// libnetcdf may not have flushed: callers finish it or discard it.
pub struct NcWriter {
    path: PathBuf,
    file: netcdf::FileMut,
    /// Per variable: its type and the value `NaN` is written as (`None`: as it is).
    vars: Vec<(String, NcType, Option<f64>)>,
}

impl std::fmt::Debug for NcWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NcWriter")
            .field("path", &self.path)
            .finish()
    }
}

fn write_error(path: &Path, what: &str, detail: impl std::fmt::Display) -> NcWriteError {
    NcWriteError {
        path: path.to_path_buf(),
        what: what.to_string(),
        detail: detail.to_string(),
    }
}

/// Runs a libnetcdf call with HDF5's printing off (as every read does), turning the binding's
/// errors and panics into [`NcWriteError`].
fn guarded<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, netcdf::Error>,
) -> Result<T, NcWriteError> {
    super::call(f).map_err(|detail| write_error(path, what, detail))
}

fn nc_variable_type(dtype: &NcType) -> Option<netcdf::types::NcVariableType> {
    use netcdf::types::{FloatType, IntType, NcVariableType as T};
    Some(match dtype {
        NcType::Byte => T::Int(IntType::I8),
        NcType::UByte => T::Int(IntType::U8),
        NcType::Short => T::Int(IntType::I16),
        NcType::UShort => T::Int(IntType::U16),
        NcType::Int => T::Int(IntType::I32),
        NcType::UInt => T::Int(IntType::U32),
        NcType::Int64 => T::Int(IntType::I64),
        NcType::UInt64 => T::Int(IntType::U64),
        NcType::Float => T::Float(FloatType::F32),
        NcType::Double => T::Float(FloatType::F64),
        NcType::Char => T::Char,
        NcType::String | NcType::Other(_) => return None,
    })
}

/// One `NC_CHAR` element: the binding writes text only through a type it knows as char.
#[repr(transparent)]
#[derive(Clone, Copy)]
struct NcChar(u8);

// SAFETY: `NcChar` is one byte, as NC_CHAR is.
unsafe impl netcdf::types::NcTypeDescriptor for NcChar {
    fn type_descriptor() -> netcdf::types::NcVariableType {
        netcdf::types::NcVariableType::Char
    }
}

fn attribute_value(value: &AttrValue) -> netcdf::AttributeValue {
    use netcdf::AttributeValue as A;
    match value {
        AttrValue::Text(s) => A::Str(s.clone()),
        AttrValue::Strings(v) => A::Strs(v.clone()),
        AttrValue::Byte(v) if v.len() == 1 => A::Schar(v[0]),
        AttrValue::Byte(v) => A::Schars(v.clone()),
        AttrValue::UByte(v) if v.len() == 1 => A::Uchar(v[0]),
        AttrValue::UByte(v) => A::Uchars(v.clone()),
        AttrValue::Short(v) if v.len() == 1 => A::Short(v[0]),
        AttrValue::Short(v) => A::Shorts(v.clone()),
        AttrValue::UShort(v) if v.len() == 1 => A::Ushort(v[0]),
        AttrValue::UShort(v) => A::Ushorts(v.clone()),
        AttrValue::Int(v) if v.len() == 1 => A::Int(v[0]),
        AttrValue::Int(v) => A::Ints(v.clone()),
        AttrValue::UInt(v) if v.len() == 1 => A::Uint(v[0]),
        AttrValue::UInt(v) => A::Uints(v.clone()),
        AttrValue::Int64(v) if v.len() == 1 => A::Longlong(v[0]),
        AttrValue::Int64(v) => A::Longlongs(v.clone()),
        AttrValue::UInt64(v) if v.len() == 1 => A::Ulonglong(v[0]),
        AttrValue::UInt64(v) => A::Ulonglongs(v.clone()),
        AttrValue::Float(v) if v.len() == 1 => A::Float(v[0]),
        AttrValue::Float(v) => A::Floats(v.clone()),
        AttrValue::Double(v) if v.len() == 1 => A::Double(v[0]),
        AttrValue::Double(v) => A::Doubles(v.clone()),
    }
}

/// A numeric value as the given type, for fill values and numeric attributes.
pub fn convert_attr(dtype: &NcType, values: &[f64]) -> Option<AttrValue> {
    Some(match dtype {
        NcType::Byte => AttrValue::Byte(values.iter().map(|&x| x as i8).collect()),
        NcType::UByte => AttrValue::UByte(values.iter().map(|&x| x as u8).collect()),
        NcType::Short => AttrValue::Short(values.iter().map(|&x| x as i16).collect()),
        NcType::UShort => AttrValue::UShort(values.iter().map(|&x| x as u16).collect()),
        NcType::Int => AttrValue::Int(values.iter().map(|&x| x as i32).collect()),
        NcType::UInt => AttrValue::UInt(values.iter().map(|&x| x as u32).collect()),
        NcType::Int64 => AttrValue::Int64(values.iter().map(|&x| x as i64).collect()),
        NcType::UInt64 => AttrValue::UInt64(values.iter().map(|&x| x as u64).collect()),
        NcType::Float => AttrValue::Float(values.iter().map(|&x| x as f32).collect()),
        NcType::Double => AttrValue::Double(values.to_vec()),
        NcType::Char | NcType::String | NcType::Other(_) => return None,
    })
}

impl NcWriter {
    /// Creates (or replaces) a NetCDF-4 file.
    pub fn create(path: &Path) -> Result<NcWriter, NcWriteError> {
        super::limit_chunk_cache();
        let file = guarded(path, "creating the file", || netcdf::create(path))?;
        Ok(NcWriter {
            path: path.to_path_buf(),
            file,
            vars: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a dimension; `None` makes it unlimited.
    pub fn add_dimension(&mut self, name: &str, len: Option<usize>) -> Result<(), NcWriteError> {
        let what = format!("dimension {name}");
        let file = &mut self.file;
        guarded(&self.path, &what, || match len {
            Some(n) => file.add_dimension(name, n).map(|_| ()),
            None => file.add_unlimited_dimension(name).map(|_| ()),
        })
    }

    /// Adds a global attribute (after those already written).
    pub fn put_global(&mut self, attribute: &Attribute) -> Result<(), NcWriteError> {
        let what = format!("global attribute {}", attribute.name);
        let value = attribute_value(&attribute.value);
        let file = &mut self.file;
        guarded(&self.path, &what, || {
            file.add_attribute(&attribute.name, value).map(|_| ())
        })
    }

    /// Defines a variable (numeric, or char without a fill value): `_FillValue` first, then its
    /// attributes in order.
    pub fn add_variable(&mut self, def: &VarDef) -> Result<(), NcWriteError> {
        let what = format!("variable {}", def.name);
        let Some(vartype) = nc_variable_type(&def.dtype) else {
            return Err(write_error(
                &self.path,
                &what,
                format!("type {} cannot be written", def.dtype.cdl_name()),
            ));
        };
        let dims: Vec<&str> = def.dimensions.iter().map(String::as_str).collect();
        if def.dtype == NcType::Char && def.fill_value.is_some() {
            return Err(write_error(
                &self.path,
                &what,
                "a char variable is written without a fill value",
            ));
        }
        let fill = def
            .fill_value
            .map(|f| convert_attr(&def.dtype, &[f]).expect("numeric type"));
        let file = &mut self.file;
        guarded(&self.path, &what, || {
            let mut var = file.add_variable_with_type(&def.name, &dims, &vartype)?;
            if let Some(fill) = &fill {
                set_fill(&mut var, fill)?;
            }
            for a in &def.attributes {
                var.put_attribute(&a.name, attribute_value(&a.value))?;
            }
            Ok(())
        })?;
        let keeps_nan = def.keep_nan && matches!(def.dtype, NcType::Float | NcType::Double);
        let missing = if keeps_nan {
            None
        } else {
            def.fill_value.or_else(|| default_fill(&def.dtype))
        };
        self.vars
            .push((def.name.clone(), def.dtype.clone(), missing));
        Ok(())
    }

    /// Writes a hyperslab of a variable from `start` with `count` values per dimension (both
    /// empty for a scalar). `NaN` is written as the variable's fill value.
    pub fn write_f64(
        &mut self,
        var: &str,
        start: &[usize],
        count: &[usize],
        values: &[f64],
    ) -> Result<(), NcWriteError> {
        let what = format!("values of {var}");
        let Some((_, dtype, missing)) = self.vars.iter().find(|(n, _, _)| n == var).cloned() else {
            return Err(write_error(&self.path, &what, "variable not defined"));
        };
        let expected: usize = count.iter().product();
        if expected != values.len() {
            return Err(write_error(
                &self.path,
                &what,
                format!("{} values for a slab of {expected}", values.len()),
            ));
        }
        let filled = |x: f64| if x.is_nan() { missing.unwrap_or(x) } else { x };
        let file = &mut self.file;
        guarded(&self.path, &what, || {
            let mut v = file
                .variable_mut(var)
                .ok_or_else(|| netcdf::Error::NotFound(var.to_string()))?;
            let extents: netcdf::Extents = if count.is_empty() {
                netcdf::Extents::All
            } else {
                (start, count).try_into()?
            };
            macro_rules! put {
                ($t:ty) => {{
                    let typed: Vec<$t> = values.iter().map(|&x| filled(x) as $t).collect();
                    v.put_values(&typed, extents)
                }};
            }
            match dtype {
                NcType::Byte => put!(i8),
                NcType::UByte => put!(u8),
                NcType::Short => put!(i16),
                NcType::UShort => put!(u16),
                NcType::Int => put!(i32),
                NcType::UInt => put!(u32),
                NcType::Int64 => put!(i64),
                NcType::UInt64 => put!(u64),
                NcType::Float => put!(f32),
                NcType::Double => put!(f64),
                NcType::Char | NcType::String | NcType::Other(_) => {
                    Err(netcdf::Error::TypeMismatch)
                }
            }
        })
    }

    /// Writes a 2-D char variable (rows × `width`) from `rows` texts: each truncated to `width`
    /// bytes or padded with NUL, as numpy's fixed-width byte strings are.
    pub fn write_chars(
        &mut self,
        var: &str,
        rows: &[String],
        width: usize,
    ) -> Result<(), NcWriteError> {
        let what = format!("values of {var}");
        match self.vars.iter().find(|(n, _, _)| n == var) {
            Some((_, NcType::Char, _)) => {}
            Some(_) => return Err(write_error(&self.path, &what, "not a char variable")),
            None => return Err(write_error(&self.path, &what, "variable not defined")),
        }
        if rows.is_empty() || width == 0 {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(rows.len() * width);
        for r in rows {
            let b = r.as_bytes();
            let n = b.len().min(width);
            bytes.extend(b[..n].iter().map(|&c| NcChar(c)));
            bytes.extend(std::iter::repeat_n(NcChar(0), width - n));
        }
        let file = &mut self.file;
        guarded(&self.path, &what, || {
            let mut v = file
                .variable_mut(var)
                .ok_or_else(|| netcdf::Error::NotFound(var.to_string()))?;
            let extents: netcdf::Extents = ([0, 0], [rows.len(), width]).try_into()?;
            v.put_values(&bytes, extents)
        })
    }

    /// Writes a whole 1-D variable, `chunk` values at a time.
    pub fn write_all_f64(
        &mut self,
        var: &str,
        values: &[f64],
        chunk: usize,
    ) -> Result<(), NcWriteError> {
        if values.is_empty() {
            return Ok(());
        }
        for (i, slab) in values.chunks(chunk.max(1)).enumerate() {
            self.write_f64(var, &[i * chunk.max(1)], &[slab.len()], slab)?;
        }
        Ok(())
    }

    /// Flushes and closes the file.
    pub fn finish(self) -> Result<PathBuf, NcWriteError> {
        let path = self.path;
        let file = self.file;
        guarded(&path, "closing the file", || file.close())?;
        Ok(path)
    }
}

fn set_fill(var: &mut netcdf::VariableMut<'_>, fill: &AttrValue) -> Result<(), netcdf::Error> {
    match fill {
        AttrValue::Byte(v) => var.set_fill_value(v[0]),
        AttrValue::UByte(v) => var.set_fill_value(v[0]),
        AttrValue::Short(v) => var.set_fill_value(v[0]),
        AttrValue::UShort(v) => var.set_fill_value(v[0]),
        AttrValue::Int(v) => var.set_fill_value(v[0]),
        AttrValue::UInt(v) => var.set_fill_value(v[0]),
        AttrValue::Int64(v) => var.set_fill_value(v[0]),
        AttrValue::UInt64(v) => var.set_fill_value(v[0]),
        AttrValue::Float(v) => var.set_fill_value(v[0]),
        AttrValue::Double(v) => var.set_fill_value(v[0]),
        AttrValue::Text(_) | AttrValue::Strings(_) => Err(netcdf::Error::TypeMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::netcdf::NcFile;

    fn text(name: &str, value: &str) -> Attribute {
        Attribute {
            name: name.into(),
            value: AttrValue::Text(value.into()),
        }
    }

    #[test]
    fn writes_dimensions_variables_attributes_and_fill_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.nc");
        let mut w = NcWriter::create(&path).unwrap();
        w.add_dimension("TIME", Some(5)).unwrap();
        w.add_variable(&VarDef {
            name: "TEMP".into(),
            dtype: NcType::Float,
            dimensions: vec!["TIME".into()],
            fill_value: Some(999_999.0),
            attributes: vec![text("units", "degrees_Celsius"), text("long_name", "t")],
            keep_nan: false,
        })
        .unwrap();
        w.add_variable(&VarDef {
            name: "N".into(),
            dtype: NcType::Short,
            dimensions: vec!["TIME".into()],
            fill_value: None,
            attributes: vec![],
            keep_nan: false,
        })
        .unwrap();
        w.add_variable(&VarDef {
            name: "DEPTH".into(),
            dtype: NcType::Double,
            dimensions: vec![],
            fill_value: None,
            attributes: vec![],
            keep_nan: false,
        })
        .unwrap();
        w.put_global(&text("title", "a title")).unwrap();
        w.put_global(&Attribute {
            name: "n".into(),
            value: AttrValue::Int64(vec![40]),
        })
        .unwrap();
        // Two slabs: bounded writes land where they are told.
        w.write_f64("TEMP", &[0], &[3], &[1.5, f64::NAN, 3.0])
            .unwrap();
        w.write_f64("TEMP", &[3], &[2], &[4.0, 5.0]).unwrap();
        w.write_all_f64("N", &[1.0, f64::NAN, 3.0, 4.0, 5.0], 2)
            .unwrap();
        w.write_f64("DEPTH", &[], &[], &[0.6]).unwrap();
        assert!(w.write_f64("TEMP", &[0], &[2], &[1.0]).is_err());
        w.finish().unwrap();

        let f = NcFile::open(&path).unwrap();
        let s = f.summary().unwrap();
        assert_eq!(s.format, "netcdf4");
        let temp = s.variable("TEMP").unwrap();
        let names: Vec<&str> = temp.attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["_FillValue", "units", "long_name"]);
        assert_eq!(
            temp.attr("_FillValue"),
            Some(&AttrValue::Float(vec![999_999.0]))
        );
        assert_eq!(
            f.read_f64("TEMP", &[0], &[5]).unwrap(),
            [1.5, 999_999.0, 3.0, 4.0, 5.0]
        );
        assert!(s.variable("N").unwrap().attr("_FillValue").is_none());
        assert_eq!(
            f.read_f64("N", &[0], &[5]).unwrap(),
            [1.0, -32767.0, 3.0, 4.0, 5.0]
        );
        assert_eq!(f.read_f64("DEPTH", &[], &[]).unwrap(), [0.6]);
        assert_eq!(s.global_str("title"), Some("a title"));
        assert_eq!(s.global("n"), Some(&AttrValue::Int64(vec![40])));
    }

    #[test]
    fn writes_char_variables_and_refuses_strings_and_unknown_names() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.nc");
        let mut w = NcWriter::create(&path).unwrap();
        let def = |name: &str, dtype: NcType, dims: &[&str], fill: Option<f64>| VarDef {
            name: name.into(),
            dtype,
            dimensions: dims.iter().map(|d| d.to_string()).collect(),
            fill_value: fill,
            attributes: vec![],
            keep_nan: false,
        };
        let err = w
            .add_variable(&def("S", NcType::String, &[], None))
            .unwrap_err();
        assert!(err.to_string().contains("string"), "{err}");
        w.add_dimension("ROW", None).unwrap();
        w.add_dimension("LEN", Some(3)).unwrap();
        let err = w
            .add_variable(&def("C", NcType::Char, &["ROW", "LEN"], Some(0.0)))
            .unwrap_err();
        assert!(err.to_string().contains("without a fill value"), "{err}");
        w.add_variable(&def("T", NcType::Char, &["ROW", "LEN"], None))
            .unwrap();
        assert!(w.write_f64("T", &[0, 0], &[1, 1], &[1.0]).is_err());
        w.write_chars("T", &["EQU".into(), "ATMOS".into(), "X".into()], 3)
            .unwrap();
        w.finish().unwrap();
        let f = netcdf::open(&path).unwrap();
        let raw = f.variable("T").unwrap().get_raw_values(..).unwrap();
        assert_eq!(
            raw,
            b"EQUATMX\0\0".to_vec(),
            "cut at the length, NUL-padded"
        );
        let mut w = NcWriter::create(&dir.path().join("y.nc")).unwrap();
        assert!(w.write_f64("nope", &[], &[], &[1.0]).is_err());
    }
}
