"""When the local runner fires a schedule: one-time expressions in their time zone; recurring ones never."""

from datetime import UTC, datetime

import pytest

from local.scheduler import due_at


def test_a_one_time_schedule_is_due_at_its_time_in_utc_by_default():
    assert due_at("at(2026-11-30T10:00:00)") == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


def test_a_one_time_schedule_is_due_at_its_time_in_its_own_time_zone():
    assert due_at("at(2026-11-30T10:00:00)", "Europe/Berlin") == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert due_at("at(2026-07-01T10:00:00)", "America/New_York") == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("expression", ["rate(5 minutes)", "cron(0 10 * * ? *)"])
def test_a_recurring_schedule_is_never_due_locally(expression):
    assert due_at(expression) is None


@pytest.mark.parametrize("expression", ["at(2026-11-30 10:00)", "every 5 minutes", ""])
def test_anything_else_is_an_error(expression):
    with pytest.raises(ValueError, match="not a schedule expression"):
        due_at(expression)
