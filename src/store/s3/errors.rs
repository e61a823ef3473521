//! Classifies S3 SDK errors as not-found, transient or permanent, and words them so the reader
//! knows who must act. The SDK has already retried throttling, 5xx and dropped connections with
//! backoff by the time an error reaches here.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::store::{StoreError, StoreErrorKind, StoreOp};

/// Error codes S3 (and S3-compatible servers) use for "slow down" or "try again".
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "ServiceUnavailable",
    "OperationAborted",
];

/// Error codes that mean the object (or version) is not there.
const NOT_FOUND_CODES: &[&str] = &["NoSuchKey", "NotFound", "NoSuchVersion"];

/// Whether a retry can help with this SDK error.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> StoreErrorKind {
    match err {
        // Timeouts, refused or dropped connections, and responses cut off mid-way clear up.
        SdkError::DispatchFailure(d) => match d
            .as_connector_error()
            .and_then(|c| crate::aws::credentials_failure(c))
        {
            Some(false) => StoreErrorKind::Permanent,
            _ => StoreErrorKind::Transient,
        },
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => StoreErrorKind::Transient,
        // The request could not even be built (bad input, or no credentials to sign it with).
        SdkError::ConstructionFailure(_) => StoreErrorKind::Permanent,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            classify_response(status, service.err().code())
        }
        _ => StoreErrorKind::Permanent,
    }
}

/// Classifies a service's answer by its error code first, then by its HTTP status.
pub fn classify_response(status: u16, code: Option<&str>) -> StoreErrorKind {
    match code {
        Some(c) if TRANSIENT_CODES.contains(&c) => return StoreErrorKind::Transient,
        Some(c) if NOT_FOUND_CODES.contains(&c) => return StoreErrorKind::NotFound,
        // A missing bucket is a configuration problem, not a missing object.
        Some("NoSuchBucket") => return StoreErrorKind::Permanent,
        _ => {}
    }
    match status {
        404 => StoreErrorKind::NotFound,
        408 | 429 => StoreErrorKind::Transient,
        500..=599 => StoreErrorKind::Transient,
        _ => StoreErrorKind::Permanent,
    }
}

/// A store error from an SDK error: the operation, the object's URL, the kind, and a message
/// with the HTTP status, S3's error code and what to do about it.
pub fn store_error<E>(op: StoreOp, url: &str, err: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let kind = classify(&err);
    let message = describe(&err, kind);
    StoreError::new(op, url, kind, message).with_source(err)
}

fn describe<E>(err: &SdkError<E, HttpResponse>, kind: StoreErrorKind) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = match err {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = service.err().code().unwrap_or("no error code");
            match service.err().message() {
                Some(m) => format!("HTTP {status} {code}: {m}"),
                None => format!("HTTP {status} {code}"),
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".to_string(),
        SdkError::DispatchFailure(d) => format!(
            "the request could not be sent ({})",
            d.as_connector_error()
                .map(|c| aws_sdk_s3::error::DisplayErrorContext(c).to_string())
                .unwrap_or_else(|| "connection failed".into())
        ),
        SdkError::ResponseError(_) => "the response could not be read".to_string(),
        SdkError::ConstructionFailure(_) => format!(
            "the request could not be made: {}",
            aws_sdk_s3::error::DisplayErrorContext(err)
        ),
        _ => aws_sdk_s3::error::DisplayErrorContext(err).to_string(),
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let denied = matches!(
        err.code(),
        Some("AccessDenied" | "AllAccessDisabled" | "InvalidAccessKeyId" | "SignatureDoesNotMatch")
    ) || status == Some(403);
    let no_credentials = match err {
        SdkError::DispatchFailure(d) => {
            d.as_connector_error()
                .and_then(|c| crate::aws::credentials_failure(c))
                == Some(false)
        }
        _ => false,
    };
    let hint = if no_credentials {
        " — no AWS credentials were found: run with an IAM role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)"
    } else if denied {
        " — the job's AWS credentials may not act on this bucket: check its IAM role and the bucket policy"
    } else if err.code() == Some("NoSuchBucket") {
        " — the bucket does not exist: check the store's s3:// URL"
    } else if kind == StoreErrorKind::Transient {
        " — S3 or the network is unavailable; a retry may succeed"
    } else {
        ""
    };
    format!("{detail}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_smithy_types::body::SdkBody;

    fn service_error(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err = GetObjectError::generic(ErrorMetadata::builder().code(code).message("m").build());
        SdkError::service_error(err, raw)
    }

    #[test]
    fn throttling_and_server_errors_are_transient() {
        for (status, code) in [
            (503, "SlowDown"),
            (400, "Throttling"),
            (400, "RequestTimeout"),
            (500, "InternalError"),
            (502, "BadGateway"),
            (503, "ServiceUnavailable"),
            (429, "TooManyRequests"),
        ] {
            assert_eq!(
                classify(&service_error(status, code)),
                StoreErrorKind::Transient,
                "{status} {code}"
            );
        }
        let timeout: SdkError<GetObjectError, HttpResponse> =
            SdkError::timeout_error("took too long");
        assert_eq!(classify(&timeout), StoreErrorKind::Transient);
        let dropped: SdkError<GetObjectError, HttpResponse> = SdkError::dispatch_failure(
            aws_sdk_s3::error::ConnectorError::io("connection reset".into()),
        );
        assert_eq!(classify(&dropped), StoreErrorKind::Transient);
    }

    #[test]
    fn refusals_are_permanent_and_missing_objects_not_found() {
        for (status, code) in [
            (403, "AccessDenied"),
            (404, "NoSuchBucket"),
            (400, "InvalidRequest"),
            (400, "InvalidArgument"),
            (403, "SignatureDoesNotMatch"),
        ] {
            assert_eq!(
                classify(&service_error(status, code)),
                StoreErrorKind::Permanent,
                "{status} {code}"
            );
        }
        assert_eq!(
            classify(&service_error(404, "NoSuchKey")),
            StoreErrorKind::NotFound
        );
        // HEAD answers carry no body, so no code: the status decides.
        assert_eq!(classify_response(404, None), StoreErrorKind::NotFound);
        assert_eq!(classify_response(403, None), StoreErrorKind::Permanent);
        let no_credentials: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
                aws_credential_types::provider::error::CredentialsError::not_loaded("no providers")
                    .into(),
                None,
            ));
        assert_eq!(classify(&no_credentials), StoreErrorKind::Permanent);
        let slow_credentials: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
                aws_credential_types::provider::error::CredentialsError::provider_timed_out(
                    std::time::Duration::from_secs(5),
                )
                .into(),
                None,
            ));
        assert_eq!(classify(&slow_credentials), StoreErrorKind::Transient);
        let unbuildable: SdkError<GetObjectError, HttpResponse> =
            SdkError::construction_failure("no credentials");
        assert_eq!(classify(&unbuildable), StoreErrorKind::Permanent);
    }

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
        assert_eq!(err.kind, StoreErrorKind::Transient);
        assert!(err.to_string().contains("retry"), "{err}");
    }
}
