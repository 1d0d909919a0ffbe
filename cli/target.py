"""Which Leadstream a command works on: the local one of `make run` (moto) or a deployed stack."""

import os
from dataclasses import dataclass

import boto3

LOCAL_ENDPOINT = "http://127.0.0.1:4599"


@dataclass(frozen=True)
class Target:
    leads_table: str
    sources_table: str
    link_secret: str
    api_url: str
    region: str | None
    endpoint: str | None  # set for the local stack


def local(endpoint: str = LOCAL_ENDPOINT) -> Target:
    from local.environment import REGION
    from local.runner import STACK
    from local.template import load_stack

    stack = load_stack(STACK, REGION, {"StageName": "local"}, {})
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return Target(
        stack.physical_name("LeadsTable"),
        stack.physical_name("SourcesTable"),
        stack.physical_name("LinkSecret"),
        "http://127.0.0.1:3000",
        REGION,
        endpoint,
    )


def deployed(stack_name: str, region: str | None) -> Target:
    """Read the stack's Outputs (AWS credentials from the usual places)."""
    if region:  # every client of this process (the repositories' too) works in that region
        os.environ["AWS_DEFAULT_REGION"] = region
    cloudformation = boto3.client("cloudformation", region_name=region)
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    missing = {"LeadsTableName", "SourcesTableName", "LinkSecretArn", "ApiUrl"} - set(outputs)
    if missing:
        raise SystemExit(f"stack {stack_name} has no outputs {sorted(missing)}: is it a Leadstream stack?")
    return Target(
        outputs["LeadsTableName"],
        outputs["SourcesTableName"],
        outputs["LinkSecretArn"],
        outputs["ApiUrl"],
        region or cloudformation.meta.region_name,
        None,
    )


def secret_value(target: Target, secret_id: str) -> str:
    client = boto3.client("secretsmanager", region_name=target.region, endpoint_url=target.endpoint)
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
