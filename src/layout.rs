//! Where everything lives: the one place that builds keys for the archive, public, error and
//! reports stores, so no other module invents a path.

use crate::store::{InvalidKey, Key};

/// The two stores whose paths pipelines own: the public store (with the index rows at the same
/// destinations) and the archive (its per-file copies). A path in each belongs to one pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    Public,
    Archive,
}

impl Area {
    pub const ALL: [Area; 2] = [Area::Public, Area::Archive];

    /// The area as the index stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            Area::Public => "public",
            Area::Archive => "archive",
        }
    }

    /// The store's name in messages.
    pub fn store(self) -> &'static str {
        match self {
            Area::Public => "the public store",
            Area::Archive => "the archive",
        }
    }
}

/// Where the archive keeps the uploads themselves; no per-file archive path may lie under it.
pub const UPLOADS_PREFIX: &str = "_uploads/";

/// The archive copy of an accepted upload: `_uploads/<pipeline>/<name>.<job_id>`. The job id keeps
/// every upload of the same name, so the archive only ever grows.
pub fn archived_upload(pipeline: &str, name: &str, job_id: &str) -> Result<Key, InvalidKey> {
    Key::new(format!("{UPLOADS_PREFIX}{pipeline}/{name}.{job_id}"))
}

/// The archive copy of one published file (publish types with the archive flag): its own path.
pub fn archived_file(archive_path: &str) -> Result<Key, InvalidKey> {
    Key::new(archive_path)
}

/// Where a rejected or failed upload is kept: `<pipeline>/<name>.<job_id>` in the error store.
pub fn error_copy(pipeline: &str, name: &str, job_id: &str) -> Result<Key, InvalidKey> {
    Key::new(format!("{pipeline}/{name}.{job_id}"))
}

/// The prefix under which every earlier failure of `name` sits in the error store.
pub fn error_copies_prefix(pipeline: &str, name: &str) -> String {
    format!("{pipeline}/{name}.")
}

/// The pipeline name used in keys when no pipeline claims an upload.
pub const UNROUTED: &str = "_unrouted";

/// A published file in the public store: exactly its destination path.
pub fn public_file(dest_path: &str) -> Result<Key, InvalidKey> {
    Key::new(dest_path)
}

/// The JSON report of a job: `<pipeline>/<job_id>.json` in the reports store.
pub fn job_report(pipeline: &str, job_id: &str) -> Result<Key, InvalidKey> {
    Key::new(format!("{pipeline}/{job_id}.json"))
}

/// A file stored beside a job's report (e.g. a quick-look plot).
pub fn job_attachment(pipeline: &str, job_id: &str, name: &str) -> Result<Key, InvalidKey> {
    Key::new(format!("{pipeline}/{job_id}/{name}"))
}

/// The dashboard page at the root of the reports store, beside the pipelines' report folders.
pub fn dashboard() -> Key {
    Key::new(DASHBOARD).expect("a plain file name is a key")
}

/// The dashboard page's file name (also what `ocean-ingest dashboard --out DIR` writes there).
pub const DASHBOARD: &str = "dashboard.html";

/// The name of a stash (a copy a store keeps of an object a job is about to replace or delete):
/// `<job_id>.<n>`, so a stash always says which job it belongs to.
pub fn stash_name(job_id: &str, n: usize) -> String {
    format!("{job_id}.{n}")
}

/// The job a stash belongs to, read from its name; `None` for a name this layout never made.
pub fn stash_owner(stash: &str) -> Option<&str> {
    let (job, n) = stash.rsplit_once('.')?;
    (!job.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then_some(job)
}

/// A job's work folder: `ocean-ingest-<job_id>-<random>` in the work directory, so debris of a
/// job that died says whose it was.
pub fn work_folder_prefix(job_id: &str) -> String {
    format!("{WORK_FOLDER_PREFIX}{job_id}-")
}

/// What every job's work folder is named from.
pub const WORK_FOLDER_PREFIX: &str = "ocean-ingest-";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_documented_layout() {
        assert_eq!(
            error_copy("anmn", "a.nc", "J1").unwrap().as_str(),
            "anmn/a.nc.J1"
        );
        assert!(
            error_copy("anmn", "a.nc", "J1")
                .unwrap()
                .as_str()
                .starts_with(&error_copies_prefix("anmn", "a.nc"))
        );
        assert_eq!(
            archived_upload("anmn", "a.nc", "J1").unwrap().as_str(),
            "_uploads/anmn/a.nc.J1"
        );
        assert_eq!(job_report("anmn", "J1").unwrap().as_str(), "anmn/J1.json");
        assert!(public_file("../etc/passwd").is_err());
        assert_eq!(dashboard().as_str(), "dashboard.html");
        let stash = stash_name("0192-ab", 7);
        assert_eq!(stash_owner(&stash), Some("0192-ab"));
        assert_eq!(
            stash_owner("0123456789abcdef"),
            None,
            "an older, unowned name"
        );
        assert_eq!(stash_owner("job.x"), None);
    }
}
