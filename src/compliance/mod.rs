//! NetCDF compliance suites (CF, IMOS, GHRSST). The suites themselves are not built yet: every
//! suite name is refused with "unknown check suite", so no pipeline can silently skip its checks.

/// A compliance suite and version, e.g. `cf:1.6`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suite {
    pub name: String,
    pub version: String,
}

impl std::fmt::Display for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.name, self.version)
    }
}

/// The suites this build implements.
pub const KNOWN_SUITES: &[&str] = &[];

/// Parses a suite name, refusing any this build does not implement.
pub fn parse_suite(name: &str) -> Result<Suite, String> {
    if !KNOWN_SUITES.contains(&name) {
        let known = if KNOWN_SUITES.is_empty() {
            "none yet".to_string()
        } else {
            KNOWN_SUITES.join(", ")
        };
        return Err(format!(
            "unknown check suite {name:?} (suites in this build: {known})"
        ));
    }
    let (n, v) = name.split_once(':').unwrap_or((name, ""));
    Ok(Suite {
        name: n.to_string(),
        version: v.to_string(),
    })
}

/// Runs the pipeline's suites on a file that opens as NetCDF. With no suite in this build, a
/// compliance check can only be reached by a bug: it fails loudly rather than pass.
pub fn check_for_pipeline(
    _path: &std::path::Path,
    params: &crate::check::CheckParams,
) -> crate::check::CheckOutcome {
    crate::check::CheckOutcome {
        passed: false,
        log: vec![format!(
            "NetCDF compliance suites {:?} are not available in this build",
            params
                .suites
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        )],
    }
}
