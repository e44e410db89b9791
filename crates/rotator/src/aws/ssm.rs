//! SSM Parameter Store through the AWS SDK (the mirrors' parameters, issue 23).

use async_trait::async_trait;
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterType, ResourceTypeForTagging};
use aws_sdk_ssm::Client;

use super::error::{answer, sdk_error, AwsError};
use super::parameter_store::{ParameterInfo, ParameterStore};
use crate::sensitive::Sensitive;

const SERVICE: &str = "ssm";

pub struct SdkSsm {
    client: Client,
}

impl SdkSsm {
    pub fn new(client: Client) -> Self {
        SdkSsm { client }
    }
}

#[async_trait]
impl ParameterStore for SdkSsm {
    async fn describe_parameter(&self, name: &str) -> Result<Option<ParameterInfo>, AwsError> {
        let filter = ParameterStringFilter::builder()
            .key("Name")
            .option("Equals")
            .values(name)
            .build()
            .map_err(|e| {
                AwsError::service(
                    SERVICE,
                    "DescribeParameters",
                    None,
                    Some(&e.to_string()),
                    None,
                )
            })?;
        // SSM filters page by page: a page may be empty and the match on a later one.
        let request = self.client.describe_parameters().parameter_filters(filter);
        let pages = request.into_paginator().send().try_collect();
        let pages = answer(SERVICE, "DescribeParameters", pages).await?;
        let found = pages
            .iter()
            .flat_map(|page| page.parameters())
            .find(|p| p.name() == Some(name));
        Ok(found.map(|p| ParameterInfo {
            parameter_type: p
                .r#type()
                .map(|t| t.as_str().to_owned())
                .unwrap_or_default(),
            key_id: p.key_id().map(str::to_owned),
        }))
    }

    async fn parameter_tags(&self, name: &str) -> Result<Vec<(String, String)>, AwsError> {
        let request = self
            .client
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name);
        let out = answer(SERVICE, "ListTagsForResource", request.send()).await?;
        let tags = out.tag_list().iter();
        Ok(tags
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect())
    }

    async fn get_parameter(&self, name: &str) -> Result<Option<Sensitive>, AwsError> {
        let request = self.client.get_parameter().name(name).with_decryption(true);
        match request.send().await {
            Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(Sensitive::new)),
            Err(e) => match sdk_error(SERVICE, "GetParameter", e) {
                error if error.is_not_found() => Ok(None),
                error => Err(error),
            },
        }
    }

    async fn put_secure_parameter(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key: &str,
    ) -> Result<(), AwsError> {
        let request = self
            .client
            .put_parameter()
            .name(name)
            .value(value.expose())
            .r#type(ParameterType::SecureString)
            .key_id(kms_key)
            .overwrite(true);
        answer(SERVICE, "PutParameter", request.send()).await?;
        Ok(())
    }
}
