//! A failed AWS call, reduced to what the rotation acts on, and the one place that decides from
//! the service's answer whether it is transient: beside the adapters that raise it.

/// Error codes that say the request was refused for its rate, before the service did anything:
/// the one answer that proves a call that is not idempotent (CreateAccessKey) had no effect.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
];

/// Error codes that mean "try again later", whichever service sent them (and [`THROTTLING_CODES`]).
const TRANSIENT_CODES: &[&str] = &[
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "InternalFailure",
    "InternalServiceError",
    "InternalServiceErrorException",
    "InternalServerError",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "ConcurrentModification",
    "ConcurrentModificationException",
    "ServiceFailure",
];

/// What STS answers while a new key has not reached every endpoint yet (§8). Only testSecret
/// retries these: anywhere else they are permanent.
const PROPAGATION_CODES: &[&str] = &[
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "AccessDenied",
    "AccessDeniedException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchEntity",
    "NoSuchEntityException",
    "ResourceNotFoundException",
    "ParameterNotFound",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// The request may succeed if sent again: throttling, 5xx, network failures, time-outs.
    Transient,
    /// The service said no, and will say no again.
    Permanent,
}

/// A failed AWS call, reduced to what we act on. Built by the adapters in `aws/`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{service} {operation} failed: {}{message}", code.as_deref().map(|c| format!("{c}: ")).unwrap_or_default())]
pub struct AwsError {
    pub service: &'static str,
    pub operation: &'static str,
    /// The service's error code (for example `ResourceNotFoundException`), when it sent one.
    pub code: Option<String>,
    pub message: String,
    pub kind: AwsErrorKind,
}

impl AwsError {
    /// An error the service answered with. Its class follows from the code and the HTTP status.
    pub fn service(
        service: &'static str,
        operation: &'static str,
        code: Option<&str>,
        message: Option<&str>,
        http_status: Option<u16>,
    ) -> Self {
        let transient = code
            .is_some_and(|c| TRANSIENT_CODES.contains(&c) || THROTTLING_CODES.contains(&c))
            || http_status.is_some_and(|s| s >= 500 || s == 429);
        AwsError {
            service,
            operation,
            code: code.map(str::to_owned),
            message: message.unwrap_or("no message").to_owned(),
            kind: if transient {
                AwsErrorKind::Transient
            } else {
                AwsErrorKind::Permanent
            },
        }
    }

    /// The request got no answer: connection refused or reset, time-out, a truncated response.
    pub fn no_answer(service: &'static str, operation: &'static str, message: String) -> Self {
        AwsError {
            service,
            operation,
            code: None,
            message,
            kind: AwsErrorKind::Transient,
        }
    }

    pub fn has_code(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    pub fn is_transient(&self) -> bool {
        self.kind == AwsErrorKind::Transient
    }

    /// The service refused the request for its rate: it did nothing.
    pub fn is_throttling(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| THROTTLING_CODES.contains(&c))
    }

    /// The thing asked about does not exist (IAM's NoSuchEntity, Secrets Manager's
    /// ResourceNotFoundException, SSM's ParameterNotFound).
    pub fn is_not_found(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| NOT_FOUND_CODES.contains(&c))
    }

    /// True when STS rejected a key in a way that a key still propagating explains (§8).
    pub fn may_be_propagation(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| PROPAGATION_CODES.contains(&c))
    }
}

/// Awaits a request sent with the SDK, its error reduced to an [`AwsError`]: every adapter's call
/// goes through here, `answer(SERVICE, "GetUser", request.send()).await?`.
pub async fn answer<T, E>(
    service: &'static str,
    operation: &'static str,
    sent: impl std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E>>>,
) -> Result<T, AwsError>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    sent.await.map_err(|e| sdk_error(service, operation, e))
}

/// Reduces an SDK error to an [`AwsError`]; [`AwsError::service`] decides from its code and status
/// whether it is transient.
pub fn sdk_error<E>(
    service: &'static str,
    operation: &'static str,
    error: aws_sdk_iam::error::SdkError<E>,
) -> AwsError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_iam::error::SdkError;
    match &error {
        SdkError::ServiceError(context) => AwsError::service(
            service,
            operation,
            context.err().code(),
            context.err().message(),
            Some(context.raw().status().as_u16()),
        ),
        // An answer we could not read is as good as none: sending again may work.
        SdkError::ResponseError(_) | SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let mut message = error_chain(&error);
            if message.contains("invalid peer certificate") {
                message.push_str(UNTRUSTED_CERTIFICATE_HINT);
            }
            AwsError::no_answer(service, operation, message)
        }
        _ => AwsError::service(service, operation, None, Some(&error_chain(&error)), None),
    }
}

/// What to do when the endpoint's certificate is not trusted (see `https.rs`).
const UNTRUSTED_CERTIFICATE_HINT: &str = " (the endpoint's certificate does not chain to the Amazon Trust Services roots the function trusts: to trust another CA, set SSL_CERT_FILE to its PEM file)";

/// "dispatch failure: io error: ...: Connection refused": each cause once, without the Debug
/// dump that `DisplayErrorContext` appends.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
