//! Who hears about a job: providers about their data, the data team about everything else.

use crate::job::Outcome;

/// The recipients of a job's notification, deduplicated case-insensitively, in a stable order.
/// - published: the pipeline's success list and the uploader;
/// - rejected: the uploader and the owners (the provider must fix their file);
/// - failed (transient or internal): the owners and the data team only — never the provider;
/// - duplicate: nobody (nothing happened).
pub fn for_outcome(
    outcome: Outcome,
    uploader: Option<&str>,
    owners: &[String],
    notify_success: &[String],
    ops: &[String],
) -> Vec<String> {
    let uploader: Vec<String> = uploader.map(|u| vec![u.to_string()]).unwrap_or_default();
    let lists: Vec<&[String]> = match outcome {
        Outcome::Published => vec![notify_success, &uploader],
        Outcome::Rejected => vec![&uploader, owners],
        Outcome::FailedTransient | Outcome::FailedInternal => vec![owners, ops],
        Outcome::Duplicate => vec![],
    };
    let mut out: Vec<String> = Vec::new();
    for addr in lists.into_iter().flatten() {
        let addr = addr.trim();
        if !addr.is_empty() && !out.iter().any(|x| x.eq_ignore_ascii_case(addr)) {
            out.push(addr.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<String> {
        xs.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn each_outcome_reaches_the_right_people_once() {
        let owners = v(&["owner@x.org", "Data@x.org"]);
        let success = v(&["data@x.org", "portal@x.org"]);
        let ops = v(&["ops@x.org"]);
        let up = Some("provider@y.org");
        assert_eq!(
            for_outcome(Outcome::Published, up, &owners, &success, &ops),
            v(&["data@x.org", "portal@x.org", "provider@y.org"])
        );
        assert_eq!(
            for_outcome(Outcome::Rejected, up, &owners, &success, &ops),
            v(&["provider@y.org", "owner@x.org", "Data@x.org"])
        );
        assert_eq!(
            for_outcome(Outcome::FailedTransient, up, &owners, &success, &ops),
            v(&["owner@x.org", "Data@x.org", "ops@x.org"])
        );
        assert!(for_outcome(Outcome::Duplicate, up, &owners, &success, &ops).is_empty());
    }
}
