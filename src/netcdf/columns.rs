//! Hyperslab reads into buffers the caller keeps: the harvest streams a variable chunk by chunk
//! through the same few buffers, so memory stays flat whatever the variable's length.

use super::{NcError, NcFile, guarded};

impl NcFile {
    /// Reads the hyperslab `start`/`count` of a numeric variable as `f64` into `buf` (resized to
    /// the slab's size; libnetcdf converts the type). A scalar variable takes empty `start` and
    /// `count` and yields its one value.
    pub fn read_f64_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<f64>,
    ) -> Result<(), NcError> {
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            if v.dimensions().is_empty() {
                buf.clear();
                buf.push(v.get_value::<f64, _>(..)?);
                return Ok(());
            }
            buf.resize(count.iter().product(), 0.0);
            v.get_values_into::<f64, _>(buf.as_mut_slice(), (start, count))
        })
    }

    /// Reads the hyperslab `start`/`count` of a `char` (or other one-byte) variable's raw bytes
    /// into `buf` (resized to the slab's size).
    pub fn read_bytes_into(
        &self,
        var: &str,
        start: &[usize],
        count: &[usize],
        buf: &mut Vec<u8>,
    ) -> Result<(), NcError> {
        let what = format!("variable {var}");
        guarded(&self.path, &what, || {
            let v = self.variable(var)?;
            let width = v.vartype().size();
            if v.dimensions().is_empty() {
                buf.resize(width, 0);
                return v.get_raw_values_into(buf.as_mut_slice(), ..);
            }
            buf.resize(count.iter().product::<usize>() * width, 0);
            v.get_raw_values_into(buf.as_mut_slice(), (start, count))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn fixture() -> NcFile {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
            "tests/data/IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc",
        );
        NcFile::open(&path).unwrap()
    }

    #[test]
    fn chunks_read_into_one_buffer_cover_the_variable() {
        let file = fixture();
        let whole = file.read_f64("TEMP", &[0], &[1001]).unwrap();
        let mut buf = Vec::new();
        let mut joined = Vec::new();
        for start in (0..1001).step_by(300) {
            let n = 300.min(1001 - start);
            file.read_f64_into("TEMP", &[start], &[n], &mut buf)
                .unwrap();
            assert_eq!(buf.len(), n);
            joined.extend_from_slice(&buf);
        }
        assert_eq!(joined, whole);
        file.read_f64_into("LATITUDE", &[], &[], &mut buf).unwrap();
        assert_eq!(buf, vec![-31.9895833333]);
    }

    #[test]
    fn byte_slabs_are_raw_bytes() {
        let file = fixture();
        let mut buf = Vec::new();
        file.read_bytes_into("TEMP_quality_control", &[0], &[5], &mut buf)
            .unwrap();
        assert_eq!(buf.len(), 5);
        let as_f64 = file.read_f64("TEMP_quality_control", &[0], &[5]).unwrap();
        let bytes: Vec<f64> = buf.iter().map(|&b| b as i8 as f64).collect();
        assert_eq!(bytes, as_f64);
        assert!(file.read_bytes_into("NOPE", &[0], &[1], &mut buf).is_err());
    }
}
