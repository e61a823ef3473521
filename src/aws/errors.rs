//! Classifies AWS SDK errors (S3 and SQS alike) as not-found, transient or permanent, and words
//! them so the reader knows who must act. The SDK has already retried throttling, 5xx and dropped
//! connections with backoff by the time an error reaches here.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::ErrorKind;

/// Error codes AWS services (and S3-compatible servers) use for "slow down" or "try again".
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

/// Error codes that mean the bucket or queue itself is missing: the configuration is wrong.
const MISSING_RESOURCE_CODES: &[&str] = &[
    "NoSuchBucket",
    "QueueDoesNotExist",
    "AWS.SimpleQueueService.NonExistentQueue",
];

/// The AWS service a request went to, for the words of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    S3,
    Sqs,
}

impl Service {
    fn name(self) -> &'static str {
        match self {
            Service::S3 => "S3",
            Service::Sqs => "SQS",
        }
    }

    /// What the job acts on in this service.
    fn resource(self) -> &'static str {
        match self {
            Service::S3 => "bucket",
            Service::Sqs => "queue",
        }
    }

    fn missing_hint(self) -> &'static str {
        match self {
            Service::S3 => " — the bucket does not exist: check the store's s3:// URL",
            Service::Sqs => " — the queue does not exist: check the queue URL",
        }
    }
}

/// Whether a retry can help with this SDK error.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> ErrorKind {
    match err {
        // Timeouts, refused or dropped connections, and responses cut off mid-way clear up.
        SdkError::DispatchFailure(d) => match d
            .as_connector_error()
            .and_then(|c| super::credentials_failure(c))
        {
            Some(false) => ErrorKind::Permanent,
            _ => ErrorKind::Transient,
        },
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => ErrorKind::Transient,
        // The request could not even be built (bad input, or no credentials to sign it with).
        SdkError::ConstructionFailure(_) => ErrorKind::Permanent,
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            classify_response(status, service.err().code())
        }
        _ => ErrorKind::Permanent,
    }
}

/// Classifies a service's answer by its error code first, then by its HTTP status.
pub fn classify_response(status: u16, code: Option<&str>) -> ErrorKind {
    match code {
        Some(c) if TRANSIENT_CODES.contains(&c) || c.contains("Throttl") => {
            return ErrorKind::Transient;
        }
        Some(c) if NOT_FOUND_CODES.contains(&c) => return ErrorKind::NotFound,
        // A missing bucket or queue is a configuration problem, not a missing object.
        Some(c) if MISSING_RESOURCE_CODES.contains(&c) => return ErrorKind::Permanent,
        _ => {}
    }
    match status {
        404 => ErrorKind::NotFound,
        408 | 429 => ErrorKind::Transient,
        500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Permanent,
    }
}

/// The kind of an SDK error and a message with the HTTP status, the service's error code and what
/// to do about it.
pub fn describe<E>(service: Service, err: &SdkError<E, HttpResponse>) -> (ErrorKind, String)
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let kind = classify(err);
    let detail = match err {
        SdkError::ServiceError(answer) => {
            let status = answer.raw().status().as_u16();
            let code = answer.err().code().unwrap_or("no error code");
            match answer.err().message() {
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
        Some(
            "AccessDenied"
                | "AccessDeniedException"
                | "AllAccessDisabled"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
        )
    ) || status == Some(403);
    let no_credentials = match err {
        SdkError::DispatchFailure(d) => {
            d.as_connector_error()
                .and_then(|c| super::credentials_failure(c))
                == Some(false)
        }
        _ => false,
    };
    let resource = service.resource();
    let hint = if no_credentials {
        " — no AWS credentials were found: run with an IAM role, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)".to_string()
    } else if denied {
        format!(
            " — the job's AWS credentials may not act on this {resource}: check its IAM role and the {resource} policy"
        )
    } else if err
        .code()
        .is_some_and(|c| MISSING_RESOURCE_CODES.contains(&c))
    {
        service.missing_hint().to_string()
    } else if kind == ErrorKind::Transient {
        format!(
            " — {} or the network is unavailable; a retry may succeed",
            service.name()
        )
    } else {
        String::new()
    };
    (kind, format!("{detail}{hint}"))
}

/// SDK errors as services answer them, for the unit tests of everything that classifies them.
#[cfg(test)]
pub(crate) mod testing {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_smithy_types::body::SdkBody;

    use super::{HttpResponse, SdkError};

    /// S3's answer to a GET with an HTTP status and an error code.
    pub fn service_error(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err = GetObjectError::generic(ErrorMetadata::builder().code(code).message("m").build());
        SdkError::service_error(err, raw)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::service_error;
    use super::*;
    use aws_sdk_s3::operation::get_object::GetObjectError;
    use aws_sdk_sqs::operation::send_message::SendMessageError;
    use aws_smithy_types::body::SdkBody;

    fn sqs_error(status: u16, code: &str) -> SdkError<SendMessageError, HttpResponse> {
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::empty());
        let err = SendMessageError::generic(
            aws_sdk_sqs::error::ErrorMetadata::builder()
                .code(code)
                .message("m")
                .build(),
        );
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
                ErrorKind::Transient,
                "{status} {code}"
            );
        }
        let timeout: SdkError<GetObjectError, HttpResponse> =
            SdkError::timeout_error("took too long");
        assert_eq!(classify(&timeout), ErrorKind::Transient);
        let dropped: SdkError<GetObjectError, HttpResponse> = SdkError::dispatch_failure(
            aws_sdk_s3::error::ConnectorError::io("connection reset".into()),
        );
        assert_eq!(classify(&dropped), ErrorKind::Transient);
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
                ErrorKind::Permanent,
                "{status} {code}"
            );
        }
        assert_eq!(
            classify(&service_error(404, "NoSuchKey")),
            ErrorKind::NotFound
        );
        // HEAD answers carry no body, so no code: the status decides.
        assert_eq!(classify_response(404, None), ErrorKind::NotFound);
        assert_eq!(classify_response(403, None), ErrorKind::Permanent);
        let no_credentials: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
                aws_credential_types::provider::error::CredentialsError::not_loaded("no providers")
                    .into(),
                None,
            ));
        assert_eq!(classify(&no_credentials), ErrorKind::Permanent);
        let slow_credentials: SdkError<GetObjectError, HttpResponse> =
            SdkError::dispatch_failure(aws_sdk_s3::error::ConnectorError::other(
                aws_credential_types::provider::error::CredentialsError::provider_timed_out(
                    std::time::Duration::from_secs(5),
                )
                .into(),
                None,
            ));
        assert_eq!(classify(&slow_credentials), ErrorKind::Transient);
        let unbuildable: SdkError<GetObjectError, HttpResponse> =
            SdkError::construction_failure("no credentials");
        assert_eq!(classify(&unbuildable), ErrorKind::Permanent);
    }

    #[test]
    fn sqs_errors_go_through_the_same_classifier() {
        for (status, code, kind) in [
            (400, "RequestThrottled", ErrorKind::Transient),
            (400, "KmsThrottled", ErrorKind::Transient),
            (500, "InternalError", ErrorKind::Transient),
            (
                400,
                "AWS.SimpleQueueService.NonExistentQueue",
                ErrorKind::Permanent,
            ),
            (403, "AccessDenied", ErrorKind::Permanent),
            (400, "InvalidMessageContents", ErrorKind::Permanent),
        ] {
            assert_eq!(classify(&sqs_error(status, code)), kind, "{status} {code}");
        }
        let (_, text) = describe(
            Service::Sqs,
            &sqs_error(400, "AWS.SimpleQueueService.NonExistentQueue"),
        );
        assert!(text.contains("the queue does not exist"), "{text}");
        let (_, text) = describe(Service::Sqs, &sqs_error(403, "AccessDenied"));
        assert!(text.contains("queue policy"), "{text}");
    }

    #[test]
    fn messages_say_who_must_act() {
        let (kind, text) = describe(Service::S3, &service_error(403, "AccessDenied"));
        assert_eq!(kind, ErrorKind::Permanent);
        assert!(text.starts_with("HTTP 403 AccessDenied"), "{text}");
        assert!(text.contains("IAM role"), "{text}");
        let (kind, text) = describe(Service::S3, &service_error(503, "SlowDown"));
        assert_eq!(kind, ErrorKind::Transient);
        assert!(text.contains("retry"), "{text}");
    }
}
