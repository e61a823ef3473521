//! The owned header of a NetCDF file: plain data that checks and harvest read without libnetcdf.

use std::io::Read;

use serde::Serialize;

/// A NetCDF data type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NcType {
    Byte,
    UByte,
    Char,
    Short,
    UShort,
    Int,
    UInt,
    Int64,
    UInt64,
    Float,
    Double,
    String,
    /// Compound, opaque, enum or vlen types, by description.
    Other(String),
}

impl NcType {
    /// The CDL name of the type (`byte`, `short`, `float`…).
    pub fn cdl_name(&self) -> &str {
        match self {
            NcType::Byte => "byte",
            NcType::UByte => "ubyte",
            NcType::Char => "char",
            NcType::Short => "short",
            NcType::UShort => "ushort",
            NcType::Int => "int",
            NcType::UInt => "uint",
            NcType::Int64 => "int64",
            NcType::UInt64 => "uint64",
            NcType::Float => "float",
            NcType::Double => "double",
            NcType::String => "string",
            NcType::Other(s) => s,
        }
    }

    pub fn is_numeric(&self) -> bool {
        !matches!(self, NcType::Char | NcType::String | NcType::Other(_))
    }
}

/// An attribute value with its NetCDF type. Scalars are one-element vectors.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum AttrValue {
    Text(String),
    Strings(Vec<String>),
    Byte(Vec<i8>),
    UByte(Vec<u8>),
    Short(Vec<i16>),
    UShort(Vec<u16>),
    Int(Vec<i32>),
    UInt(Vec<u32>),
    Int64(Vec<i64>),
    UInt64(Vec<u64>),
    Float(Vec<f32>),
    Double(Vec<f64>),
}

impl AttrValue {
    pub fn nc_type(&self) -> NcType {
        match self {
            AttrValue::Text(_) => NcType::Char,
            AttrValue::Strings(_) => NcType::String,
            AttrValue::Byte(_) => NcType::Byte,
            AttrValue::UByte(_) => NcType::UByte,
            AttrValue::Short(_) => NcType::Short,
            AttrValue::UShort(_) => NcType::UShort,
            AttrValue::Int(_) => NcType::Int,
            AttrValue::UInt(_) => NcType::UInt,
            AttrValue::Int64(_) => NcType::Int64,
            AttrValue::UInt64(_) => NcType::UInt64,
            AttrValue::Float(_) => NcType::Float,
            AttrValue::Double(_) => NcType::Double,
        }
    }

    /// The text of a `char` attribute, or of a single-element `string` attribute.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            AttrValue::Strings(v) if v.len() == 1 => Some(&v[0]),
            _ => None,
        }
    }

    /// Numeric values as `f64`; `None` for text.
    pub fn as_f64s(&self) -> Option<Vec<f64>> {
        Some(match self {
            AttrValue::Text(_) | AttrValue::Strings(_) => return None,
            AttrValue::Byte(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::UByte(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Short(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::UShort(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Int(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::UInt(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Int64(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::UInt64(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Float(v) => v.iter().map(|&x| x as f64).collect(),
            AttrValue::Double(v) => v.clone(),
        })
    }

    /// The single numeric value of a scalar numeric attribute.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_f64s().filter(|v| v.len() == 1).map(|v| v[0])
    }

    pub fn len(&self) -> usize {
        match self {
            AttrValue::Text(s) => s.len(),
            AttrValue::Strings(v) => v.len(),
            other => other.as_f64s().map_or(0, |v| v.len()),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as JSON: text as a string, one number as a number, several as an array.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            AttrValue::Text(s) => serde_json::Value::String(s.clone()),
            AttrValue::Strings(v) if v.len() == 1 => serde_json::Value::String(v[0].clone()),
            AttrValue::Strings(v) => v.iter().cloned().map(serde_json::Value::String).collect(),
            numeric => {
                let nums: Vec<serde_json::Value> = numeric
                    .as_f64s()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|x| {
                        if x.fract() == 0.0 && x.abs() < 9.0e15 {
                            serde_json::Value::from(x as i64)
                        } else {
                            serde_json::Number::from_f64(x)
                                .map_or(serde_json::Value::Null, serde_json::Value::Number)
                        }
                    })
                    .collect();
                if nums.len() == 1 {
                    nums.into_iter().next().unwrap()
                } else {
                    serde_json::Value::Array(nums)
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub name: String,
    pub value: AttrValue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dimension {
    pub name: String,
    pub len: usize,
    pub unlimited: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Variable {
    pub name: String,
    pub dtype: NcType,
    pub dimensions: Vec<String>,
    pub shape: Vec<usize>,
    pub attributes: Vec<Attribute>,
}

impl Variable {
    pub fn attr(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    pub fn attr_str(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(AttrValue::as_str)
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The header of a NetCDF file (root group; nested groups are listed by name only).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NcSummary {
    /// `classic`, `64bit_offset`, `64bit_data` or `netcdf4`.
    pub format: String,
    pub dimensions: Vec<Dimension>,
    pub variables: Vec<Variable>,
    pub global_attributes: Vec<Attribute>,
    pub groups: Vec<String>,
}

impl NcSummary {
    pub fn variable(&self, name: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.name == name)
    }

    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }

    pub fn global(&self, name: &str) -> Option<&AttrValue> {
        self.global_attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    pub fn global_str(&self, name: &str) -> Option<&str> {
        self.global(name).and_then(AttrValue::as_str)
    }

    /// Global attributes as one JSON object, in file order.
    pub fn globals_json(&self) -> serde_json::Value {
        serde_json::Value::Object(
            self.global_attributes
                .iter()
                .map(|a| (a.name.clone(), a.value.to_json()))
                .collect(),
        )
    }
}

fn attr_value(v: netcdf::AttributeValue) -> AttrValue {
    use netcdf::AttributeValue as A;
    match v {
        A::Uchar(x) => AttrValue::UByte(vec![x]),
        A::Uchars(x) => AttrValue::UByte(x),
        A::Schar(x) => AttrValue::Byte(vec![x]),
        A::Schars(x) => AttrValue::Byte(x),
        A::Ushort(x) => AttrValue::UShort(vec![x]),
        A::Ushorts(x) => AttrValue::UShort(x),
        A::Short(x) => AttrValue::Short(vec![x]),
        A::Shorts(x) => AttrValue::Short(x),
        A::Uint(x) => AttrValue::UInt(vec![x]),
        A::Uints(x) => AttrValue::UInt(x),
        A::Int(x) => AttrValue::Int(vec![x]),
        A::Ints(x) => AttrValue::Int(x),
        A::Ulonglong(x) => AttrValue::UInt64(vec![x]),
        A::Ulonglongs(x) => AttrValue::UInt64(x),
        A::Longlong(x) => AttrValue::Int64(vec![x]),
        A::Longlongs(x) => AttrValue::Int64(x),
        A::Float(x) => AttrValue::Float(vec![x]),
        A::Floats(x) => AttrValue::Float(x),
        A::Double(x) => AttrValue::Double(vec![x]),
        A::Doubles(x) => AttrValue::Double(x),
        A::Str(x) => AttrValue::Text(x),
        A::Strs(x) => AttrValue::Strings(x),
    }
}

pub(super) fn nc_type(t: &netcdf::types::NcVariableType) -> NcType {
    use netcdf::types::{FloatType, IntType, NcVariableType as T};
    match t {
        T::Int(IntType::I8) => NcType::Byte,
        T::Int(IntType::U8) => NcType::UByte,
        T::Int(IntType::I16) => NcType::Short,
        T::Int(IntType::U16) => NcType::UShort,
        T::Int(IntType::I32) => NcType::Int,
        T::Int(IntType::U32) => NcType::UInt,
        T::Int(IntType::I64) => NcType::Int64,
        T::Int(IntType::U64) => NcType::UInt64,
        T::Float(FloatType::F32) => NcType::Float,
        T::Float(FloatType::F64) => NcType::Double,
        T::Char => NcType::Char,
        T::String => NcType::String,
        other => NcType::Other(
            format!("{other:?}")
                .split('(')
                .next()
                .unwrap_or("other")
                .to_lowercase(),
        ),
    }
}

/// The attributes the binding can read. An attribute of a user-defined type (a netCDF-4 enum,
/// compound, opaque or vlen: typically the `_FillValue` of an enum variable) is left out, not
/// failed on: the file is valid NetCDF, and no check or template reads such values.
fn attributes<'a>(
    attrs: impl Iterator<Item = netcdf::Attribute<'a>>,
) -> Result<Vec<Attribute>, netcdf::Error> {
    let mut out = Vec::new();
    for a in attrs {
        match a.value() {
            Ok(value) => out.push(Attribute {
                name: a.name().to_string(),
                value: attr_value(value),
            }),
            Err(netcdf::Error::TypeUnknown(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The on-disk format, from the file's magic number.
pub(super) fn format_of(path: &std::path::Path) -> &'static str {
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut magic));
    match (read, &magic) {
        (Ok(()), b"CDF\x01") => "classic",
        (Ok(()), b"CDF\x02") => "64bit_offset",
        (Ok(()), b"CDF\x05") => "64bit_data",
        (Ok(()), b"\x89HDF") => "netcdf4",
        _ => "unknown",
    }
}

/// Whether a format (of [`format_of`]) is one of netCDF's classic formats, which are not HDF5.
pub(super) fn is_classic(format: &str) -> bool {
    matches!(format, "classic" | "64bit_offset" | "64bit_data")
}

/// The header of `file`, whose on-disk format (of [`format_of`]) is `format`.
pub(super) fn read(file: &netcdf::File, format: &str) -> Result<NcSummary, netcdf::Error> {
    let dimensions = file
        .dimensions()
        .map(|d| Dimension {
            name: d.name(),
            len: d.len(),
            unlimited: d.is_unlimited(),
        })
        .collect();
    let variables = file
        .variables()
        .map(|v| {
            Ok(Variable {
                name: v.name(),
                dtype: nc_type(&v.vartype()),
                dimensions: v.dimensions().iter().map(|d| d.name()).collect(),
                shape: v.dimensions().iter().map(|d| d.len()).collect(),
                attributes: attributes(v.attributes())?,
            })
        })
        .collect::<Result<Vec<_>, netcdf::Error>>()?;
    let groups = file
        .groups()
        .map(|g| g.map(|g| g.name()).collect())
        .unwrap_or_default();
    Ok(NcSummary {
        format: format.to_string(),
        dimensions,
        variables,
        global_attributes: attributes(file.attributes())?,
        groups,
    })
}
