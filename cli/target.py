"""Which Leadstream a command works on: the local one of `make run` (moto) or a deployed stack."""

import argparse
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from cli import options

# `make run` writes where its tracking API and local AWS listen here when it starts (and removes it when it
# stops): {"api": "http://127.0.0.1:3000", "aws": "http://127.0.0.1:4599"}. Without it, the command line
# assumes make run's default ports.
ENDPOINTS_FILE = Path(__file__).resolve().parent.parent / ".local" / "endpoints.json"


class TargetError(Exception):
    """The stack to work on cannot be told; the message says which option fixes it."""


@dataclass(frozen=True)
class Target:
    leads_table: str
    sources_table: str
    link_secret: str
    api_url: str
    region: str | None
    endpoint: str | None  # set for the local stack
    accounts_table: str = ""
    notify_failures_queue: str = ""  # a queue URL (deployed) or name (local)
    idempotency_table: str = ""
    sales_app_client: str = ""  # the sales API's app client id (deployed; found by name locally)
    archive_bucket: str = ""  # the event archive's bucket


@dataclass(frozen=True)
class LocalAddresses:
    api: str  # the tracking API (what the snippet and e-mail links point at)
    aws: str  # the local AWS endpoint (moto)
    parameters: dict[str, str] = field(default_factory=dict)  # the template parameters of --parameter


def _defaults() -> LocalAddresses:
    """make run's own defaults (its --host, --port and --aws-port; its local AWS listens on loopback)."""
    from local.runner import parse_args

    args = parse_args([])
    return LocalAddresses(f"http://{args.host}:{args.port}", f"http://127.0.0.1:{args.aws_port}")


def local_addresses(path: Path | None = None) -> LocalAddresses:
    """Where the running `make run` listens: read from the file it writes (`path`, by default
    ENDPOINTS_FILE), else its defaults. A file that cannot be used is a TargetError that names it."""
    path = path or ENDPOINTS_FILE
    if not path.is_file():
        return _defaults()
    try:
        written = json.loads(path.read_text(encoding="utf-8"))
        api = options.base_url(str(written["api"]))
        aws = options.base_url(str(written["aws"]))
        parameters = {str(k): str(v) for k, v in dict(written.get("parameters") or {}).items()}
    except (OSError, ValueError, KeyError, TypeError, argparse.ArgumentTypeError) as exc:
        raise TargetError(
            f"{path} is not what make run writes ({type(exc).__name__}: {exc}); "
            "restart make run, or delete the file and pass --api and --endpoint"
        ) from exc
    return LocalAddresses(api, aws, parameters)


def local(endpoint: str | None = None, api: str | None = None, path: Path | None = None) -> Target:
    """The local stack of `make run`; `endpoint` and `api` (the --endpoint and --api options) win over
    what make run wrote (`local_addresses`)."""
    from local.environment import REGION
    from local.runner import STACK
    from local.template import load_stack

    found = _defaults() if endpoint and api else local_addresses(path)
    endpoint = endpoint or found.aws
    stack = load_stack(STACK, REGION, {"StageName": "local"}, {})
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    return Target(
        stack.physical_name("LeadsTable"),
        stack.physical_name("SourcesTable"),
        stack.physical_name("LinkSecret"),
        api or found.api,
        REGION,
        endpoint,
        stack.physical_name("AccountsTable"),
        stack.physical_name("NotifyFailuresQueue"),
        stack.physical_name("IdempotencyTable"),
        archive_bucket=stack.physical_name("ArchiveBucket"),
    )


def deployed(stack_name: str, region: str | None, api: str | None = None) -> Target:
    """Read the stack's Outputs (AWS credentials from the usual places); `api` (--api) wins over ApiUrl."""
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
        (api or outputs["ApiUrl"]).rstrip("/"),
        region or cloudformation.meta.region_name,
        None,
        outputs.get("AccountsTableName", ""),
        outputs.get("NotifyFailuresQueueUrl", ""),
        outputs.get("IdempotencyTableName", ""),
        outputs.get("SalesAppClientId", ""),
        outputs.get("ArchiveBucketName", ""),
    )


def secret_value(target: Target, secret_id: str) -> str:
    client = boto3.client("secretsmanager", region_name=target.region, endpoint_url=target.endpoint)
    return str(client.get_secret_value(SecretId=secret_id)["SecretString"])
