//! The IMOS file-naming convention, parsed into the fields destination templates use:
//! `IMOS_<facility>[-<sub-facility>]_<data code>_<start>_[<platform>_]FV<nn>[_<product>][_END-<end>][_C-<created>][_PART<n>].<ext>`

use std::sync::LazyLock;

use serde::Serialize;

use crate::text_regex::TextRegex;

/// The fields of an IMOS file name. Dates stay in their compact form (`20140703T021045Z`); the
/// `strftime` template filter formats them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImosName {
    pub project: String,
    /// `ANMN-NRS` as written.
    pub facility_code: String,
    /// `ANMN`.
    pub facility: String,
    /// `NRS`, when the facility code has one.
    pub sub_facility: Option<String>,
    pub data_code: String,
    pub start: String,
    pub platform: Option<String>,
    /// `01` for `FV01`.
    pub file_version: String,
    pub product: Option<String>,
    pub end: Option<String>,
    pub created: Option<String>,
    pub part: Option<String>,
    pub extension: String,
}

static IMOS_NAME: LazyLock<TextRegex> = LazyLock::new(|| {
    TextRegex::new(
        r"(?x)^
        (?P<project>IMOS|AODN|SOOP)_
        (?P<facility_code>(?P<facility>[A-Za-z0-9]+)(?:-(?P<sub>[A-Za-z0-9-]+))?)_
        (?P<data_code>[A-Za-z]+)_
        (?P<start>\d{8}(?:T\d{6}Z)?)_
        (?:(?P<platform>[^_]+)_)??
        FV(?P<fv>\d{2})
        (?:_(?P<product>.+?))??
        (?:_END-(?P<end>\d{8}(?:T\d{6}Z)?))?
        (?:_C-(?P<created>\d{8}(?:T\d{6}Z)?))?
        (?:_PART(?P<part>\d+))?
        \.(?P<ext>[A-Za-z0-9.]+)$",
    )
});

impl ImosName {
    /// Parses a file name; `None` when it does not follow the convention.
    pub fn parse(name: &str) -> Option<ImosName> {
        let c = IMOS_NAME.captures(name)?;
        let get = |n: &str| c.name(n).map(str::to_string);
        Some(ImosName {
            project: get("project")?,
            facility_code: get("facility_code")?,
            facility: get("facility")?,
            sub_facility: get("sub"),
            data_code: get("data_code")?,
            start: get("start")?,
            platform: get("platform"),
            file_version: get("fv")?,
            product: get("product"),
            end: get("end"),
            created: get("created"),
            part: get("part"),
            extension: get("ext")?,
        })
    }

    /// The name without its creation date: files that differ only in `_C-<date>` are versions of
    /// one product.
    pub fn product_identity(name: &str) -> Option<String> {
        let parsed = ImosName::parse(name)?;
        let created = parsed.created?;
        // The last occurrence: the creation date follows every other field.
        let marker = format!("_C-{created}");
        let at = name.rfind(&marker)?;
        Some(format!("{}{}", &name[..at], &name[at + marker.len()..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_fixture_names() {
        let n = ImosName::parse("IMOS_ANMN-NRS_CDEKOSTUZ_20140703T021045Z_NRSMAI_FV01_Profile-SBE-19plus_C-20160524T003914Z.nc").unwrap();
        assert_eq!(
            (n.facility.as_str(), n.sub_facility.as_deref()),
            ("ANMN", Some("NRS"))
        );
        assert_eq!(n.data_code, "CDEKOSTUZ");
        assert_eq!(n.platform.as_deref(), Some("NRSMAI"));
        assert_eq!(n.file_version, "01");
        assert_eq!(n.product.as_deref(), Some("Profile-SBE-19plus"));
        assert_eq!(n.created.as_deref(), Some("20160524T003914Z"));
        assert_eq!(n.end, None);

        let n = ImosName::parse("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_NRSROT-1804-SBE39-27_END-20180413T064000Z_C-20200313T000000Z.nc").unwrap();
        assert_eq!(n.product.as_deref(), Some("NRSROT-1804-SBE39-27"));
        assert_eq!(n.end.as_deref(), Some("20180413T064000Z"));

        let n = ImosName::parse("IMOS_SOOP-FishSOOP_TP_20240310T094642Z_FV00_786.nc").unwrap();
        assert_eq!(
            (n.facility.as_str(), n.sub_facility.as_deref()),
            ("SOOP", Some("FishSOOP"))
        );
        assert_eq!(n.platform, None);
        assert_eq!(n.product.as_deref(), Some("786"));

        let n = ImosName::parse("IMOS_ACORN_V_20101201T050000Z_BONC_FV00_sea-state.nc").unwrap();
        assert_eq!((n.facility.as_str(), n.sub_facility), ("ACORN", None));
        assert_eq!(n.platform.as_deref(), Some("BONC"));
        assert_eq!(n.product.as_deref(), Some("sea-state"));

        let n =
            ImosName::parse("IMOS_SRSALT_PT_20160919T020500Z_BASS3A_FV01_SBE26d49m.nc").unwrap();
        assert_eq!(n.platform.as_deref(), Some("BASS3A"));
    }

    #[test]
    fn other_names_do_not_parse() {
        assert!(ImosName::parse("bad.nc").is_none());
        assert!(ImosName::parse("IMOS_ANMN_X_notadate_FV01_x.nc").is_none());
    }

    #[test]
    fn product_identity_ignores_only_the_creation_date() {
        let a = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_P_END-20180413T064000Z_C-20200313T000000Z.nc";
        let b = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_P_END-20180413T064000Z_C-20210101T000000Z.nc";
        assert_eq!(ImosName::product_identity(a), ImosName::product_identity(b));
        assert_ne!(
            ImosName::product_identity(a),
            ImosName::product_identity(&a.replace("FV01", "FV02"))
        );
        // A product field spelled like a creation date stays: only the last one is the date.
        let odd = "IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_C-20200313_C-20200313.nc";
        assert_eq!(
            ImosName::product_identity(odd).as_deref(),
            Some("IMOS_ANMN-NRS_TZ_20180406T080000Z_NRSROT_FV01_C-20200313.nc")
        );
    }
}
