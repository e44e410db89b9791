//! The SSM adapter (the mirrors' parameters, issue 23) against canned HTTP answers
//! (aws-smithy-mocks): what each request says, and how each answer reads.

use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::operation::describe_parameters::DescribeParametersOutput;
use aws_sdk_ssm::operation::get_parameter::GetParameterOutput;
use aws_sdk_ssm::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_ssm::operation::put_parameter::PutParameterOutput;
use aws_sdk_ssm::types::{
    Parameter, ParameterMetadata, ParameterType, ResourceTypeForTagging, Tag,
};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use iam_key_rotator::aws::{ParameterInfo, ParameterStore, SdkSsm};
use iam_key_rotator::sensitive::Sensitive;

macro_rules! ssm {
    ($($rule:expr),*) => {
        SdkSsm::new(mock_client!(aws_sdk_ssm, RuleMode::MatchAny, [$(&$rule),*],
            |c| c.retry_config(RetryConfig::disabled())))
    };
}

fn json_error(code: &str) -> Option<String> {
    Some(format!(r#"{{"__type":"{code}","message":"fake {code}"}}"#))
}

fn metadata(name: &str, key_id: &str) -> ParameterMetadata {
    ParameterMetadata::builder()
        .name(name)
        .r#type(ParameterType::SecureString)
        .key_id(key_id)
        .build()
}

#[tokio::test]
async fn describe_filters_on_the_exact_name_and_reads_every_page() {
    // SSM filters page by page: the first page may be empty, and "Equals" is asked for so that
    // /app/key does not match /app/key-old.
    let first = mock!(aws_sdk_ssm::Client::describe_parameters)
        .match_requests(|r| {
            let filter = &r.parameter_filters()[0];
            r.next_token().is_none()
                && filter.key() == "Name"
                && filter.option() == Some("Equals")
                && filter.values() == ["/app/key"]
        })
        .then_output(|| DescribeParametersOutput::builder().next_token("t2").build());
    let second = mock!(aws_sdk_ssm::Client::describe_parameters)
        .match_requests(|r| r.next_token() == Some("t2"))
        .then_output(|| {
            DescribeParametersOutput::builder()
                .parameters(metadata("/app/key", "arn:aws:kms:us-east-1:1:key/k"))
                .build()
        });
    let info = ssm!(first, second).describe_parameter("/app/key").await;
    assert_eq!(
        info.unwrap(),
        Some(ParameterInfo {
            parameter_type: "SecureString".into(),
            key_id: Some("arn:aws:kms:us-east-1:1:key/k".into()),
        })
    );
}

#[tokio::test]
async fn describe_of_no_such_parameter_is_none() {
    let rule = mock!(aws_sdk_ssm::Client::describe_parameters).then_output(|| {
        // Another parameter in the answer is never taken for the one asked about.
        DescribeParametersOutput::builder()
            .parameters(metadata("/app/key-old", "alias/aws/ssm"))
            .build()
    });
    let info = ssm!(rule).describe_parameter("/app/key").await.unwrap();
    assert_eq!(info, None);
}

#[tokio::test]
async fn tags_are_asked_for_the_parameter_by_name() {
    let rule = mock!(aws_sdk_ssm::Client::list_tags_for_resource)
        .match_requests(|r| {
            r.resource_type() == Some(&ResourceTypeForTagging::Parameter)
                && r.resource_id() == Some("/app/key")
        })
        .then_output(|| {
            let tag = Tag::builder().key("k").value("v").build().unwrap();
            ListTagsForResourceOutput::builder().tag_list(tag).build()
        });
    let tags = ssm!(rule).parameter_tags("/app/key").await.unwrap();
    assert_eq!(tags, vec![("k".to_owned(), "v".to_owned())]);
}

#[tokio::test]
async fn get_decrypts_and_a_missing_parameter_reads_as_none() {
    let found = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/a") && r.with_decryption() == Some(true))
        .then_output(|| {
            let parameter = Parameter::builder().name("/a").value("the value").build();
            GetParameterOutput::builder().parameter(parameter).build()
        });
    let missing = mock!(aws_sdk_ssm::Client::get_parameter)
        .match_requests(|r| r.name() == Some("/b"))
        .sequence()
        .http_status(400, json_error("ParameterNotFound"))
        .build();
    let ssm = ssm!(found, missing);
    let value = ssm.get_parameter("/a").await.unwrap().unwrap();
    assert_eq!(value.expose(), "the value");
    assert!(ssm.get_parameter("/b").await.unwrap().is_none());
}

#[tokio::test]
async fn put_says_securestring_the_named_key_and_overwrite() {
    let rule = mock!(aws_sdk_ssm::Client::put_parameter)
        .match_requests(|r| {
            r.name() == Some("/a")
                && r.value() == Some("v")
                && r.r#type() == Some(&ParameterType::SecureString)
                && r.key_id() == Some("arn:aws:kms:us-east-1:1:key/k")
                && r.overwrite() == Some(true)
        })
        .then_output(|| PutParameterOutput::builder().version(2).build());
    let ssm = ssm!(rule);
    let value = Sensitive::new("v");
    let put = ssm.put_secure_parameter("/a", &value, "arn:aws:kms:us-east-1:1:key/k");
    put.await.unwrap();
}

#[tokio::test]
async fn a_refused_put_keeps_its_code_and_is_permanent() {
    let rule = mock!(aws_sdk_ssm::Client::put_parameter)
        .sequence()
        .http_status(400, json_error("AccessDeniedException"))
        .build();
    let ssm = ssm!(rule);
    let value = Sensitive::new("v");
    let put = ssm.put_secure_parameter("/a", &value, "alias/k");
    let error = put.await.unwrap_err();
    assert!(error.has_code("AccessDeniedException"));
    assert!(!error.is_transient());
    assert!(!error.to_string().contains("\"v\""));
}
