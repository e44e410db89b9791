//! The SDK adapters against canned HTTP answers (aws-smithy-mocks): real request building and
//! response parsing, and the classification of what comes back.

use aws_sdk_iam::config::retry::RetryConfig;
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use iam_key_rotator::aws::{Iam, SdkIam, SdkSecretsManager, SecretsManager, VersionRef};

fn json_error(code: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","message":"fake {code}"}}"#))
}

fn iam_error(code: &str) -> Option<String> {
    Some(format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>fake {code}</Message></Error><RequestId>1</RequestId></ErrorResponse>"
    ))
}

macro_rules! secrets_manager {
    ($($rule:expr),*) => {
        SdkSecretsManager::new(mock_client!(aws_sdk_secretsmanager, RuleMode::MatchAny, [$(&$rule),*],
            |c| c.retry_config(RetryConfig::disabled())))
    };
}

macro_rules! iam {
    ($($rule:expr),*) => {
        SdkIam::new(mock_client!(aws_sdk_iam, RuleMode::MatchAny, [$(&$rule),*],
            |c| c.retry_config(RetryConfig::disabled())))
    };
}

#[tokio::test]
async fn describe_counts_an_absent_rotation_enabled_as_false() {
    use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
    let rule = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .name("app/prod/key")
            .arn("arn:aws:secretsmanager:us-east-1:1:secret:app/prod/key-x")
            .version_ids_to_stages("v1", vec!["AWSCURRENT".into()])
            .build()
    });
    let metadata = secrets_manager!(rule)
        .describe_secret("app/prod/key")
        .await
        .unwrap();
    assert!(!metadata.rotation_enabled);
    assert_eq!(metadata.version_with("AWSCURRENT"), Some("v1"));
    assert_eq!(metadata.name, "app/prod/key");
}

#[tokio::test]
async fn a_version_without_a_value_reads_as_none() {
    let rule = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .http_status(400, json_error("ResourceNotFoundException"))
        .build();
    let value = secrets_manager!(rule)
        .get_secret_value("s", VersionRef::IdAndStage("v", "AWSPENDING"))
        .await
        .unwrap();
    assert!(value.is_none());
}

#[tokio::test]
async fn throttling_and_server_errors_are_transient_and_keep_their_code() {
    let throttled = mock!(aws_sdk_secretsmanager::Client::get_secret_value)
        .sequence()
        .http_status(400, json_error("ThrottlingException"))
        .build();
    let err = secrets_manager!(throttled)
        .get_secret_value("s", VersionRef::Stage("AWSCURRENT"))
        .await
        .unwrap_err();
    assert!(err.is_transient());
    assert_eq!(err.code.as_deref(), Some("ThrottlingException"));
    assert_eq!(err.operation, "GetSecretValue");

    let broken = mock!(aws_sdk_secretsmanager::Client::put_secret_value)
        .sequence()
        .http_status(500, json_error("InternalServiceError"))
        .build();
    let err = secrets_manager!(broken)
        .put_pending_value(
            "s",
            iam_key_rotator::aws::Pending {
                version_id: "v",
                value: &iam_key_rotator::sensitive::Sensitive::new("{}"),
                rotation_token: None,
            },
        )
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");

    let denied = mock!(aws_sdk_secretsmanager::Client::describe_secret)
        .sequence()
        .http_status(400, json_error("AccessDeniedException"))
        .build();
    let err = secrets_manager!(denied)
        .describe_secret("s")
        .await
        .unwrap_err();
    assert!(!err.is_transient());
    assert!(err.to_string().contains("AccessDeniedException"), "{err}");
}

#[tokio::test]
async fn versions_created_reads_every_page() {
    use aws_sdk_secretsmanager::operation::list_secret_version_ids::ListSecretVersionIdsOutput;
    use aws_sdk_secretsmanager::primitives::DateTime;
    use aws_sdk_secretsmanager::types::SecretVersionsListEntry;
    let entry = |id: &str, secs| {
        SecretVersionsListEntry::builder()
            .version_id(id)
            .created_date(DateTime::from_secs(secs))
            .build()
    };
    let first = mock!(aws_sdk_secretsmanager::Client::list_secret_version_ids)
        .match_requests(|r| r.next_token().is_none())
        .then_output(move || {
            ListSecretVersionIdsOutput::builder()
                .versions(entry("v1", 100))
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_secretsmanager::Client::list_secret_version_ids)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(move || {
            ListSecretVersionIdsOutput::builder()
                .versions(entry("v2", 200))
                .build()
        });
    let sm = secrets_manager!(first, second);
    let created = sm.versions_created("s").await.unwrap();
    assert_eq!(
        created["v2"],
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(200)
    );
    assert_eq!(created.len(), 2);
    assert_eq!(second.num_calls(), 1);
}

#[tokio::test]
async fn list_secrets_reads_every_page_with_each_rotation_function() {
    use aws_sdk_secretsmanager::operation::list_secrets::ListSecretsOutput;
    use aws_sdk_secretsmanager::types::SecretListEntry;
    use iam_key_rotator::aws::SecretSummary;
    let first = mock!(aws_sdk_secretsmanager::Client::list_secrets)
        .match_requests(|r| r.next_token().is_none())
        .then_output(|| {
            ListSecretsOutput::builder()
                .secret_list(
                    SecretListEntry::builder()
                        .arn("arn:a")
                        .rotation_enabled(true)
                        .rotation_lambda_arn("arn:f")
                        .build(),
                )
                .next_token("page-2")
                .build()
        });
    let second = mock!(aws_sdk_secretsmanager::Client::list_secrets)
        .match_requests(|r| r.next_token() == Some("page-2"))
        .then_output(|| {
            ListSecretsOutput::builder()
                .secret_list(SecretListEntry::builder().arn("arn:b").build())
                .build()
        });
    let listed = secrets_manager!(first, second)
        .list_secrets()
        .await
        .unwrap();
    assert_eq!(
        listed,
        [
            SecretSummary {
                arn: "arn:a".into(),
                rotation_enabled: true,
                rotation_lambda_arn: Some("arn:f".into()),
            },
            SecretSummary {
                arn: "arn:b".into(),
                rotation_enabled: false,
                rotation_lambda_arn: None,
            },
        ]
    );
}

#[tokio::test]
async fn describe_gives_the_rotation_function_last_rotation_and_tags() {
    use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
    use aws_sdk_secretsmanager::primitives::DateTime;
    use aws_sdk_secretsmanager::types::Tag;
    let rule = mock!(aws_sdk_secretsmanager::Client::describe_secret).then_output(|| {
        DescribeSecretOutput::builder()
            .arn("arn:s")
            .rotation_lambda_arn("arn:f")
            .last_rotated_date(DateTime::from_secs(300))
            .tags(Tag::builder().key("k").value("v").build())
            .build()
    });
    let metadata = secrets_manager!(rule).describe_secret("s").await.unwrap();
    assert_eq!(metadata.rotation_lambda_arn.as_deref(), Some("arn:f"));
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(300);
    assert_eq!(metadata.last_rotated, Some(at));
    assert_eq!(metadata.tags, [("k".to_owned(), "v".to_owned())]);
}

#[tokio::test]
async fn list_access_keys_reads_every_page() {
    use aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput;
    use aws_sdk_iam::primitives::DateTime;
    use aws_sdk_iam::types::{AccessKeyMetadata, StatusType};
    let key = |id: &str, status| {
        AccessKeyMetadata::builder()
            .access_key_id(id)
            .status(status)
            .create_date(DateTime::from_secs(1))
            .build()
    };
    let first = mock!(aws_sdk_iam::Client::list_access_keys)
        .match_requests(|r| r.marker().is_none())
        .then_output(move || {
            ListAccessKeysOutput::builder()
                .access_key_metadata(key("AKIA1XXXXXXXXXXXXXXX", StatusType::Active))
                .is_truncated(true)
                .marker("m2")
                .build()
                .unwrap()
        });
    let second = mock!(aws_sdk_iam::Client::list_access_keys)
        .match_requests(|r| r.marker() == Some("m2"))
        .then_output(move || {
            ListAccessKeysOutput::builder()
                .access_key_metadata(key("AKIA2XXXXXXXXXXXXXXX", StatusType::Inactive))
                .build()
                .unwrap()
        });
    let keys = iam!(first, second).list_access_keys("u").await.unwrap();
    let ids: Vec<(&str, &str)> = keys
        .iter()
        .map(|k| (k.id.as_str(), k.status.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("AKIA1XXXXXXXXXXXXXXX", "Active"),
            ("AKIA2XXXXXXXXXXXXXXX", "Inactive")
        ]
    );
}

#[tokio::test]
async fn iam_errors_keep_their_code() {
    let gone = mock!(aws_sdk_iam::Client::delete_access_key)
        .sequence()
        .http_status(404, iam_error("NoSuchEntity"))
        .build();
    let err = iam!(gone)
        .delete_access_key("u", "AKIA1XXXXXXXXXXXXXXX")
        .await
        .unwrap_err();
    assert!(err.is_not_found() && !err.is_transient(), "{err:?}");

    let full = mock!(aws_sdk_iam::Client::create_access_key)
        .sequence()
        .http_status(409, iam_error("LimitExceeded"))
        .build();
    let err = iam!(full).create_access_key("u").await.unwrap_err();
    assert_eq!(err.code.as_deref(), Some("LimitExceeded"));
    assert!(!err.is_transient());
}

/// CreateAccessKey's answer: AKIANEWXXXXXXXXXXXXX with the secret `very/secret+key`.
fn a_new_key() -> aws_sdk_iam::operation::create_access_key::CreateAccessKeyOutput {
    use aws_sdk_iam::operation::create_access_key::CreateAccessKeyOutput;
    use aws_sdk_iam::types::{AccessKey, StatusType};
    CreateAccessKeyOutput::builder()
        .access_key(
            AccessKey::builder()
                .user_name("u")
                .access_key_id("AKIANEWXXXXXXXXXXXXX")
                .status(StatusType::Active)
                .secret_access_key("very/secret+key")
                .build()
                .unwrap(),
        )
        .build()
}

/// CreateAccessKey is sent again on a throttling answer only, which proves no key was made: an
/// answer lost to a 5xx may hide a key, and a second call would make another (§18).
#[tokio::test(start_paused = true)]
async fn create_access_key_is_sent_again_on_throttling_only() {
    let throttled = mock!(aws_sdk_iam::Client::create_access_key)
        .sequence()
        .http_status(400, iam_error("Throttling"))
        .http_status(400, iam_error("Throttling"))
        .output(a_new_key)
        .build();
    let iam = iam!(throttled);
    assert_eq!(
        iam.create_access_key("u").await.unwrap().id,
        "AKIANEWXXXXXXXXXXXXX"
    );
    assert_eq!(throttled.num_calls(), 3);

    let lost = mock!(aws_sdk_iam::Client::create_access_key)
        .sequence()
        .http_status(500, iam_error("ServiceFailure"))
        .output(a_new_key)
        .build();
    let iam = iam!(lost);
    let err = iam.create_access_key("u").await.unwrap_err();
    assert!(err.is_transient() && !err.is_throttling(), "{err:?}");
    assert_eq!(
        lost.num_calls(),
        1,
        "a 5xx may have made a key: never sent again"
    );

    let always = mock!(aws_sdk_iam::Client::create_access_key)
        .sequence()
        .http_status(400, iam_error("Throttling"))
        .times(10)
        .build();
    let iam = iam!(always);
    let err = iam.create_access_key("u").await.unwrap_err();
    assert!(err.is_throttling());
    assert_eq!(always.num_calls(), 4, "a bounded number of attempts");
}

#[tokio::test]
async fn a_new_key_is_never_shown_in_debug() {
    let rule = mock!(aws_sdk_iam::Client::create_access_key).then_output(a_new_key);
    let key = iam!(rule).create_access_key("u").await.unwrap();
    assert_eq!(key.id, "AKIANEWXXXXXXXXXXXXX");
    assert_eq!(key.secret.expose(), "very/secret+key");
    assert!(!format!("{key:?}").contains("very/secret"));
}

#[tokio::test]
async fn no_answer_is_transient_and_reads_as_a_sentence() {
    // A closed loopback port: the connection is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(aws_sdk_secretsmanager::config::BehaviorVersion::latest())
        .region(aws_sdk_secretsmanager::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::for_tests())
        .retry_config(RetryConfig::disabled())
        .build();
    let sm = SdkSecretsManager::new(aws_sdk_secretsmanager::Client::from_conf(config));
    let err = sm.describe_secret("s").await.unwrap_err();
    assert!(err.is_transient() && err.code.is_none(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("Connection refused"), "{message}");
    assert!(
        !message.contains("DispatchFailure {"),
        "no Debug dump: {message}"
    );
}

mod trusted_roots {
    use iam_key_rotator::aws::https::{https_client, TrustedRoots, AMAZON_TRUST_SERVICES_ROOTS};

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn only_the_amazon_roots_unless_ssl_cert_file_or_dir_is_set() {
        assert_eq!(
            TrustedRoots::from_lookup(lookup(&[])),
            TrustedRoots::AmazonTrustServices
        );
        assert_eq!(
            TrustedRoots::from_lookup(lookup(&[("SSL_CERT_FILE", "")])),
            TrustedRoots::AmazonTrustServices,
            "an empty variable is unset"
        );
        assert_eq!(
            TrustedRoots::from_lookup(lookup(&[
                ("SSL_CERT_FILE", "/ca.pem"),
                ("SSL_CERT_DIR", "/certs")
            ])),
            TrustedRoots::AmazonTrustServicesAndSystem {
                from: "SSL_CERT_FILE=/ca.pem, SSL_CERT_DIR=/certs".into()
            }
        );
    }

    #[test]
    fn the_compiled_in_roots_are_the_five_amazon_trust_services_cas_and_load() {
        let pem = std::str::from_utf8(AMAZON_TRUST_SERVICES_ROOTS).unwrap();
        assert_eq!(pem.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(pem.contains(&format!("CN = {name}\n")), "{name}");
        }
        // Building a client makes the HTTP client build its TLS connector, which parses every
        // certificate and panics on one it cannot read.
        let config = aws_sdk_sts::Config::builder()
            .behavior_version(aws_sdk_sts::config::BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .http_client(https_client(&TrustedRoots::AmazonTrustServices))
            .build();
        let _client = aws_sdk_sts::Client::from_conf(config);
    }
}

mod sdk_sources {
    use iam_key_rotator::aws::sdk_config::Sources;

    #[test]
    fn the_environment_is_used_directly_only_when_it_has_everything() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            Sources::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        const LAMBDA: [(&str, &str); 3] = [
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "x"),
            ("AWS_REGION", "eu-west-1"),
        ];
        assert_eq!(
            env(&LAMBDA),
            Sources::Environment {
                region: "eu-west-1".into()
            }
        );
        assert_eq!(env(&LAMBDA[..2]), Sources::DefaultChains, "no region");
        assert_eq!(
            env(&LAMBDA[1..]),
            Sources::DefaultChains,
            "no key id: a profile, say"
        );
        assert_eq!(
            env(&[
                ("AWS_ACCESS_KEY_ID", "A"),
                ("AWS_SECRET_ACCESS_KEY", ""),
                ("AWS_REGION", "r")
            ]),
            Sources::DefaultChains,
            "an empty variable is unset"
        );
    }
}

/// CreateAccessKey is not idempotent: a client that retries everything else must send it once,
/// since a retry after a lost answer makes a second, untracked key (issue 12).
#[tokio::test]
async fn create_access_key_is_sent_once_even_by_a_retrying_client() {
    use std::time::Duration;
    let rule = mock!(aws_sdk_iam::Client::create_access_key)
        .sequence()
        .http_status(500, iam_error("ServiceFailure"))
        .output(a_new_key)
        .build();
    let retrying = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(1));
    let list = mock!(aws_sdk_iam::Client::list_access_keys)
        .sequence()
        .http_status(500, iam_error("ServiceFailure"))
        .output(|| {
            aws_sdk_iam::operation::list_access_keys::ListAccessKeysOutput::builder()
                .set_access_key_metadata(Some(vec![]))
                .build()
                .unwrap()
        })
        .build();
    let iam = SdkIam::new(mock_client!(
        aws_sdk_iam,
        RuleMode::MatchAny,
        [&rule, &list],
        |c| c.retry_config(retrying.clone())
    ));
    let err = iam.create_access_key("u").await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(rule.num_calls(), 1, "sent once, not retried");
    // The same client does retry an idempotent call.
    iam.list_access_keys("u").await.unwrap();
    assert_eq!(list.num_calls(), 2);
}

#[tokio::test]
async fn putevents_answering_200_with_a_failed_entry_is_an_error() {
    use aws_sdk_eventbridge::operation::put_events::PutEventsOutput;
    use aws_sdk_eventbridge::types::PutEventsResultEntry;
    use iam_key_rotator::aws::{Events, LifecycleEvent, SdkEvents};
    let failed = mock!(aws_sdk_eventbridge::Client::put_events).then_output(|| {
        PutEventsOutput::builder()
            .failed_entry_count(1)
            .entries(
                PutEventsResultEntry::builder()
                    .error_code("AccessDeniedException")
                    .error_message("not authorized")
                    .build(),
            )
            .build()
    });
    let events = SdkEvents::new(mock_client!(
        aws_sdk_eventbridge,
        RuleMode::MatchAny,
        [&failed],
        |c| c.retry_config(RetryConfig::disabled())
    ));
    let event = LifecycleEvent {
        detail_type: "Access Key Rotated",
        secret_arn: "arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf".into(),
        detail: serde_json::json!({"accessKeyId": "AKIA1XXXXXXXXXXXXXXX"}),
    };
    let err = events.put(&event).await.unwrap_err();
    assert!(err.has_code("AccessDeniedException"), "{err}");

    let sent = mock!(aws_sdk_eventbridge::Client::put_events)
        .match_requests(|r| {
            let entry = &r.entries()[0];
            entry.source() == Some("iam-key-rotator")
                && entry.event_bus_name() == Some("default")
                && entry.resources() == ["arn:aws:secretsmanager:us-east-1:1:secret:s-AbCdEf"]
        })
        .then_output(|| PutEventsOutput::builder().failed_entry_count(0).build());
    let events = SdkEvents::new(mock_client!(
        aws_sdk_eventbridge,
        RuleMode::MatchAny,
        [&sent],
        |c| c.retry_config(RetryConfig::disabled())
    ));
    events.put(&event).await.unwrap();
    assert_eq!(sent.num_calls(), 1);
}
