"""Settings, validated once at cold start from the environment: the only module that reads it. Domain
code receives plain values."""

import os
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator

from leadstream.sources.model import DEFAULT_LEAD_RETENTION_DAYS


class _FromEnv(BaseModel):
    # defer_build: a function validates one or two of these; the others never cost it a schema build.
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)

    @classmethod
    def from_env(cls) -> Self:
        return cls.model_validate(dict(os.environ))


class ObservabilitySettings(_FromEnv):
    # Powertools' own switch. Off (the template's default): no X-Ray SDK is loaded; Lambda's active
    # tracing still records every invocation. On: every AWS call is an X-Ray subsegment too.
    trace_disabled: bool = Field(default=False, alias="POWERTOOLS_TRACE_DISABLED")

    @field_validator("trace_disabled", mode="before")
    @classmethod
    def _truthy(cls, value: object) -> object:
        return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


class LeadsSettings(_FromEnv):
    leads_table: str = Field(alias="LEADS_TABLE", min_length=3)


class IngestSettings(LeadsSettings):
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    # the stack's LeadRetentionDays: how long a lead outlives its last activity when its source says nothing
    lead_retention_days: int = Field(default=DEFAULT_LEAD_RETENTION_DAYS, alias="LEAD_RETENTION_DAYS", ge=1)
    sources_table: str = Field(alias="SOURCES_TABLE", min_length=3)
    # the suppression hashes' key (privacy: erased people); name or ARN in Secrets Manager, read lazily
    link_secret: str | None = Field(default=None, alias="LINK_SECRET")
    # the company-by-IP provider's token (name or ARN in Secrets Manager); unset: no company lookups
    company_lookup_secret: str | None = Field(default=None, alias="COMPANY_LOOKUP_SECRET")
    # the provider's base URL; unset: IPinfo's own (https only, or a stand-in on loopback for tests)
    company_lookup_url: str | None = Field(default=None, alias="COMPANY_LOOKUP_URL")

    @field_validator("link_secret", "company_lookup_secret", "company_lookup_url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class EmailLinkSettings(LeadsSettings):
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    # the stack's LeadRetentionDays: how long a lead outlives its last activity when its source says nothing
    lead_retention_days: int = Field(default=DEFAULT_LEAD_RETENTION_DAYS, alias="LEAD_RETENTION_DAYS", ge=1)
    link_secret: str = Field(alias="LINK_SECRET", min_length=1)  # name or ARN in Secrets Manager


class ScoringSettings(LeadsSettings):
    scoring_model: Path | None = Field(default=None, alias="SCORING_MODEL_PATH")


class PredictiveSettings(_FromEnv):
    """The predictive model's artifact (the stack's PredictiveModelFile: a path inside the common layer, or
    an absolute one); unset: no likelihood is computed, nor shown."""

    predictive_model: Path | None = Field(default=None, alias="PREDICTIVE_MODEL_PATH")

    @field_validator("predictive_model", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ScoreSettings(ScoringSettings, PredictiveSettings):
    """ScoreFunction: the scoring model and, optionally, the predictive model it computes likelihoods with."""

    # where the predictive model's account features come from (read only for an artifact that has them)
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    account_model: Path | None = Field(default=None, alias="ACCOUNT_MODEL_PATH")


class AccountSettings(ScoringSettings):
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    account_model: Path | None = Field(default=None, alias="ACCOUNT_MODEL_PATH")


class ExpireSettings(AccountSettings):
    """An expired lead leaves its accounts' scores too: the account and lead models, as AccountFunction."""


class ArchiveSettings(LeadsSettings):
    """ArchiveFunction: the bucket the leads table's history is archived in (and the leads table, whose
    erase tombstones it reads)."""

    archive_bucket: str = Field(alias="ARCHIVE_BUCKET", min_length=3)


class PublishSettings(LeadsSettings):
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    event_bus_name: str = Field(alias="EVENT_BUS_NAME", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


class NotifySettings(LeadsSettings):
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)
    # the lead's account, named in the notification (its score needs both models: it decays as leads do)
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    account_model: Path | None = Field(default=None, alias="ACCOUNT_MODEL_PATH")
    scoring_model: Path | None = Field(default=None, alias="SCORING_MODEL_PATH")
    slack_webhook_secret: str | None = Field(default=None, alias="SLACK_WEBHOOK_SECRET")  # name or ARN
    notify_topic_arn: str | None = Field(default=None, alias="NOTIFY_TOPIC_ARN")
    notifications_file: Path | None = Field(default=None, alias="NOTIFICATIONS_FILE")
    # the base URL a Slack message links a lead's LeadCard under (<url>/api/leads/<id>); unset: no link
    sales_app_url: str | None = Field(default=None, alias="SALES_APP_URL")

    @field_validator(
        "slack_webhook_secret", "notify_topic_arn", "notifications_file", "sales_app_url", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class ApiSettings(ScoringSettings, PredictiveSettings):
    """The sales API's reads. Without a predictive model configured, cards and lists answer no likelihood
    (one left on a lead by a model since removed is stale) and the lists do not read it."""

    # the lead's account on its card (its score needs both models: it decays as leads do)
    accounts_table: str = Field(alias="ACCOUNTS_TABLE", min_length=3)
    account_model: Path | None = Field(default=None, alias="ACCOUNT_MODEL_PATH")


class SlaCancelSettings(_FromEnv):
    """The functions whose actions stop a lead's speed-to-lead timer: its schedule group."""

    sla_schedule_group: str = Field(alias="SLA_SCHEDULE_GROUP", min_length=1)


class WorkflowSettings(ScoringSettings, SlaCancelSettings):
    """What the sales actions need (the API's and Slack's): the workflow, its framework, the SLA timers."""

    qualification_framework: str = Field(default="BANT", alias="QUALIFICATION_FRAMEWORK", min_length=1)
    sales_workflow: Path | None = Field(default=None, alias="SALES_WORKFLOW_PATH")


class ActionSettings(ApiSettings, WorkflowSettings):
    """The sales API with its actions (accept, reject, qualify, progress, disqualify, note)."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)  # Idempotency-Key records


class SalesSettings(_FromEnv):
    """The sales workflow's rules (owners, SLA) and where its timers go; shared by the functions that hand
    leads to sales and escalate them."""

    # the assignment rules and SLA (a YAML document); unset: the shipped sales/assignment.yaml
    assignment_rules: Path | None = Field(default=None, alias="ASSIGNMENT_RULES_PATH")


class SlaTimerSettings(SlaCancelSettings):
    sla_function_arn: str = Field(alias="SLA_FUNCTION_ARN", min_length=1)
    sla_scheduler_role_arn: str = Field(alias="SLA_SCHEDULER_ROLE_ARN", min_length=1)
    sla_dead_letter_arn: str | None = Field(default=None, alias="SLA_DEAD_LETTER_ARN")


class HandOverSettings(NotifySettings, SalesSettings, SlaTimerSettings):
    """NotifySalesFunction: it assigns the owner and starts the SLA timer before it tells sales."""


class SlaSettings(NotifySettings, SalesSettings):
    """SlaFunction: the channels it escalates through are NotifySalesFunction's."""


class AssignSettings(ApiSettings, SalesSettings):
    """ApiFunction's assign action: idempotent under retries (an Idempotency-Key header)."""

    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)


class SlackSettings(WorkflowSettings):
    """SlackFunction: Slack's interactivity requests (the Accept / Reject buttons), acting as a sales user."""

    # the Slack app's secret (name or ARN in Secrets Manager): {"signing_secret": ..., "bot_token": ...};
    # unset: the route answers 404 (Slack interactivity is off)
    slack_app_secret: str | None = Field(default=None, alias="SLACK_APP_SECRET")
    # Slack's Web API (users.info); https only, or a stand-in on loopback for local runs and tests
    slack_api_url: str = Field(default="https://slack.com/api", alias="SLACK_API_URL")
    sales_user_pool_id: str = Field(alias="SALES_USER_POOL_ID", min_length=1)
    idempotency_table: str = Field(alias="IDEMPOTENCY_TABLE", min_length=3)

    @field_validator("slack_app_secret", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value


class WebSettings(_FromEnv):
    """WebFunction: the web app's files, and what its sign-in page needs to know (config.json)."""

    # the user-pool API the browser signs in with (the region's Cognito, or the local AWS under make run)
    cognito_endpoint: str = Field(default="", alias="COGNITO_ENDPOINT")
    sales_app_client_id: str = Field(default="", alias="SALES_APP_CLIENT_ID")
    region: str = Field(default="", alias="AWS_REGION")


LAYER_ROOT = Path(__file__).resolve().parents[2]  # the common layer's root: what holds `leadstream/`


class ShadowSettings(ScoringSettings):
    """ShadowFunction: the candidate scoring model it scores live events with, beside the live one (the
    ShadowScoringModel parameter): a YAML file's path inside the common layer, e.g.
    leadstream/scoring/candidates/sql_at_60.yaml. A path outside the layer, or no such file, fails here."""

    shadow_scoring_model: Path = Field(alias="SHADOW_SCORING_MODEL")
    # how long a record outlives the person's latest event when their STATE has no expiry yet (the stack's
    # LeadRetentionDays; the STATE's own expiry wins as soon as scoring wrote it)
    lead_retention_days: int = Field(default=DEFAULT_LEAD_RETENTION_DAYS, alias="LEAD_RETENTION_DAYS", ge=1)

    @field_validator("shadow_scoring_model", mode="before")
    @classmethod
    def _inside_the_layer(cls, value: object) -> object:
        relative = Path(str(value or ""))
        path = (LAYER_ROOT / relative).resolve()
        if not str(value or "").strip() or relative.is_absolute() or not path.is_relative_to(LAYER_ROOT):
            raise ValueError(f"{value!r}: give the candidate model's path inside the common layer")
        if not path.is_file():
            raise ValueError(f"{value!r}: no such file in the common layer ({LAYER_ROOT})")
        return path
