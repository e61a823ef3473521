//! Keeping secrets out of logs, messages and reports: a password type that never prints itself,
//! and URLs shown with their passwords masked.

/// A secret setting (a password): shown as `***` by `Debug`, so it never reaches a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that hands it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// A URL with any password replaced by `***`, for messages and logs.
pub fn redact_userinfo(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(_) => value.to_string(),
        // Not a URL the parser accepts: cut any `user:password@` by hand.
        Err(_) => match (value.find("://"), value.rfind('@')) {
            (Some(s), Some(at)) if at > s && value[s + 3..at].contains(':') => {
                let user = value[s + 3..at].split(':').next().unwrap_or("");
                format!("{}://{user}:***@{}", &value[..s], &value[at + 1..])
            }
            _ => value.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_masked_in_messages() {
        assert_eq!(
            redact_userinfo("postgres://app:secret@db:5432/ingest"),
            "postgres://app:***@db:5432/ingest"
        );
        assert_eq!(redact_userinfo("smtp://h:25"), "smtp://h:25");
        assert_eq!(
            redact_userinfo("ftp ://u:secret@h"),
            "ftp ://u:***@h",
            "even where the URL does not parse"
        );
    }
}
