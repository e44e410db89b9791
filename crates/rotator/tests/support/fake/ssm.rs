//! The fake's SSM Parameter Store (issue 23's mirrors), faithful where the mirrors depend on it:
//! PutParameter with Overwrite keeps the tags and takes the type and KMS key it is given, a
//! parameter made without a KeyId is under `alias/aws/ssm`, a missing one is ParameterNotFound.

use async_trait::async_trait;
use iam_key_rotator::aws::{AwsError, ParameterInfo, ParameterStore};
use iam_key_rotator::sensitive::Sensitive;

use super::{FakeAws, Fault, State, ACCOUNT};

/// SSM's own key, for a SecureString made without a KeyId.
pub const DEFAULT_SSM_KEY: &str = "alias/aws/ssm";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub parameter_type: String,
    pub key_id: Option<String>,
    pub value: String,
    pub version: u64,
    pub tags: Vec<(String, String)>,
}

impl Parameter {
    /// Its ARN: a name in a hierarchy starts with "/", which the ARN does not repeat.
    pub fn arn(&self) -> String {
        let path = self.name.strip_prefix('/').unwrap_or(&self.name);
        format!("arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{path}")
    }
}

fn parameter_not_found(operation: &'static str) -> AwsError {
    AwsError::service(
        "ssm",
        operation,
        Some("ParameterNotFound"),
        Some("parameter not found"),
        Some(400),
    )
}

impl State {
    fn parameter_mut(&mut self, name: &str, op: &'static str) -> Result<&mut Parameter, AwsError> {
        self.world
            .parameters
            .get_mut(name)
            .ok_or_else(|| parameter_not_found(op))
    }
}

impl FakeAws {
    /// A person's PutParameter (a new parameter, or Overwrite): `key_id` only for a SecureString,
    /// SSM's own key when none is given. Returns the parameter's ARN.
    pub fn put_parameter_by_hand(
        &self,
        name: &str,
        parameter_type: &str,
        key_id: Option<&str>,
        value: &str,
    ) -> String {
        let mut s = self.state.lock().unwrap();
        s.remember_material(value);
        let key_id = (parameter_type == "SecureString")
            .then(|| key_id.unwrap_or(DEFAULT_SSM_KEY).to_owned());
        let parameter = s
            .world
            .parameters
            .entry(name.to_owned())
            .or_insert(Parameter {
                name: name.to_owned(),
                parameter_type: parameter_type.to_owned(),
                key_id: None,
                value: String::new(),
                version: 0,
                tags: Vec::new(),
            });
        parameter.parameter_type = parameter_type.to_owned();
        parameter.key_id = key_id;
        parameter.value = value.to_owned();
        parameter.version += 1;
        parameter.arn()
    }

    pub fn tag_parameter_by_hand(&self, name: &str, key: &str, value: Option<&str>) {
        let mut s = self.state.lock().unwrap();
        let tags = &mut s.world.parameters.get_mut(name).expect("parameter").tags;
        super::set_tag(tags, key, value);
    }

    pub fn delete_parameter(&self, name: &str) {
        self.state.lock().unwrap().world.parameters.remove(name);
    }

    pub fn parameter(&self, name: &str) -> Parameter {
        self.state.lock().unwrap().world.parameters[name].clone()
    }
}

#[async_trait]
impl ParameterStore for FakeAws {
    async fn describe_parameter(&self, name: &str) -> Result<Option<ParameterInfo>, AwsError> {
        call!(self, "DescribeParameters", |s| {
            Ok(s.world.parameters.get(name).map(|p| ParameterInfo {
                parameter_type: p.parameter_type.clone(),
                key_id: p.key_id.clone(),
            }))
        })
    }

    async fn parameter_tags(&self, name: &str) -> Result<Vec<(String, String)>, AwsError> {
        call!(self, "ListTagsForResource", |s| {
            Ok(s.parameter_mut(name, "ListTagsForResource")?.tags.clone())
        })
    }

    async fn get_parameter(&self, name: &str) -> Result<Option<Sensitive>, AwsError> {
        call!(self, "GetParameter", |s| {
            Ok(s.world
                .parameters
                .get(name)
                .map(|p| Sensitive::new(p.value.clone())))
        })
    }

    async fn put_secure_parameter(
        &self,
        name: &str,
        value: &Sensitive,
        kms_key: &str,
    ) -> Result<(), AwsError> {
        call!(self, "PutParameter", |s| {
            s.remember_material(value.expose());
            let parameter = s.parameter_mut(name, "PutParameter");
            // Overwrite of an existing parameter only: a mirror is made by a person, with its tags.
            let parameter = parameter?;
            parameter.parameter_type = "SecureString".into();
            parameter.key_id = Some(kms_key.to_owned());
            parameter.value = value.expose().to_owned();
            parameter.version += 1;
            Ok(())
        })
    }
}
