"""Creates the template's tables, queues, topics, bus and rules in the local AWS (moto)."""

import json
import secrets
from typing import Any

import boto3

from local.template import Stack


def clients(endpoint: str | None, region: str) -> dict[str, Any]:
    """boto3 clients for the local AWS at `endpoint` (None: the default, e.g. inside moto's mock_aws)."""
    kwargs: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": region,
        "aws_access_key_id": "local",
        "aws_secret_access_key": "local",
    }
    return {
        name: boto3.client(name, **kwargs)
        for name in (
            "dynamodb",
            "dynamodbstreams",
            "sqs",
            "sns",
            "events",
            "secretsmanager",
            "cognito-idp",
            "scheduler",
            "s3",
        )
    }


def delivery_queue_name(stack: Stack, rule_name: str) -> str:
    return f"{stack.name}-{rule_name}-delivery"


def provision(stack: Stack, aws: dict[str, Any]) -> dict[str, str]:
    """Create every resource the functions use. Returns queue logical id (or delivery name) -> URL."""
    ddb, sqs = aws["dynamodb"], aws["sqs"]
    for logical_id, resource in stack.of_type("AWS::DynamoDB::Table").items():
        props = stack.resolve(resource["Properties"])
        name = stack.physical_name(logical_id)
        create: dict[str, Any] = {
            "TableName": name,
            "KeySchema": props["KeySchema"],
            "AttributeDefinitions": props["AttributeDefinitions"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if "GlobalSecondaryIndexes" in props:
            create["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if "StreamSpecification" in props:
            create["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        ddb.create_table(**create)
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)

    queues = {}
    for logical_id in stack.of_type("AWS::SQS::Queue"):
        queues[logical_id] = sqs.create_queue(QueueName=stack.physical_name(logical_id))["QueueUrl"]
    for logical_id in stack.of_type("AWS::SNS::Topic"):
        aws["sns"].create_topic(Name=stack.physical_name(logical_id))
    for logical_id, resource in stack.of_type("AWS::SecretsManager::Secret").items():
        props = stack.resolve(resource["Properties"])
        aws["secretsmanager"].create_secret(
            Name=stack.physical_name(logical_id),
            SecretString=props.get("SecretString") or secrets.token_urlsafe(36),  # or GenerateSecretString
        )
    for logical_id, resource in stack.of_type("AWS::S3::Bucket").items():
        provision_bucket(
            aws["s3"], stack.physical_name(logical_id), stack.resolve(resource.get("Properties", {}))
        )
    for logical_id in stack.of_type("AWS::Events::EventBus"):
        aws["events"].create_event_bus(Name=stack.physical_name(logical_id))
    for logical_id in stack.of_type("AWS::Scheduler::ScheduleGroup"):
        aws["scheduler"].create_schedule_group(Name=stack.physical_name(logical_id))
    provision_user_pools(stack, aws["cognito-idp"])

    # A rule's target is a Lambda function in the cloud; here it is a queue the runner drains into it.
    for rule in stack.rules:
        name = delivery_queue_name(stack, rule.name)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[name] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws["events"].put_rule(Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern))
        aws["events"].put_targets(
            Rule=rule.name, EventBusName=rule.bus, Targets=[{"Id": "function", "Arn": arn}]
        )
    # An API destination is an HTTPS endpoint in the cloud; here too a queue, which local.destinations
    # drains into it.
    for api_rule in stack.api_rules:
        name = delivery_queue_name(stack, api_rule.name)
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        queues[name] = url
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        aws["events"].put_rule(
            Name=api_rule.name, EventBusName=api_rule.bus, EventPattern=json.dumps(api_rule.pattern)
        )
        aws["events"].put_targets(
            Rule=api_rule.name, EventBusName=api_rule.bus, Targets=[{"Id": "api-destination", "Arn": arn}]
        )
    return queues


def provision_bucket(s3: Any, name: str, props: dict[str, Any]) -> None:
    """A bucket as the template describes it: its default encryption and public access block as well
    (lifecycle rules are the cloud's: nothing local lives long enough to expire)."""
    region = s3.meta.region_name
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=name, **location)
    if "BucketEncryption" in props:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [  # CloudFormation's names for the API's
                    {
                        "ApplyServerSideEncryptionByDefault": rule["ServerSideEncryptionByDefault"],
                        **(
                            {"BucketKeyEnabled": rule["BucketKeyEnabled"]}
                            if "BucketKeyEnabled" in rule
                            else {}
                        ),
                    }
                    for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
                ]
            },
        )
    if "PublicAccessBlockConfiguration" in props:
        s3.put_public_access_block(
            Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
        )


# What the local user pool takes from the template (the rest - MFA, deletion protection - is the cloud's).
POOL_PROPERTIES = ("UsernameAttributes", "AutoVerifiedAttributes", "AdminCreateUserConfig", "Policies")
CLIENT_PROPERTIES = ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors")


def provision_user_pools(stack: Stack, cognito: Any) -> None:
    """The template's Cognito user pools, their groups and app clients. AWS makes up their ids: they are
    recorded in `stack.physical_ids`, so `!Ref` gives them (the JWT authorizer's issuer and audience)."""
    for logical_id, resource in stack.of_type("AWS::Cognito::UserPool").items():
        props = stack.resolve(resource["Properties"])
        pool = cognito.create_user_pool(
            PoolName=props.get("UserPoolName", stack.physical_name(logical_id)),
            **{k: props[k] for k in POOL_PROPERTIES if k in props},
        )
        stack.physical_ids[logical_id] = pool["UserPool"]["Id"]
    for resource in stack.of_type("AWS::Cognito::UserPoolGroup").values():
        props = stack.resolve(resource["Properties"])
        cognito.create_group(
            UserPoolId=props["UserPoolId"],
            GroupName=props["GroupName"],
            **{k: props[k] for k in ("Description", "Precedence") if k in props},
        )
    for logical_id, resource in stack.of_type("AWS::Cognito::UserPoolClient").items():
        props = stack.resolve(resource["Properties"])
        client = cognito.create_user_pool_client(
            UserPoolId=props["UserPoolId"],
            ClientName=props.get("ClientName", stack.physical_name(logical_id)),
            **{k: props[k] for k in CLIENT_PROPERTIES if k in props},
        )
        stack.physical_ids[logical_id] = client["UserPoolClient"]["ClientId"]
    stack.resolve_environments()  # a function may name the pool (SlackFunction looks its users up)


def local_password() -> str:
    """A password a local user gets, strong enough for any pool's policy (the template's asks for 14+)."""
    return secrets.token_urlsafe(15) + "aZ7!"


def create_user(cognito: Any, pool_id: str, email: str, password: str, groups: list[str]) -> None:
    """A confirmed user of the pool, with a permanent password, in `groups` (no e-mail is sent)."""
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}]
    cognito.admin_create_user(
        UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS"
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=group)
