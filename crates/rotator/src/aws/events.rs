//! EventBridge through the AWS SDK: the lifecycle events on the account's default bus.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

use super::capabilities::{Events, LifecycleEvent, EVENT_SOURCE};
use super::error::{answer, AwsError};

const SERVICE: &str = "events";

pub struct SdkEvents {
    client: Client,
}

impl SdkEvents {
    pub fn new(client: Client) -> Self {
        SdkEvents { client }
    }
}

#[async_trait]
impl Events for SdkEvents {
    async fn put(&self, event: &LifecycleEvent) -> Result<(), AwsError> {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name("default")
            .source(EVENT_SOURCE)
            .detail_type(event.detail_type)
            .resources(&event.secret_arn)
            .detail(event.detail.to_string())
            .build();
        let request = self.client.put_events().entries(entry);
        let out = answer(SERVICE, "PutEvents", request.send()).await?;
        // PutEvents answers 200 even when its entries failed: each says why.
        if out.failed_entry_count() > 0 {
            let failed = out.entries().iter().find(|e| e.error_code().is_some());
            let code = failed.and_then(|e| e.error_code());
            let message = failed.and_then(|e| e.error_message());
            return Err(AwsError::service(SERVICE, "PutEvents", code, message, None));
        }
        Ok(())
    }
}
