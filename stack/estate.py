"""An estate of mirrors for the end-to-end tests (issue 23, §19): the seed's store for one app, its
source secret rotated, its field secrets and an SSM parameter claiming it."""

import configparser

from stack.harness import ACCOUNT, REGION, unique

MIRROR_OF, FORMAT, PROFILE = "iam-key-rotator:mirror-of", "iam-key-rotator:mirror-format", "iam-key-rotator:mirror-profile"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"


class Estate:
    """The seed's store for one app: `<p>/aws` (the rotated source, JSON), `<p>/aws_access_key_id`
    and `<p>/aws_secret_access_key` (one field each, what consumers read today), and an SSM
    parameter holding a credentials file."""

    def __init__(self, world, user, key):
        self.world, self.user = world, user
        world.lifecycle_events()  # from now on, the function's events are collected
        self.ssm = world.stack.client("ssm")
        prefix = unique("app/prod")
        self.source = world.secret({"UserName": user, **key}, name=f"{prefix}/aws")
        self.source_arn = world.sm.describe_secret(SecretId=self.source)["ARN"]
        self.id_field = self.mirror_secret(f"{prefix}/aws_access_key_id", "access-key-id", key["AccessKeyId"])
        self.secret_field = self.mirror_secret(f"{prefix}/aws_secret_access_key", "secret-access-key",
                                               key["SecretAccessKey"])
        self.parameter = f"/{prefix}/credentials"
        text = f"[ci]\naws_access_key_id = {key['AccessKeyId']}\naws_secret_access_key = {key['SecretAccessKey']}\nregion = {REGION}\n"
        world.secret_material.add(text)
        self.ssm.put_parameter(Name=self.parameter, Value=text, Type="SecureString", KeyId=KMS_KEY)
        self.ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=self.parameter, Tags=[
            {"Key": MIRROR_OF, "Value": self.source_arn}, {"Key": FORMAT, "Value": "credentials-file"},
            {"Key": PROFILE, "Value": "ci"}])
        self.parameter_arn = f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{self.parameter}"

    def mirror_secret(self, name, form, value, claim=True):
        tags = [{"Key": MIRROR_OF, "Value": self.source_arn}, {"Key": FORMAT, "Value": form}] if claim else []
        self.world.sm.create_secret(Name=name, SecretString=value, Tags=tags)
        return self.world.sm.describe_secret(SecretId=name)["ARN"]

    def name(self, *arns):
        """The IAM administrator's act: the user's tags name these targets (and the parameter's key)."""
        tags = [{"Key": f"iam-key-rotator:mirror:{n}", "Value": arn} for n, arn in enumerate(arns, 1)]
        tags += [{"Key": f"iam-key-rotator:mirror-kms:{n}", "Value": KMS_KEY}
                 for n, arn in enumerate(arns, 1) if ":ssm:" in arn]
        self.world.iam.tag_user(UserName=self.user, Tags=tags)

    def field(self, arn):
        value = self.world.sm.get_secret_value(SecretId=arn)["SecretString"]
        if arn != self.id_field:  # a key id alone is no secret: logs name key ids
            self.world.secret_material.add(value)
        return value

    def credentials(self):
        text = self.ssm.get_parameter(Name=self.parameter, WithDecryption=True)["Parameter"]["Value"]
        self.world.secret_material.add(text)
        parser = configparser.RawConfigParser()
        parser.read_string(text)
        return text, parser["ci"]["aws_access_key_id"], parser["ci"]["aws_secret_access_key"]
