//! Check types and publish types, as the reference pipeline defines them.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Which check a file gets in the check step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckType {
    /// No check at all.
    NoAction,
    /// The file has at least one byte.
    NonEmpty,
    /// The file opens as what its extension says (a `.nc` opens with libnetcdf).
    Format,
    /// NetCDF compliance against the pipeline's suites (CF, IMOS, GHRSST).
    NcCompliance,
    /// A CSV file against the pipeline's table schema.
    TableSchema,
}

impl CheckType {
    pub const ALL: [CheckType; 5] = [
        CheckType::NoAction,
        CheckType::NonEmpty,
        CheckType::Format,
        CheckType::NcCompliance,
        CheckType::TableSchema,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CheckType::NoAction => "no_action",
            CheckType::NonEmpty => "non_empty",
            CheckType::Format => "format",
            CheckType::NcCompliance => "nc_compliance",
            CheckType::TableSchema => "table_schema",
        }
    }
}

/// A publish type: which of archive, store (public) and harvest (index) happen, as an addition
/// or a deletion. Named as the reference names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublishType {
    NoAction,
    ArchiveOnly,
    UploadOnly,
    HarvestOnly,
    HarvestArchive,
    /// The default for additions.
    HarvestUpload,
    HarvestArchiveUpload,
    UnharvestOnly,
    DeleteOnly,
    /// The default for deletions.
    DeleteUnharvest,
}

impl PublishType {
    pub const ALL: [PublishType; 10] = [
        PublishType::NoAction,
        PublishType::ArchiveOnly,
        PublishType::UploadOnly,
        PublishType::HarvestOnly,
        PublishType::HarvestArchive,
        PublishType::HarvestUpload,
        PublishType::HarvestArchiveUpload,
        PublishType::UnharvestOnly,
        PublishType::DeleteOnly,
        PublishType::DeleteUnharvest,
    ];

    pub const DEFAULT_ADDITION: PublishType = PublishType::HarvestUpload;
    pub const DEFAULT_DELETION: PublishType = PublishType::DeleteUnharvest;

    pub fn as_str(self) -> &'static str {
        match self {
            PublishType::NoAction => "no_action",
            PublishType::ArchiveOnly => "archive_only",
            PublishType::UploadOnly => "upload_only",
            PublishType::HarvestOnly => "harvest_only",
            PublishType::HarvestArchive => "harvest_archive",
            PublishType::HarvestUpload => "harvest_upload",
            PublishType::HarvestArchiveUpload => "harvest_archive_upload",
            PublishType::UnharvestOnly => "unharvest_only",
            PublishType::DeleteOnly => "delete_only",
            PublishType::DeleteUnharvest => "delete_unharvest",
        }
    }

    /// Copy the file into the archive store.
    pub fn archive(self) -> bool {
        matches!(
            self,
            PublishType::ArchiveOnly
                | PublishType::HarvestArchive
                | PublishType::HarvestArchiveUpload
        )
    }

    /// Write the file to the public store.
    pub fn store(self) -> bool {
        matches!(
            self,
            PublishType::UploadOnly
                | PublishType::HarvestUpload
                | PublishType::HarvestArchiveUpload
        )
    }

    /// Record the file in the index.
    pub fn harvest(self) -> bool {
        matches!(
            self,
            PublishType::HarvestOnly
                | PublishType::HarvestArchive
                | PublishType::HarvestUpload
                | PublishType::HarvestArchiveUpload
        )
    }

    /// Remove the file from the public store.
    pub fn delete(self) -> bool {
        matches!(self, PublishType::DeleteOnly | PublishType::DeleteUnharvest)
    }

    /// Mark the file deleted in the index.
    pub fn unharvest(self) -> bool {
        matches!(
            self,
            PublishType::UnharvestOnly | PublishType::DeleteUnharvest
        )
    }

    /// Whether this type applies to deletions (as opposed to additions).
    pub fn is_deletion(self) -> bool {
        self.delete() || self.unharvest()
    }
}

/// An unknown name for a check or publish type, listing the valid ones.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {given:?}; expected one of: {expected}")]
pub struct UnknownName {
    pub what: &'static str,
    pub given: String,
    pub expected: String,
}

/// Parses a name as the enum's serde derive spells it (`harvest_upload`), or says what the
/// choices are: how pipeline files and flags name every enum.
pub fn parse_named<T: DeserializeOwned>(what: &'static str, given: &str) -> Result<T, UnknownName> {
    use serde::de::IntoDeserializer;
    T::deserialize(IntoDeserializer::<NameError>::into_deserializer(given)).map_err(|e| {
        UnknownName {
            what,
            given: given.to_string(),
            expected: e.expected.join(", "),
        }
    })
}

/// Serde's answer to a name that is not a variant, keeping the list of variants it gives.
#[derive(Debug)]
struct NameError {
    expected: &'static [&'static str],
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "expected one of: {}", self.expected.join(", "))
    }
}

impl std::error::Error for NameError {}

impl serde::de::Error for NameError {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NameError { expected: &[] }
    }

    fn unknown_variant(_: &str, expected: &'static [&'static str]) -> Self {
        NameError { expected }
    }
}

impl FromStr for CheckType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_named("check type", s)
    }
}

impl FromStr for PublishType {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_named("publish type", s)
    }
}

impl fmt::Display for CheckType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for PublishType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_flags_match_the_reference_matrix() {
        use PublishType::*;
        // (type, archive, store, harvest, delete, unharvest)
        let matrix = [
            (NoAction, false, false, false, false, false),
            (ArchiveOnly, true, false, false, false, false),
            (UploadOnly, false, true, false, false, false),
            (HarvestOnly, false, false, true, false, false),
            (HarvestArchive, true, false, true, false, false),
            (HarvestUpload, false, true, true, false, false),
            (HarvestArchiveUpload, true, true, true, false, false),
            (UnharvestOnly, false, false, false, false, true),
            (DeleteOnly, false, false, false, true, false),
            (DeleteUnharvest, false, false, false, true, true),
        ];
        for (t, archive, store, harvest, delete, unharvest) in matrix {
            assert_eq!(
                (
                    t.archive(),
                    t.store(),
                    t.harvest(),
                    t.delete(),
                    t.unharvest()
                ),
                (archive, store, harvest, delete, unharvest),
                "{t}"
            );
        }
        assert_eq!(matrix.len(), PublishType::ALL.len());
    }

    #[test]
    fn names_round_trip_and_unknown_names_list_the_choices() {
        for t in PublishType::ALL {
            assert_eq!(t.as_str().parse::<PublishType>().unwrap(), t);
        }
        for t in CheckType::ALL {
            assert_eq!(t.as_str().parse::<CheckType>().unwrap(), t);
        }
        let err = "harvest_everything"
            .parse::<PublishType>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("harvest_upload"), "{err}");
    }
}
