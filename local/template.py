"""Reads template.yaml: the one place saying which route, stream, filter and rule reaches which function."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from moto.events.models import EventPattern

from local.authorizer import JwtAuthorizer

REPO = Path(__file__).resolve().parent.parent
NO_VALUE = object()  # AWS::NoValue
TEMPLATE = REPO / "template.yaml"
ACCOUNT = "123456789012"


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short tags (!Ref, !GetAtt, !Sub ...) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader subclass
    return loaded


@dataclass(frozen=True)
class Route:
    method: str  # or ANY
    path: str  # as in the template, e.g. /v1/forms/{form_id} or /files/{proxy+}
    function: str
    timeout_ms: int = (
        30_000  # the integration's TimeoutInMillis: the HTTP API gives up after it (at most 30 s)
    )
    authorizer: str | None = None  # the HttpApi's authorizer the route names (or its DefaultAuthorizer)
    scopes: tuple[str, ...] = ()  # AuthorizationScopes: the token must hold one of them

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.method not in (method, "ANY"):
            return None
        pattern = re.escape(self.path)
        pattern = re.sub(r"\\\{(\w+)\\\+\\\}", r"(?P<\1>.+)", pattern)  # greedy {proxy+}
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", pattern)
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class StreamSubscription:
    function: str
    table: str  # logical id of the table
    batch_size: int
    batching_window: float
    max_retries: int
    filters: tuple[str, ...]
    on_failure_queue: str | None  # logical id
    report_item_failures: bool

    @cached_property
    def _patterns(self) -> list[EventPattern]:
        return [EventPattern.load(p) for p in self.filters]

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether Lambda's event filtering lets a stream record through to the function."""
        # matches_event is typed for EventBridge events; it matches any JSON object, as Lambda filters do.
        return not self._patterns or any(p.matches_event(record) for p in self._patterns)  # type: ignore[arg-type]


@dataclass(frozen=True)
class BusRule:
    function: str
    name: str
    bus: str  # resolved bus name
    pattern: dict[str, Any]
    # Lambda's asynchronous invocation of the target: retries on function errors, then the destination.
    async_retries: int
    on_failure_queue: str | None  # logical id
    # What the target receives (at most one, as in EventBridge): the whole event when none is set.
    input: str | None = None  # constant JSON text
    input_path: str | None = None  # JSON path into the event
    input_transformer: dict[str, Any] | None = None  # InputPathsMap and InputTemplate


@dataclass(frozen=True)
class ApiDestinationRule:
    """An AWS::Events::Rule whose target is an AWS::Events::ApiDestination: EventBridge POSTs each matching
    event (or what Input, InputPath or InputTransformer make of it) to an HTTP endpoint, with the
    connection's authorization, retries (RetryPolicy) and then its DeadLetterConfig queue."""

    logical_id: str
    name: str  # the rule's name on the bus
    bus: str  # resolved bus name
    pattern: dict[str, Any]
    destination: str  # logical id of the AWS::Events::ApiDestination
    retries: int  # RetryPolicy.MaximumRetryAttempts
    max_age: int  # RetryPolicy.MaximumEventAgeInSeconds
    dead_letter_queue: str | None  # logical id
    input: str | None = None
    input_path: str | None = None
    input_transformer: dict[str, Any] | None = None


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]  # what the function runs with locally
    declared: dict[str, str]  # what template.yaml gives it (all `sam local --env-vars` may override)
    timeout: int
    # The content of its layers (Lambda extracts them to /opt; a Python layer's packages are importable).
    layers: tuple[Path, ...] = ()
    reserved_concurrency: int | None = None  # ReservedConcurrentExecutions: at most this many environments
    # EventInvokeConfig: what an asynchronous invocation (a bus rule's, a schedule's) does when it fails.
    async_retries: int = 2
    on_failure_queue: str | None = None  # logical id
    # Its environment as the template writes it, and what the runner adds: resolved again once the local AWS
    # made up the ids it names (`Stack.resolve_environments`, after local.aws.provision)
    template_environment: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass
class Stack:
    """The template resolved for a local run: physical names, environments, routes, streams, rules."""

    name: str
    template: dict[str, Any]
    parameters: dict[str, Any]
    region: str
    functions: dict[str, Function] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    streams: list[StreamSubscription] = field(default_factory=list)
    rules: list[BusRule] = field(default_factory=list)
    api_rules: list[ApiDestinationRule] = field(default_factory=list)
    # Ids AWS makes up when it creates a resource (a Cognito user pool's, an app client's): set by
    # local.aws.provision, read by !Ref
    physical_ids: dict[str, str] = field(default_factory=dict)
    # While True, `!Ref` of a resource whose id the local AWS makes up resolves to a placeholder instead of
    # failing (function environments, read before provisioning and again after it)
    deferring: bool = False

    @property
    def resources(self) -> dict[str, Any]:
        res: dict[str, Any] = self.template["Resources"]
        return res

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        """The resources of a type that this stack creates (a resource whose Condition is false is not)."""
        return {
            k: v
            for k, v in self.resources.items()
            if v["Type"] == cfn_type and ("Condition" not in v or self.condition(v["Condition"]))
        }

    # physical names and attributes

    def physical_name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        named = resource["Type"] in ("AWS::Events::EventBus", "AWS::Scheduler::ScheduleGroup")
        if named and "Name" in resource.get("Properties", {}):
            return str(self.resolve(resource["Properties"]["Name"]))
        if resource["Type"] == "AWS::S3::Bucket":  # CloudFormation's bucket names are lowercase too
            return str(self.resolve(resource.get("Properties", {}).get("BucketName", ""))) or (
                f"{self.name}-{logical_id}".lower()
            )
        return f"{self.name}-{logical_id}"

    def arn(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        kind = resource["Type"]
        name = self.physical_name(logical_id)
        if kind == "AWS::Events::Rule":
            bus = self.resolve(resource["Properties"].get("EventBusName", "default"))
            name = name if bus == "default" else f"{bus}/{name}"
        service = {
            "AWS::DynamoDB::Table": f"dynamodb:{self.region}:{ACCOUNT}:table/{name}",
            "AWS::SQS::Queue": f"sqs:{self.region}:{ACCOUNT}:{name}",
            "AWS::SNS::Topic": f"sns:{self.region}:{ACCOUNT}:{name}",
            "AWS::Events::EventBus": f"events:{self.region}:{ACCOUNT}:event-bus/{name}",
            "AWS::Events::Rule": f"events:{self.region}:{ACCOUNT}:rule/{name}",
            "AWS::Events::Connection": f"events:{self.region}:{ACCOUNT}:connection/{name}",
            "AWS::Events::ApiDestination": f"events:{self.region}:{ACCOUNT}:api-destination/{name}",
            "AWS::Scheduler::ScheduleGroup": f"scheduler:{self.region}:{ACCOUNT}:schedule-group/{name}",
            "AWS::IAM::Role": f"iam::{ACCOUNT}:role/{name}",
            "AWS::S3::Bucket": f"s3:::{name}",
        }.get(kind, f"lambda:{self.region}:{ACCOUNT}:function:{name}")
        return f"arn:aws:{service}"

    def by_arn(self, arn: str) -> str | None:
        """The logical id of this stack's resource with that ARN (a Lambda ARN may carry a qualifier:
        `:$LATEST`, a version or an alias), None if it is not one of the stack's."""
        if arn.startswith("arn:aws:lambda:") and arn.count(":") == 7:
            arn = arn.rsplit(":", 1)[0]
        return next((logical_id for logical_id in self.resources if self.arn(logical_id) == arn), None)

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": self.name,
            "AWS::Partition": "aws",
        }
        if name in pseudo:
            return pseudo[name]
        if name == "AWS::URLSuffix":
            return "amazonaws.com"
        kind = self.resources[name]["Type"]
        if kind in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient"):
            if self.deferring:
                return f"<{name}: made up by the local AWS when it is created>"
            raise ValueError(f"{name} has an id once the local AWS created it (local.aws.provision)")
        if kind == "AWS::SQS::Queue":
            return f"http://sqs.{self.region}.localhost/{ACCOUNT}/{self.physical_name(name)}"
        if kind == "AWS::SNS::Topic":
            return self.arn(name)
        return self.physical_name(name)  # tables, buses; secrets by name (moto makes up the ARN suffix)

    def _get_att(self, logical_id: str, attribute: str) -> str:
        if attribute in ("Arn", "StreamArn"):
            return self.arn(logical_id)
        if attribute in ("QueueName", "TopicName"):
            return self.physical_name(logical_id)
        raise ValueError(f"the local runner does not know {logical_id}.{attribute}")

    def resolve_environments(self) -> None:
        """Every function's environment resolved again: with the ids the local AWS has made up since."""
        for function in self.functions.values():
            function.declared = self._declared(function.template_environment)
            function.environment = {
                **function.declared,
                **function.overrides,
                "AWS_LAMBDA_FUNCTION_NAME": f"{self.name}-{function.logical_id}",
            }

    def _declared(self, env: dict[str, Any]) -> dict[str, str]:
        self.deferring = True
        try:
            return {k: str(v) for k, v in self.resolve(env).items()}
        finally:
            self.deferring = False

    def jwt_authorizers(self) -> dict[str, JwtAuthorizer]:
        """The JWT authorizers of the template's HTTP API, by name (resolved: provision first)."""
        found = {}
        for resource in self.of_type("AWS::Serverless::HttpApi").values():
            authorizers = resource.get("Properties", {}).get("Auth", {}).get("Authorizers", {})
            for name, spec in authorizers.items():
                config = spec.get("JwtConfiguration")
                if config is None:
                    raise ValueError(f"the local runner knows JWT authorizers only, not {name}")
                found[name] = JwtAuthorizer(
                    name,
                    str(self.resolve(config["issuer"])),
                    tuple(str(a) for a in self.resolve(config.get("audience", []))),
                    str(spec.get("IdentitySource", "$request.header.Authorization")),
                )
        return found

    def condition(self, name: str) -> bool:
        return bool(self._evaluate(self.template.get("Conditions", {})[name]))

    def _evaluate(self, expression: Any) -> Any:
        ((key, arg),) = expression.items()
        if key == "Fn::Equals":
            left, right = (self.resolve(a) for a in arg)
            return left == right
        if key == "Fn::Not":
            return not self._evaluate(arg[0])
        if key == "Fn::And":
            return all(self._evaluate(a) for a in arg)
        if key == "Fn::Or":
            return any(self._evaluate(a) for a in arg)
        if key == "Condition":
            return self.condition(arg)
        raise ValueError(f"the local runner cannot evaluate the condition {key}")

    def resolve(self, value: Any) -> Any:
        """Evaluate the intrinsic functions this template uses. AWS::NoValue removes a key."""
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return NO_VALUE
            if key == "Fn::If":
                return self.resolve(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Ref":
                return self._ref(arg)
            if key == "Fn::GetAtt":
                return self._get_att(arg[0], arg[1])
            if key == "Fn::Join":
                parts = self.resolve(arg[1])
                return arg[0].join(p for part in parts for p in (part if isinstance(part, list) else [part]))
            if key == "Fn::Sub":
                text, extra = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

                def substitute(m: re.Match[str]) -> str:
                    ref = m.group(1)
                    if ref in extra:
                        return str(extra[ref])
                    if "." in ref:
                        return self._get_att(*ref.split(".", 1))
                    return str(self._ref(ref))

                return re.sub(r"\$\{([^}]+)\}", substitute, text)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}


def _parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = overrides.get(name, spec.get("Default", ""))
        params[name] = value.split(",") if spec["Type"] == "CommaDelimitedList" else str(value)
    return params


def _layer_paths(stack: Stack, layers: list[Any], base: Path) -> tuple[Path, ...]:
    """The folders of the template's own layers (`!Ref` to an AWS::Serverless::LayerVersion)."""
    paths = []
    for layer in layers:
        ref = layer.get("Ref") if isinstance(layer, dict) else None
        resource = stack.resources.get(ref) if isinstance(ref, str) else None
        if resource and resource["Type"] == "AWS::Serverless::LayerVersion":
            paths.append(base / resource["Properties"]["ContentUri"])
    return tuple(paths)


def _default_authorizer(stack: Stack, api: Any) -> str | None:
    """The DefaultAuthorizer of the HTTP API a route belongs to (`ApiId: !Ref <api>`), if it has one."""
    ref = api.get("Ref") if isinstance(api, dict) else None
    resource = stack.resources.get(ref) if isinstance(ref, str) else None
    default = (resource or {}).get("Properties", {}).get("Auth", {}).get("DefaultAuthorizer")
    return str(default) if default else None


def load_stack(
    name: str,
    region: str,
    parameter_overrides: dict[str, str],
    env_overrides: dict[str, str],
    template_path: Path = TEMPLATE,
) -> Stack:
    """The stack of `template_path` (template.yaml unless given); code and layer paths are relative to it."""
    template = load_template(template_path)
    base = template_path.resolve().parent
    stack = Stack(name, template, _parameters(template, parameter_overrides), region)
    globals_fn = template.get("Globals", {}).get("Function", {})
    global_env = globals_fn.get("Environment", {}).get("Variables", {})
    for logical_id, resource in stack.of_type("AWS::Serverless::Function").items():
        props = resource["Properties"]
        env = {**global_env, **props.get("Environment", {}).get("Variables", {})}
        declared = stack._declared(env)
        environment = {**declared, **env_overrides}
        environment["AWS_LAMBDA_FUNCTION_NAME"] = f"{name}-{logical_id}"
        reserved = props.get("ReservedConcurrentExecutions", globals_fn.get("ReservedConcurrentExecutions"))
        invoke_config = props.get("EventInvokeConfig", {})
        on_failure_queue = invoke_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        stack.functions[logical_id] = Function(
            logical_id,
            base / props["CodeUri"],
            props.get("Handler", globals_fn.get("Handler")),
            environment,
            declared,
            int(props.get("Timeout", globals_fn.get("Timeout", 3))),
            _layer_paths(stack, props.get("Layers", globals_fn.get("Layers", [])), base),
            int(stack.resolve(reserved)) if reserved is not None else None,
            int(invoke_config.get("MaximumRetryAttempts", 2)),
            on_failure_queue["Fn::GetAtt"][0] if on_failure_queue else None,
            env,
            dict(env_overrides),
        )
        for event_name, event in props.get("Events", {}).items():
            p = event["Properties"]
            if event["Type"] == "HttpApi":
                method = str(p.get("Method", "ANY")).upper()
                method = "ANY" if method in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD") else method
                timeout_ms = min(int(p.get("TimeoutInMillis", 30_000)), 30_000)
                auth = p.get("Auth", {})
                authorizer = auth.get("Authorizer", _default_authorizer(stack, p.get("ApiId")))
                stack.routes.append(
                    Route(
                        method,
                        p.get("Path", "/{proxy+}"),
                        logical_id,
                        timeout_ms,
                        None if authorizer in (None, "NONE") else str(authorizer),
                        tuple(str(s) for s in auth.get("AuthorizationScopes", ())),
                    )
                )
            elif event["Type"] == "DynamoDB":
                table = p["Stream"]["Fn::GetAtt"][0]
                on_failure = p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                stack.streams.append(
                    StreamSubscription(
                        function=logical_id,
                        table=table,
                        batch_size=int(p.get("BatchSize", 100)),
                        batching_window=float(p.get("MaximumBatchingWindowInSeconds", 0)),
                        max_retries=int(p.get("MaximumRetryAttempts", 3)),
                        filters=tuple(f["Pattern"] for f in p.get("FilterCriteria", {}).get("Filters", [])),
                        on_failure_queue=on_failure["Fn::GetAtt"][0] if on_failure else None,
                        report_item_failures="ReportBatchItemFailures" in p.get("FunctionResponseTypes", []),
                    )
                )
            elif event["Type"] == "EventBridgeRule":
                invoke = props.get("EventInvokeConfig", {})
                on_failure = invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                stack.rules.append(
                    BusRule(
                        function=logical_id,
                        name=f"{logical_id}-{event_name}",
                        bus=str(stack.resolve(p.get("EventBusName", "default"))),
                        pattern=json.loads(json.dumps(p["Pattern"])),
                        async_retries=int(invoke.get("MaximumRetryAttempts", 2)),
                        on_failure_queue=on_failure["Fn::GetAtt"][0] if on_failure else None,
                        input=stack.resolve(p["Input"]) if "Input" in p else None,
                        input_path=stack.resolve(p["InputPath"]) if "InputPath" in p else None,
                        input_transformer=stack.resolve(p["InputTransformer"])
                        if "InputTransformer" in p
                        else None,
                    )
                )
    stack.api_rules = list(_api_destination_rules(stack))
    return stack


def _pattern(pattern: Any) -> dict[str, Any]:
    """An event pattern as CloudFormation takes it: an object, or its JSON text."""
    loaded: dict[str, Any] = json.loads(pattern) if isinstance(pattern, str) else pattern
    return loaded


def _api_destination_rules(stack: Stack) -> Iterator[ApiDestinationRule]:
    """The targets of the template's AWS::Events::Rule resources that are its API destinations (other
    targets of such rules are not emulated; a function's rules are its EventBridgeRule events)."""
    for logical_id, resource in stack.of_type("AWS::Events::Rule").items():
        props = resource["Properties"]
        if "EventPattern" not in props or props.get("State", "ENABLED") != "ENABLED":
            continue
        for target in stack.resolve(props.get("Targets", [])):
            destination = stack.by_arn(str(target["Arn"]))
            if destination is None or stack.resources[destination]["Type"] != "AWS::Events::ApiDestination":
                continue
            retry = target.get("RetryPolicy", {})
            dead_letter = target.get("DeadLetterConfig", {}).get("Arn")
            yield ApiDestinationRule(
                logical_id=logical_id,
                name=str(stack.resolve(props.get("Name", stack.physical_name(logical_id)))),
                bus=str(stack.resolve(props.get("EventBusName", "default"))),
                pattern=_pattern(stack.resolve(props["EventPattern"])),
                destination=destination,
                retries=int(retry.get("MaximumRetryAttempts", 185)),
                max_age=int(retry.get("MaximumEventAgeInSeconds", 86_400)),
                dead_letter_queue=stack.by_arn(str(dead_letter)) if dead_letter else None,
                input=target.get("Input"),
                input_path=target.get("InputPath"),
                input_transformer=target.get("InputTransformer"),
            )
