"""EventBridge Scheduler's one-time schedules in `make run`: a function's schedule in the local AWS fires its
target within a second or so of its time, once; a deleted one never; what cannot be invoked is
dead-lettered with its input. On the runner's test stack (tests/pipeline/stack)."""

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from local.aws import clients
from local.runner import STACK
from tests.pipeline.harness import TEST_STACK, Runner, eventually

pytestmark = pytest.mark.slow

REGION = "eu-west-1"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:{STACK}-ScheduledFunction"
ROLE_ARN = "arn:aws:iam::123456789012:role/scheduler"
DEAD_LETTERS_ARN = f"arn:aws:sqs:{REGION}:123456789012:{STACK}-ScheduleDeadLetters"
GROUP = "runner-tests"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    runner = Runner(tmp_path_factory.mktemp("scheduler"), "--template", str(TEST_STACK))
    runner.wait_ready()
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def aws(run: Runner) -> dict[str, Any]:
    return clients(run.endpoint, REGION)


def at(seconds: float, zone: str = "UTC") -> tuple[str, datetime]:
    """A one-time expression `seconds` from now (to the next whole second) in `zone`, and its UTC time."""
    when = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0) + timedelta(seconds=1)
    return f"at({when.astimezone(ZoneInfo(zone)).strftime('%Y-%m-%dT%H:%M:%S')})", when


def schedule(
    aws: dict[str, Any],
    name: str,
    expression: str,
    event: dict[str, Any],
    *,
    target: str = FUNCTION_ARN,
    after: str = "DELETE",
    zone: str | None = None,
) -> None:
    """A schedule as a function creates one (NotifySalesFunction's SLA timers)."""
    aws["scheduler"].create_schedule(
        Name=name,
        GroupName=GROUP,
        ScheduleExpression=expression,
        **({"ScheduleExpressionTimezone": zone} if zone else {}),
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion=after,
        Target={
            "Arn": target,
            "RoleArn": ROLE_ARN,
            "Input": json.dumps(event),
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 300},
            "DeadLetterConfig": {"Arn": DEAD_LETTERS_ARN},
        },
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def exists(aws: dict[str, Any], name: str) -> bool:
    try:
        aws["scheduler"].get_schedule(Name=name, GroupName=GROUP)
    except aws["scheduler"].exceptions.ResourceNotFoundException:
        return False
    return True


def queue_messages(aws: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    url = aws["sqs"].get_queue_url(QueueName=f"{STACK}-{logical_id}")["QueueUrl"]
    received = aws["sqs"].receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )
    return list(received.get("Messages", []))


def test_a_one_time_schedule_fires_its_function_once_within_a_second_of_its_time_and_is_deleted(
    run: Runner, aws: dict[str, Any], tmp_path: Path
):
    seen = tmp_path / "seen.jsonl"
    expression, due = at(2)
    schedule(aws, "sla-timer-1", expression, {"ask": {"append": str(seen)}, "lead_id": "L1"})

    assert eventually(lambda: lines(seen), seconds=6) == [{"ask": {"append": str(seen)}, "lead_id": "L1"}]
    fired = datetime.now(UTC)
    assert timedelta(0) <= fired - due < timedelta(seconds=1.5)
    assert eventually(lambda: not exists(aws, "sla-timer-1"), seconds=3)


def test_a_schedule_kept_after_completion_never_fires_twice(run: Runner, aws: dict[str, Any], tmp_path: Path):
    seen = tmp_path / "seen.jsonl"
    kept, _ = at(1)
    later, _ = at(3, "Europe/Berlin")  # a time in the schedule's own time zone
    schedule(aws, "kept", kept, {"ask": {"append": str(seen)}, "n": 1}, after="NONE")
    schedule(aws, "later", later, {"ask": {"append": str(seen)}, "n": 2}, zone="Europe/Berlin")

    # When the later one has fired, the kept one has had many polls to fire again.
    assert eventually(lambda: len(lines(seen)) >= 2, seconds=8)
    time.sleep(1)  # and a few polls more
    assert [line["n"] for line in lines(seen)] == [1, 2]
    assert exists(aws, "kept")


def test_a_schedule_deleted_before_its_time_never_fires(run: Runner, aws: dict[str, Any], tmp_path: Path):
    seen = tmp_path / "seen.jsonl"
    early, _ = at(1)
    later, _ = at(2)
    schedule(aws, "accepted-in-time", early, {"ask": {"append": str(seen)}, "n": "deleted"})
    aws["scheduler"].delete_schedule(Name="accepted-in-time", GroupName=GROUP)
    schedule(aws, "witness", later, {"ask": {"append": str(seen)}, "n": "witness"})

    assert eventually(lambda: lines(seen), seconds=6)
    time.sleep(1)
    assert [line["n"] for line in lines(seen)] == ["witness"]


def test_a_failing_function_is_retried_by_lambda_then_parked_in_its_destination_with_the_input(
    run: Runner, aws: dict[str, Any], tmp_path: Path
):
    seen = tmp_path / "seen.jsonl"
    event = {"ask": {"append": str(seen), "fail": "raise"}, "lead_id": "L2"}
    expression, _ = at(1)
    schedule(aws, "failing", expression, event)

    parked = eventually(lambda: queue_messages(aws, "ScheduledFailuresQueue"), seconds=10)
    record = json.loads(parked[0]["Body"])
    assert record["requestPayload"] == event
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert "asked to fail" in record["responsePayload"]["errorMessage"]
    assert len(lines(seen)) == 2  # the first try and the one retry the function's EventInvokeConfig allows
    assert queue_messages(aws, "ScheduleDeadLetters") == []  # Lambda took the event: not Scheduler's failure


def test_a_target_scheduler_cannot_invoke_goes_to_the_dead_letter_queue_with_its_input(
    run: Runner, aws: dict[str, Any]
):
    missing = FUNCTION_ARN.replace("ScheduledFunction", "RemovedFunction")
    event = {"transition_id": "L3:SQL:1"}
    expression, _ = at(1)
    schedule(aws, "orphan", expression, event, target=missing)

    dead = eventually(lambda: queue_messages(aws, "ScheduleDeadLetters"), seconds=8)
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"]) == event
    attributes = {k: v["StringValue"] for k, v in dead[0]["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "ResourceNotFoundException"
    assert attributes["TARGET_ARN"] == missing
    assert attributes["SCHEDULE_ARN"].endswith(f":schedule/{GROUP}/orphan")
    assert attributes["RETRY_ATTEMPTS"] == "0"  # a missing target is not retried
    assert eventually(lambda: not exists(aws, "orphan"), seconds=3)
