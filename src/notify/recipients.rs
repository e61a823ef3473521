//! Who hears about a job: providers about their data, the data team about everything else.

use crate::report::Outcome;

/// The recipients of a job's notification, deduplicated case-insensitively, in a stable order.
/// - published: the pipeline's success list and the uploader;
/// - rejected: the uploader and the owners (the provider must fix their file);
/// - failed (transient or internal): the owners and the data team only — never the provider,
///   whose data is not at fault and who must not see our infrastructure's errors;
/// - duplicate: nobody (nothing happened).
///
/// Where there are no owners (an upload no pipeline claims, or a pipeline without `owners`) the
/// data team stands in for them, so a rejection is never seen by the provider alone.
pub fn for_outcome(
    outcome: Outcome,
    uploader: Option<&str>,
    owners: &[String],
    notify_success: &[String],
    ops: &[String],
) -> Vec<String> {
    let owners = owners_or(owners, ops);
    let uploader: Vec<String> = uploader.map(|u| vec![u.to_string()]).unwrap_or_default();
    let lists: Vec<&[String]> = match outcome {
        Outcome::Published => vec![notify_success, &uploader],
        Outcome::Rejected => vec![&uploader, owners],
        Outcome::FailedTransient | Outcome::FailedInternal => vec![owners, ops],
        Outcome::Duplicate => vec![],
    };
    let all: Vec<String> = lists.into_iter().flatten().cloned().collect();
    dedup(&all)
}

/// Where replies should go: a provider who answers a report reaches the owners, not the sender's
/// unattended mailbox. Failure reports go to the owners themselves and need no Reply-To.
pub fn reply_to(outcome: Outcome, owners: &[String], ops: &[String]) -> Vec<String> {
    match outcome {
        Outcome::Published | Outcome::Rejected => dedup(owners_or(owners, ops)),
        _ => Vec::new(),
    }
}

fn owners_or<'a>(owners: &'a [String], ops: &'a [String]) -> &'a [String] {
    if owners.iter().any(|o| !o.trim().is_empty()) {
        owners
    } else {
        ops
    }
}

fn dedup(addrs: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for addr in addrs {
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

    #[test]
    fn without_owners_the_data_team_hears_about_rejections_and_failures() {
        let ops = v(&["ops@x.org"]);
        let up = Some("provider@y.org");
        assert_eq!(
            for_outcome(Outcome::Rejected, up, &[], &[], &ops),
            v(&["provider@y.org", "ops@x.org"])
        );
        assert_eq!(
            for_outcome(Outcome::FailedInternal, up, &v(&[" "]), &[], &ops),
            v(&["ops@x.org"])
        );
        // A success with no success list and no uploader tells nobody.
        assert!(for_outcome(Outcome::Published, None, &[], &[], &ops).is_empty());
    }

    #[test]
    fn replies_to_a_provider_report_reach_the_owners() {
        let owners = v(&["owner@x.org", "OWNER@x.org"]);
        let ops = v(&["ops@x.org"]);
        assert_eq!(
            reply_to(Outcome::Published, &owners, &ops),
            v(&["owner@x.org"])
        );
        assert_eq!(reply_to(Outcome::Rejected, &[], &ops), ops);
        assert!(reply_to(Outcome::FailedTransient, &owners, &ops).is_empty());
    }
}
