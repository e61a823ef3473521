//! NSW OEH bathymetry survey packages (reference: python-aodndata `nsw_oeh/handler.py`
//! `NswOehHandler` and its `NSWOEHSurveyProcesor`): a survey ZIP checked as a whole — the names
//! of the ZIP and of every member, the coverage shapefile, the files a survey must have — and
//! published under `NSW-OEH/<method>/<year>/<date>_<location>/`.
//!
//! The ZIP is named `NSWOEH_<YYYYMMDD>_<Location>_<MB|STAX|LD>.zip` (multi-beam, single-beam,
//! LIDAR). [`check_all`] gathers every problem into one report, by file, as the reference does:
//! - every name: at least 4 `_` fields, `NSWOEH`, a valid date, a location of letters only, a
//!   method code, no spaces, and the ZIP's date, location and method;
//! - multi-beam members also: a known extension; field 5 `BTY`/`BKS` data, `SHP` (shapefile part
//!   extensions only) or `ScientificRigour` (PDF only); data files (not `.kmz`) with at least 9
//!   fields: `(BTY|BKS)GRD<3 digits><GSS|R2S|MRG>`, a CRS `W84Z55`/`W84Z56` followed by `AHD`
//!   (BTY) or `GRY` (BKS), a software code and 3-digit version, an export date, `FV00`–`FV02`;
//! - the coverage shapefile (`*_SHP.shp`, read inside the ZIP with its `.shx`, `.dbf` and
//!   `.prj`): exactly one feature; the attributes MB {SDate, Location, Area, XYZ_File, XYA_File,
//!   MAX_RES, Comment} / STAX {SDate, Location, Source_xyz, AREA, est_no}; the CRS EPSG:32756 or
//!   EPSG:32755 (WGS 84 / UTM 56S or 55S); an `SDate` equal to the shapefile name's date. A
//!   shapefile that cannot be opened (no `.shx` index, a broken header) is "Unable to open
//!   shapefile";
//! - the package: a `…ScientificRigour.pdf`, a coverage shapefile, and for MB an `.xyz` file.
//!
//! Publishing ([`prepare`]): multi-beam, every member `HARVEST_UPLOAD` (the ZIP itself is not
//! published); single-beam and LIDAR, only the coverage shapefile's parts
//! (`.*_SHP.(CPG|cpg|dbf|prj|sbn|sbx|shp|shp.xml|shx)`) and the ZIP itself `HARVEST_UPLOAD`, the
//! other members not published (still checked, as the reference does).
//!
//! The CRS is identified from the `.prj` text as GDAL's `AutoIdentifyEPSG` does for these cases
//! (fiona reports `{'init': 'epsg:NNNN'}` from it): an `AUTHORITY["EPSG", …]`, a geographic
//! WGS 84 system (4326), or a Transverse Mercator projection on WGS 84 with UTM parameters (326zz
//! north, 327zz south).
//!
//! Where this differs from the reference, on purpose: the missing-attribute list is sorted (the
//! reference prints a Python set); a shapefile with no feature is reported once (the reference
//! then fails reading its first feature); the report's heading for the ZIP is its name, not its
//! local path.

use std::collections::BTreeSet;
use std::io::{Cursor, Read};
use std::path::Path;
use std::sync::OnceLock;

use chrono::NaiveDate;
use regex::Regex;

use super::HandlerError;
use super::plan::{Placement, join_key};
use crate::model::PublishType;

/// The root of every destination.
pub const DEST_ROOT: &str = "NSW-OEH";
const ACCEPTED_CRS: [&str; 2] = ["W84Z55", "W84Z56"];
const ACCEPTED_EPSG: [u32; 2] = [32756, 32755];
const SHAPEFILE_EXTENSIONS: [&str; 9] = [
    "CPG", "cpg", "dbf", "prj", "sbn", "sbx", "shp", "shp.xml", "shx",
];
const OTHER_EXTENSIONS: [&str; 8] = ["zip", "xyz", "xya", "tif", "tiff", "sd", "kmz", "pdf"];
const SOFTWARE_CODES: [&str; 7] = ["FLD", "FMG", "ARC", "GTX", "GSP", "HYP", "QIM"];
const FILE_VERSIONS: [&str; 3] = ["FV00", "FV01", "FV02"];

/// A survey method: its code in names and its folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    MultiBeam,
    SingleBeam,
    Lidar,
}

impl Method {
    fn parse(code: &str) -> Option<Method> {
        match code {
            "MB" => Some(Method::MultiBeam),
            "STAX" => Some(Method::SingleBeam),
            "LD" => Some(Method::Lidar),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Method::MultiBeam => "MB",
            Method::SingleBeam => "STAX",
            Method::Lidar => "LD",
        }
    }

    /// The destination folder of the method.
    pub fn folder(self) -> &'static str {
        match self {
            Method::MultiBeam => "Multi-beam",
            Method::SingleBeam => "Single-beam",
            Method::Lidar => "LIDAR-LADS",
        }
    }

    /// Single-beam and LIDAR packages publish the coverage shapefile and the ZIP only.
    fn is_basic_package(self) -> bool {
        matches!(self, Method::SingleBeam | Method::Lidar)
    }

    /// The attributes the coverage shapefile must have.
    fn shapefile_attributes(self) -> &'static [&'static str] {
        match self {
            Method::MultiBeam => &[
                "SDate", "Location", "Area", "XYZ_File", "XYA_File", "MAX_RES", "Comment",
            ],
            Method::SingleBeam => &["SDate", "Location", "Source_xyz", "AREA", "est_no"],
            Method::Lidar => &[],
        }
    }
}

fn regex(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid pattern"))
}

/// The survey as the ZIP's name gives it (each part empty/absent when the name lacks it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    /// `<date>_<location>`, the destination's last folder.
    pub name: String,
    pub date: Option<String>,
    pub location: Option<String>,
    pub method: Option<Method>,
}

impl Survey {
    /// Reads the survey from the ZIP's name (`NSWOEH_(\d{8}_[A-Za-z]+)` and
    /// `NSWOEH_[^_]+_[^_]+_(MB|STAX|LD)`, matched at the start).
    pub fn from_zip_name(zip_name: &str) -> Survey {
        static NAME: OnceLock<Regex> = OnceLock::new();
        static METHOD: OnceLock<Regex> = OnceLock::new();
        let name = regex(&NAME, r"^NSWOEH_(\d{8}_[A-Za-z]+)")
            .captures(zip_name)
            .map(|c| c[1].to_string())
            .unwrap_or_default();
        let method = regex(&METHOD, r"^NSWOEH_[^_]+_[^_]+_(MB|STAX|LD)")
            .captures(zip_name)
            .and_then(|c| Method::parse(&c[1]));
        let (date, location) = match name.split_once('_') {
            Some((d, l)) => (Some(d.to_string()), Some(l.to_string())),
            None => (None, None),
        };
        Survey {
            name,
            date,
            location,
            method,
        }
    }

    /// `NSW-OEH/<method>/<year>/<date>_<location>`.
    pub fn dest_folder(&self) -> Option<String> {
        let method = self.method?;
        let year = self.name.get(..4).filter(|y| !y.is_empty())?;
        Some([DEST_ROOT, method.folder(), year, &self.name].join("/"))
    }

    /// The naming rules of the first four fields.
    pub fn check_name_basic(&self, file_name: &str) -> Vec<String> {
        let mut messages = Vec::new();
        if file_name.contains(' ') {
            messages.push("File name should not contain spaces".to_string());
        }
        let (fields, _) = name_fields(file_name);
        if fields.len() < 4 {
            messages
                .push("File name should have at least 4 underscore-separated fields.".to_string());
        }
        if fields[0] != "NSWOEH" {
            messages.push("File name must start with 'NSWOEH'".to_string());
        }
        let Some(date) = fields.get(1) else {
            return messages;
        };
        if !is_date(date) {
            messages.push("Field 2 should be a valid date (YYYYMMDD).".to_string());
        } else if let Some(z) = &self.date
            && date != z
        {
            messages.push(format!("Wrong survey date {date} (zip file name has {z})"));
        }
        let Some(location) = fields.get(2) else {
            return messages;
        };
        if location.is_empty() || !location.chars().all(|c| c.is_ascii_alphabetic()) {
            messages
                .push("Field 3 should be a location code consisting only of letters.".to_string());
        } else if let Some(z) = &self.location
            && location != z
        {
            messages.push(format!("Wrong location {location} (zip file name has {z})"));
        }
        let Some(method) = fields.get(3) else {
            return messages;
        };
        match Method::parse(method) {
            None => messages.push("Field 4 should be a valid survey method code".to_string()),
            Some(m) => {
                if let Some(z) = self.method
                    && m != z
                {
                    messages.push(format!(
                        "Wrong survey method code {method}, expected {}",
                        z.code()
                    ));
                }
            }
        }
        messages
    }

    /// The full naming rules of a member.
    pub fn check_name(&self, file_name: &str) -> Vec<String> {
        static PRODUCT: OnceLock<Regex> = OnceLock::new();
        static SYSTEM: OnceLock<Regex> = OnceLock::new();
        static SOFTWARE: OnceLock<Regex> = OnceLock::new();
        let mut messages = self.check_name_basic(file_name);
        let (fields, extension) = name_fields(file_name);
        if extension == "zip" || self.method.is_some_and(Method::is_basic_package) {
            return messages;
        }
        if !OTHER_EXTENSIONS.contains(&extension) && !SHAPEFILE_EXTENSIONS.contains(&extension) {
            messages.push(format!("Unknown extension '{extension}'"));
        }
        let Some(product) = fields.get(4) else {
            messages
                .push("File name should have at least 5 underscore-separated fields.".to_string());
            return messages;
        };
        let Some(m) = regex(&PRODUCT, r"^(?:BTY|BKS|SHP$|ScientificRigour$)").find(product) else {
            messages.push(format!("Unknown product type '{product}'"));
            return messages;
        };
        let product_type = m.as_str();
        match product_type {
            "ScientificRigour" => {
                if extension != "pdf" {
                    messages.push(
                        "The Scientific Rigour (metadata) sheet must be in PDF format.".to_string(),
                    );
                }
                return messages;
            }
            "SHP" => {
                if !SHAPEFILE_EXTENSIONS.contains(&extension) {
                    messages.push(format!("Unknown extension for shapefile '{extension}'"));
                }
                return messages;
            }
            _ if extension == "kmz" => return messages,
            _ => {}
        }
        if fields.len() < 9 {
            messages.push(
                "Bathymetry & backscatter file names should have at least 9 underscore-separated fields."
                    .to_string(),
            );
        }
        if !regex(&SYSTEM, r"^(BTY|BKS)GRD\d{3}(GSS|R2S|MRG)").is_match(product) {
            messages.push(
                "Field 5 contains unknown data product details (expecting 'GRD', grid resolution in \
                 metres, system type GSS|R2S|MRG)."
                    .to_string(),
            );
        }
        let Some(crs) = fields.get(5) else {
            return messages;
        };
        let horizontal: String = crs.chars().take(6).collect();
        if !ACCEPTED_CRS.contains(&horizontal.as_str()) {
            messages.push("Coordinate system should be one of ('W84Z55', 'W84Z56').".to_string());
        }
        let vertical = if product_type == "BTY" { "AHD" } else { "GRY" };
        let rest: String = crs.chars().skip(6).collect();
        if rest != vertical {
            messages.push(format!(
                "For a '{product_type}' product, field 6 should end with '{vertical}'."
            ));
        }
        let Some(software) = fields.get(6) else {
            return messages;
        };
        let software_ok =
            regex(&SOFTWARE, r"^(FLD|FMG|ARC|GTX|GSP|HYP|QIM)(\d{3})$").is_match(software);
        if !software_ok {
            messages.push(format!(
                "Field 7 should be a valid software code ({}) followed by a 3-digit version number.",
                SOFTWARE_CODES.map(|c| format!("'{c}'")).join(", ")
            ));
        }
        let Some(export) = fields.get(7) else {
            return messages;
        };
        if !is_date(export) {
            messages.push("Field 8 should be a valid date (YYYYMMDD).".to_string());
        }
        let Some(version) = fields.get(8) else {
            return messages;
        };
        if !FILE_VERSIONS.contains(version) {
            messages.push(
                "Field 9 should be a file version number ('FV00', 'FV01', 'FV02')".to_string(),
            );
        }
        messages
    }
}

/// The `_` fields of a name before its first `.`, and what follows that `.`.
pub fn name_fields(file_name: &str) -> (Vec<&str>, &str) {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let (stem, extension) = base.split_once('.').unwrap_or((base, ""));
    (stem.split('_').collect(), extension)
}

/// `YYYYMMDD` as Python's `strptime('%Y%m%d')` reads it, and 8 characters long.
pub fn is_date(field: &str) -> bool {
    static DATE: OnceLock<Regex> = OnceLock::new();
    let re = regex(
        &DATE,
        r"^(\d{4})(1[0-2]|0[1-9]|[1-9])(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])",
    );
    // strptime takes the first match of its pattern and refuses anything left over.
    let Some(c) = re.captures(field) else {
        return false;
    };
    let whole = c.get(0).expect("the match");
    let n = |i: usize| c[i].trim().parse::<u32>().ok();
    whole.end() == field.len()
        && field.chars().count() == 8
        && NaiveDate::from_ymd_opt(
            c[1].parse().unwrap_or(0),
            n(2).unwrap_or(0),
            n(3).unwrap_or(0),
        )
        .is_some()
}

/// Whether a CRS field's first six characters are an accepted horizontal system: the reference's
/// `check_crs`, one message or none.
pub fn check_crs(crs_field: &str) -> Vec<String> {
    if ACCEPTED_CRS.contains(&crs_field) {
        Vec::new()
    } else {
        vec!["Coordinate system should be one of ('W84Z55', 'W84Z56').".to_string()]
    }
}

/// The check report: headings (a file name, the ZIP's name, or "Zip file contents") with their
/// messages, in the order found.
pub type Report = Vec<(String, Vec<String>)>;

/// Every check of the package. `zip_path` is the uploaded ZIP, `zip_name` its name.
pub fn check_all(zip_name: &str, zip_path: &Path) -> Report {
    let survey = Survey::from_zip_name(zip_name);
    let mut report: Report = Vec::new();
    let set = |report: &mut Report, heading: &str, messages: Vec<String>| match report
        .iter_mut()
        .find(|(h, _)| h == heading)
    {
        Some((_, m)) => *m = messages,
        None => report.push((heading.to_string(), messages)),
    };
    let messages = survey.check_name_basic(zip_name);
    if !messages.is_empty() {
        set(&mut report, zip_name, messages);
    }
    let Some(mut zip) = std::fs::File::open(zip_path)
        .ok()
        .and_then(|f| zip::ZipArchive::new(f).ok())
    else {
        set(
            &mut report,
            zip_name,
            vec!["Not a valid zip archive!".to_string()],
        );
        return report;
    };
    let mut paths: Vec<String> = zip.file_names().map(str::to_string).collect();
    paths.sort();
    let (mut have_metadata, mut have_coverage, mut have_xyz) = (false, false, false);
    for path in &paths {
        let file_name = path.rsplit('/').next().unwrap_or(path);
        if file_name.is_empty() {
            continue;
        }
        let mut messages = survey.check_name(file_name);
        have_metadata |= file_name.ends_with("ScientificRigour.pdf");
        have_xyz |= file_name.ends_with(".xyz");
        if file_name.ends_with("_SHP.shp") {
            have_coverage = true;
            messages.extend(check_shapefile(&survey, &mut zip, path));
        }
        if !messages.is_empty() {
            set(&mut report, file_name, messages);
        }
    }
    let mut overall = Vec::new();
    if !have_metadata {
        overall.push("Missing metadata file (PDF format)".to_string());
    }
    if !have_coverage {
        overall.push("Missing survey coverage shapefile".to_string());
    }
    if !have_xyz && survey.method == Some(Method::MultiBeam) {
        overall.push("Missing bathymetry xyz file".to_string());
    }
    if !overall.is_empty() {
        set(&mut report, "Zip file contents", overall);
    }
    report
}

/// A member of the ZIP beside `shp_path` with another extension (as given, then upper case).
fn sibling<R: Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    shp_path: &str,
    extension: &str,
) -> Option<Vec<u8>> {
    let stem = shp_path.strip_suffix(".shp")?;
    for ext in [extension.to_string(), extension.to_uppercase()] {
        if let Ok(mut member) = zip.by_name(&format!("{stem}.{ext}")) {
            let mut bytes = Vec::new();
            if member.read_to_end(&mut bytes).is_ok() {
                return Some(bytes);
            }
        }
    }
    None
}

/// The coverage shapefile's checks, reading it inside the ZIP at `shp_path`.
pub fn check_shapefile<R: Read + std::io::Seek>(
    survey: &Survey,
    zip: &mut zip::ZipArchive<R>,
    shp_path: &str,
) -> Vec<String> {
    let unable = |why: String| vec![format!("Unable to open shapefile ({why})")];
    let shp_name = shp_path.rsplit('/').next().unwrap_or(shp_path);
    let Some(shp) = sibling(zip, shp_path, "shp") else {
        return unable(format!("{shp_name} cannot be read from the ZIP"));
    };
    let Some(shx) = sibling(zip, shp_path, "shx") else {
        return unable(format!(
            "no {} beside {shp_name}: a shapefile needs its .shx index",
            shp_name.replace(".shp", ".shx")
        ));
    };
    let mut shapes = match shapefile::ShapeReader::with_shx(Cursor::new(shp), Cursor::new(shx)) {
        Ok(r) => r,
        Err(e) => return unable(format!("{shp_name}: {e}")),
    };
    let count = match shapes.shape_count() {
        Ok(n) => n,
        Err(e) => return unable(format!("{shp_name}: {e}")),
    };
    let mut messages = Vec::new();
    if count != 1 {
        messages.push(format!(
            "Shapefile should have exactly one feature (found {count})"
        ));
    }
    if count > 0
        && let Some(Err(e)) = shapes.read_nth_shape(0)
    {
        messages.push(format!(
            "Unable to read the shapefile's first feature ({e})"
        ));
    }

    let (field_names, sdate) = match sibling(zip, shp_path, "dbf") {
        None => (BTreeSet::new(), None),
        Some(dbf) => match shapefile::dbase::Reader::new(Cursor::new(dbf)) {
            Err(e) => {
                messages.push(format!("Unable to read the shapefile's attributes ({e})"));
                (BTreeSet::new(), None)
            }
            Ok(mut reader) => {
                let names: BTreeSet<String> = reader
                    .fields()
                    .iter()
                    .map(|f| f.name().to_string())
                    .collect();
                let sdate = reader
                    .iter_records()
                    .next()
                    .and_then(Result::ok)
                    .and_then(|r| r.get("SDate").map(field_text))
                    .flatten();
                (names, sdate)
            }
        },
    };
    if let Some(method) = survey.method {
        let missing: Vec<&str> = method
            .shapefile_attributes()
            .iter()
            .copied()
            .filter(|a| !field_names.contains(*a))
            .collect();
        if !missing.is_empty() {
            let mut missing = missing;
            missing.sort();
            messages.push(format!(
                "Missing required attributes [{}]",
                missing
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let crs = match sibling(zip, shp_path, "prj") {
        None => Err("none (no .prj file)".to_string()),
        Some(bytes) => identify_epsg(&String::from_utf8_lossy(&bytes)),
    };
    if !crs.as_ref().is_ok_and(|code| ACCEPTED_EPSG.contains(code)) {
        let found = match crs {
            Ok(code) => format!("EPSG:{code}"),
            Err(what) => what,
        };
        messages.push(format!(
            "Unknown CRS {found}, expected EPSG:32756 (WGS 84 / UTM zone 56S) or EPSG:32755 (WGS 84 / UTM zone 55S)"
        ));
    }
    let (fields, _) = name_fields(shp_name);
    if let Some(sdate) = sdate
        && !sdate.is_empty()
        && Some(sdate.as_str()) != fields.get(1).copied()
    {
        messages.push(format!(
            "Date in shapefile field SDate ({sdate}) inconsistent with file name date ({})",
            fields.get(1).copied().unwrap_or_default()
        ));
    }
    messages
}

/// A dBase value as text (what the shapefile's `SDate` is compared as).
fn field_text(value: &shapefile::dbase::FieldValue) -> Option<String> {
    use shapefile::dbase::FieldValue;
    match value {
        FieldValue::Character(s) => s.as_ref().map(|s| s.trim().to_string()),
        FieldValue::Numeric(n) => n.map(|v| format!("{v}")),
        FieldValue::Date(d) => d.map(|d| format!("{:04}{:02}{:02}", d.year(), d.month(), d.day())),
        other => Some(format!("{other}")),
    }
}

/// A node of a WKT text: `KEYWORD[arg, arg, …]`.
#[derive(Debug, Clone, PartialEq)]
enum Wkt {
    Node(String, Vec<Wkt>),
    Text(String),
    Number(f64),
}

fn parse_wkt(text: &str) -> Option<Wkt> {
    fn node(s: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Wkt> {
        while s.peek().is_some_and(|c| c.is_whitespace()) {
            s.next();
        }
        match *s.peek()? {
            '"' => {
                s.next();
                let mut out = String::new();
                loop {
                    match s.next()? {
                        '"' if s.peek() == Some(&'"') => {
                            s.next();
                            out.push('"');
                        }
                        '"' => break,
                        c => out.push(c),
                    }
                }
                Some(Wkt::Text(out))
            }
            c if c.is_ascii_alphabetic() => {
                let mut keyword = String::new();
                while let Some(&c) = s.peek() {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        keyword.push(c);
                        s.next();
                    } else {
                        break;
                    }
                }
                while s.peek().is_some_and(|c| c.is_whitespace()) {
                    s.next();
                }
                let mut args = Vec::new();
                if matches!(s.peek(), Some('[') | Some('(')) {
                    s.next();
                    loop {
                        args.push(node(s)?);
                        while s.peek().is_some_and(|c| c.is_whitespace()) {
                            s.next();
                        }
                        match s.next()? {
                            ',' => continue,
                            ']' | ')' => break,
                            _ => return None,
                        }
                    }
                    Some(Wkt::Node(keyword.to_uppercase(), args))
                } else {
                    Some(Wkt::Text(keyword))
                }
            }
            _ => {
                let mut number = String::new();
                while let Some(&c) = s.peek() {
                    if c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E') {
                        number.push(c);
                        s.next();
                    } else {
                        break;
                    }
                }
                number.parse().ok().map(Wkt::Number)
            }
        }
    }
    node(&mut text.trim().chars().peekable())
}

impl Wkt {
    fn children<'a>(&'a self, keyword: &'a str) -> impl Iterator<Item = &'a Wkt> + 'a {
        let args: &[Wkt] = match self {
            Wkt::Node(_, args) => args,
            _ => &[],
        };
        args.iter()
            .filter(move |a| matches!(a, Wkt::Node(k, _) if k == keyword))
    }

    fn child<'a>(&'a self, keyword: &'a str) -> Option<&'a Wkt> {
        self.children(keyword).next()
    }

    fn name(&self) -> Option<&str> {
        match self {
            Wkt::Node(_, args) => match args.first() {
                Some(Wkt::Text(t)) => Some(t),
                _ => None,
            },
            _ => None,
        }
    }

    fn number(&self, index: usize) -> Option<f64> {
        match self {
            Wkt::Node(_, args) => match args.get(index) {
                Some(Wkt::Number(n)) => Some(*n),
                _ => None,
            },
            _ => None,
        }
    }

    /// The node's own `AUTHORITY["EPSG","code"]`.
    fn epsg(&self) -> Option<u32> {
        let authority = self.child("AUTHORITY")?;
        let Wkt::Node(_, args) = authority else {
            return None;
        };
        match (args.first(), args.get(1)) {
            (Some(Wkt::Text(a)), Some(Wkt::Text(code))) if a.eq_ignore_ascii_case("EPSG") => {
                code.parse().ok()
            }
            (Some(Wkt::Text(a)), Some(Wkt::Number(code))) if a.eq_ignore_ascii_case("EPSG") => {
                Some(*code as u32)
            }
            _ => None,
        }
    }
}

/// The EPSG code of a `.prj` text, or (in `Err`) what the system is when it has none.
pub fn identify_epsg(prj: &str) -> Result<u32, String> {
    let wkt = parse_wkt(prj).ok_or_else(|| format!("{:?} (not readable WKT)", prj.trim()))?;
    if let Some(code) = wkt.epsg() {
        return Ok(code);
    }
    let describe = || format!("{:?} (no EPSG code)", wkt.name().unwrap_or_default());
    let is_wgs84 = |geogcs: &Wkt| {
        let datum = geogcs
            .child("DATUM")
            .and_then(Wkt::name)
            .unwrap_or_default();
        let key: String = datum
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_lowercase();
        matches!(key.as_str(), "dwgs1984" | "wgs1984" | "wgs84")
    };
    match &wkt {
        Wkt::Node(k, _) if k == "GEOGCS" => {
            if is_wgs84(&wkt) {
                Ok(4326)
            } else {
                Err(describe())
            }
        }
        Wkt::Node(k, _) if k == "PROJCS" => {
            let geogcs = wkt.child("GEOGCS").ok_or_else(describe)?;
            let projection = wkt
                .child("PROJECTION")
                .and_then(Wkt::name)
                .unwrap_or_default();
            if !is_wgs84(geogcs) || !projection.eq_ignore_ascii_case("Transverse_Mercator") {
                return Err(describe());
            }
            let parameter = |name: &str| {
                wkt.children("PARAMETER")
                    .find(|p| p.name().is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    .and_then(|p| p.number(1))
            };
            let near = |v: Option<f64>, want: f64| v.is_some_and(|v| (v - want).abs() < 1e-6);
            let central = parameter("central_meridian").ok_or_else(describe)?;
            let zone = (central + 183.0) / 6.0;
            let north = near(parameter("false_northing"), 0.0);
            let south = near(parameter("false_northing"), 10_000_000.0);
            if near(parameter("latitude_of_origin"), 0.0)
                && near(parameter("scale_factor"), 0.9996)
                && near(parameter("false_easting"), 500_000.0)
                && (north || south)
                && (zone - zone.round()).abs() < 1e-9
                && (1.0..=60.0).contains(&zone)
            {
                Ok(if south { 32700 } else { 32600 } + zone.round() as u32)
            } else {
                Err(describe())
            }
        }
        _ => Err(describe()),
    }
}

/// How a checked package is published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyPlan {
    pub survey: Survey,
    /// `NSW-OEH/<method>/<year>/<date>_<location>`.
    pub folder: String,
    /// The ZIP itself: `HARVEST_UPLOAD` for single-beam and LIDAR, not published for multi-beam.
    pub upload: Option<Placement>,
    /// One per member of the collection.
    pub files: Vec<Placement>,
}

/// The stream's upload rule (the reference's `allowed_extensions`).
pub fn check_upload_name(upload_name: &str) -> Result<(), HandlerError> {
    if upload_name.ends_with(".zip") {
        Ok(())
    } else {
        Err(HandlerError::rejected(format!(
            "{upload_name}: NSW OEH surveys are uploaded as one ZIP named \
             NSWOEH_<YYYYMMDD>_<Location>_<MB|STAX|LD>.zip"
        )))
    }
}

/// Checks the uploaded ZIP (`zip_path`, named `upload_name`) and places the collection's files
/// (`names`: the members' base names). A failed check rejects with the whole report.
pub fn prepare(
    upload_name: &str,
    zip_path: &Path,
    names: &[&str],
) -> Result<SurveyPlan, HandlerError> {
    check_upload_name(upload_name)?;
    let report = check_all(upload_name, zip_path);
    if !report.is_empty() {
        let mut text = format!("Zip file '{upload_name}' failed content checks:\n");
        for (heading, messages) in &report {
            text.push_str(&format!("\n{heading}:\n"));
            for (i, m) in messages.iter().enumerate() {
                text.push_str(&format!("{}. {m}\n", i + 1));
            }
        }
        return Err(HandlerError::Rejected(text));
    }
    let survey = Survey::from_zip_name(upload_name);
    let folder = survey.dest_folder().ok_or_else(|| {
        HandlerError::rejected(format!(
            "{upload_name}: could not determine the destination: the name must be \
             NSWOEH_<YYYYMMDD>_<Location>_<MB|STAX|LD>.zip"
        ))
    })?;
    static SHAPEFILE_PART: OnceLock<Regex> = OnceLock::new();
    let part = regex(
        &SHAPEFILE_PART,
        r"^.*_SHP.(CPG|cpg|dbf|prj|sbn|sbx|shp|shp.xml|shx)",
    );
    let basic = survey.method.is_some_and(Method::is_basic_package);
    let at = |name: &str| Some(join_key(&folder, name));
    let files = names
        .iter()
        .map(|name| {
            if basic && !part.is_match(name) {
                Placement::new(name, PublishType::NoAction, None)
            } else {
                Placement::new(name, PublishType::HarvestUpload, at(name))
            }
        })
        .collect();
    let upload =
        basic.then(|| Placement::new(upload_name, PublishType::HarvestUpload, at(upload_name)));
    Ok(SurveyPlan {
        survey,
        folder,
        upload,
        files,
    })
}

#[cfg(test)]
mod tests;
