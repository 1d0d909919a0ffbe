"""A lead's features for the predictive model, from its scoring STATE (pure, O(features)).

The same function serves training (each person replayed from the archive to the moment they are judged)
and the live score (ScoreFunction's STATE after an event), so the model never sees a feature computed two
ways. Everything comes from `LeadScore`, nothing is read: behaviour (per scoring rule, how often it earned;
counts and recency), fit (which fit rules hold: e-mail kind, seniority, ...), the rules score and stage,
and acquisition (the first touch's channel). Account features are passed in by the caller as `extra`,
named `account:<name>`: `account_features` makes the account model's fit rules the lead's account meets
(its firmographics: industry, size, domain), which the caller reads (predictive/accounts.py).

A lead a person has moved (accepted, rejected, opportunity, won, lost) has no `stage:` feature: those
stages are the outcome the model predicts, never an input (training judges people before them).

Names are stable strings (`rule:<id>`, `fit:<id>`, `channel:<channel>`, `stage:<stage>`, ...): they are
the artifact's keys. A rule renamed in the scoring model is a new feature.
"""

import math
from collections.abc import Mapping
from datetime import datetime

from leadstream.accounts.model import AccountModel
from leadstream.scoring.model import ScoringModel
from leadstream.scoring.score import LeadScore

DAY = 86400.0
ACCOUNT_FIT = "account:fit:"


def features(
    model: ScoringModel, score: LeadScore, at: datetime, extra: Mapping[str, float] | None = None
) -> dict[str, float]:
    values: dict[str, float] = {
        "rules_score": score.score_at(model, at),
        "known": float(score.known),
        "events": math.log1p(score.events),
        "page_views": math.log1p(score.page_views),
        "sessions": math.log1p(score.sessions),
    }
    if score.last_seen is not None:
        values["days_since_seen"] = max(0.0, (at - score.last_seen).total_seconds() / DAY)
    if score.first_seen is not None and score.last_seen is not None:
        values["days_active"] = (score.last_seen - score.first_seen).total_seconds() / DAY
    for rule_id, (_points, times) in score.contributions.items():
        if times:
            values[f"rule:{rule_id}"] = math.log1p(times)
    for rule_id, points in score.fit_points.items():
        if points:
            values[f"fit:{rule_id}"] = 1.0
    if score.first_touch is not None:
        values[f"channel:{score.first_touch.channel}"] = 1.0
    if not score.stage.by_people:  # scoring's stage; a person's (accepted, won, ...) is what is predicted
        values[f"stage:{score.stage.value}"] = 1.0
    if extra:
        values.update(extra)
    return values


def account_features(model: AccountModel, domain: str, traits: Mapping[str, str]) -> dict[str, float]:
    """The account fit rules an account meets, as features: `account:fit:<rule id>` = 1."""
    return {f"{ACCOUNT_FIT}{rule}": 1.0 for rule in model.fit_points({**traits, "domain": domain})}


def account_label(name: str, model: AccountModel) -> str | None:
    """What an account fit feature is called beside the likelihood (None: not one of `model`'s)."""
    rule = name.removeprefix(ACCOUNT_FIT) if name.startswith(ACCOUNT_FIT) else None
    return next((f"Account: {r.label}" for r in model.fit if r.id == rule), None)


def label_of(name: str, model: ScoringModel) -> str:
    """What a feature is called beside the likelihood, in the scoring model's words where it has them."""
    kind, _, rest = name.partition(":")
    if kind in ("rule", "fit"):
        return model.label(rest)
    if kind == "channel":
        return f"Came by {rest}"
    if kind == "stage":
        return f"At {rest}"
    return {
        "rules_score": "Rules score",
        "known": "Known contact",
        "events": "Activity",
        "page_views": "Pages viewed",
        "sessions": "Visits",
        "days_since_seen": "Days since last seen",
        "days_active": "Days active",
    }.get(name, name.replace("_", " ").replace(":", ": "))
