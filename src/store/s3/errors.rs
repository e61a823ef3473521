//! S3 SDK errors as store errors, through the one AWS classifier ([`crate::aws::errors`]).

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::aws::errors::{Service, describe};
use crate::store::{StoreError, StoreOp};

/// A store error from an SDK error: the operation, the object's URL, the kind, and a message
/// with the HTTP status, S3's error code and what to do about it.
pub fn store_error<E>(op: StoreOp, url: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let (kind, message) = describe(Service::S3, &err);
    StoreError::new(op, url, kind, message).with_source(err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::errors::testing::service_error;
    use crate::store::ErrorKind;

    #[test]
    fn messages_say_who_must_act() {
        let err = store_error(StoreOp::Put, "s3://b/k", service_error(403, "AccessDenied"));
        let text = err.to_string();
        assert!(
            text.starts_with("put s3://b/k: HTTP 403 AccessDenied"),
            "{text}"
        );
        assert!(text.contains("IAM role"), "{text}");
        let err = store_error(StoreOp::Get, "s3://b/k", service_error(503, "SlowDown"));
        assert_eq!(err.kind, ErrorKind::Transient);
        assert!(err.to_string().contains("retry"), "{err}");
    }
}
