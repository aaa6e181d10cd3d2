"""Create template.yaml's queues, tables and secrets on a moto backend, named like a stack would."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intake_cli.events import ACCOUNT_ID, LOCAL_API_ID
from intake_cli.template import SamTemplate, TemplateError

if TYPE_CHECKING:
    import boto3

    from intake_cli.template import FunctionSpec

_SQS_ATTRIBUTES = (
    "VisibilityTimeout",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
)


@dataclass
class Stack:
    """A provisioned copy of the template: what each logical id resolves to."""

    name: str
    region: str
    template: SamTemplate
    refs: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    tables: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """A template value with every intrinsic resolved against this stack."""
        return self.template.value(value, self.refs, self.attrs)

    def environment(self, function: FunctionSpec) -> dict[str, str]:
        """The function's environment variables, as Lambda would set them."""
        declared = {name: str(self.resolve(value)) for name, value in function.environment.items()}
        return {**declared, **function.lambda_environment}

    def functions(self) -> list[FunctionSpec]:
        """The template's functions."""
        return self.template.functions()


def provision(
    template: SamTemplate,
    session: boto3.session.Session,
    stack_name: str,
    secret_values: dict[str, dict[str, Any]],
    endpoint_url: str | None = None,
) -> Stack:
    """Create every queue, table and secret of ``template``; seed secrets by vendor key.

    moto is patched first where it must answer like AWS (:mod:`intake_cli.moto_fixes`): in
    process (tests) or behind the local stack's server, the same checks apply.
    """
    from intake_cli import moto_fixes

    moto_fixes.apply()
    stack = Stack(name=stack_name, region=session.region_name or "us-east-1", template=template)
    stack.refs.update(
        {
            "AWS::StackName": stack_name,
            "AWS::Region": stack.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
    )
    # An HTTP API's id exists only once deployed; LOCAL_API_ID stands in so URLs built from it resolve.
    stack.refs.update({logical_id: LOCAL_API_ID for logical_id in template.of_type("AWS::Serverless::HttpApi")})

    def make(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]

    _create_buckets(stack, make("s3"))
    _create_queues(stack, make("sqs"))
    _create_tables(stack, make("dynamodb"))
    _create_secrets(stack, make("secretsmanager"), secret_values)
    return stack


def _create_buckets(stack: Stack, s3: Any) -> None:
    for logical_id in stack.template.of_type("AWS::S3::Bucket"):
        name = f"{stack.name}-{logical_id}".lower()
        if stack.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": stack.region})
        stack.refs[logical_id] = name
        stack.attrs[f"{logical_id}.Arn"] = f"arn:aws:s3:::{name}"
        stack.buckets[logical_id] = name


def _create_queues(stack: Stack, sqs: Any) -> None:
    pending = stack.template.of_type("AWS::SQS::Queue")
    # Dead-letter queues first: a redrive policy needs its target's ARN.
    while pending:
        progressed = False
        for logical_id, props in list(pending.items()):
            try:
                attributes = _queue_attributes(stack, props)
            except TemplateError:
                continue
            url = sqs.create_queue(QueueName=f"{stack.name}-{logical_id}", Attributes=attributes)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            stack.refs[logical_id] = url
            stack.attrs.update(
                {
                    f"{logical_id}.Arn": arn,
                    f"{logical_id}.QueueName": arn.rsplit(":", 1)[1],
                    f"{logical_id}.QueueUrl": url,
                }
            )
            stack.queues[logical_id] = url
            del pending[logical_id]
            progressed = True
        if not progressed:
            raise TemplateError(f"queues with unresolvable properties: {', '.join(pending)}")


def _queue_attributes(stack: Stack, props: dict[str, Any]) -> dict[str, str]:
    attributes = {name: _text(stack.resolve(props[name])) for name in _SQS_ATTRIBUTES if name in props}
    for name in ("RedrivePolicy", "RedriveAllowPolicy"):
        if name in props:
            attributes[name] = json.dumps(stack.resolve(props[name]))
    return attributes


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _units(throughput: dict[str, Any]) -> dict[str, int]:
    """Capacity units as numbers: a Ref to a Number parameter is text, as in CloudFormation, which reads it."""
    return {name: int(value) for name, value in throughput.items()}


def _create_tables(stack: Stack, dynamodb: Any) -> None:
    for logical_id, template_props in stack.template.of_type("AWS::DynamoDB::Table").items():
        props = stack.resolve(template_props)
        name = f"{stack.name}-{logical_id}"
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            request["GlobalSecondaryIndexes"] = [
                {**index, "ProvisionedThroughput": _units(index["ProvisionedThroughput"])}
                if index.get("ProvisionedThroughput")
                else index
                for index in props["GlobalSecondaryIndexes"]
            ]
        if props.get("ProvisionedThroughput"):
            request["ProvisionedThroughput"] = _units(props["ProvisionedThroughput"])
        if props.get("SSESpecification", {}).get("SSEEnabled"):
            request["SSESpecification"] = {"Enabled": True}
        arn = dynamodb.create_table(**request)["TableDescription"]["TableArn"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        stack.refs[logical_id] = name
        stack.attrs[f"{logical_id}.Arn"] = arn
        stack.tables[logical_id] = name


def _create_secrets(stack: Stack, secretsmanager: Any, secret_values: dict[str, dict[str, Any]]) -> None:
    for logical_id, props in stack.template.of_type("AWS::SecretsManager::Secret").items():
        name = str(stack.resolve(props.get("Name", f"{stack.name}/{logical_id}")))
        vendor = _vendor_of_secret(stack, logical_id)
        value = secret_values.get(vendor, {}) if vendor else {}
        arn = secretsmanager.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        stack.refs[logical_id] = arn
        stack.secrets[logical_id] = arn


def _vendor_of_secret(stack: Stack, secret_id: str) -> str | None:
    """The VENDOR of the functions that read this secret (its key in the secrets file)."""
    for function in stack.functions():
        env = function.environment
        if env.get("SECRET_ID") == {"Ref": secret_id}:
            return str(env.get("VENDOR"))
    return None
