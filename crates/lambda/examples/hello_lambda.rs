//! The floor the benchmarks compare against (`make bench`): the smallest lambda_runtime function,
//! an echo, built with the same release profile as the rotator.

use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
