"""A small scoring model of the unit tests' own, so that they pin scoring behaviour, not scoring.yaml.

Its numbers differ from the shipped model on purpose: a test that passes here and there follows from the
rules, not from a coincidence of configuration. Tests name the constants below instead of bare numbers.
The shipped model has a contract test of its own (test_shipped_model.py).
"""

from typing import Any

from leadstream.scoring.model import ScoringModel

HALF_LIFE_DAYS = 10

MQL = 40
SQL = 85  # and only for a known contact

# behaviour: the first rule that matches earns, at most MAX_* times per lead
DEMO = 50  # the demo-request form
MAX_DEMO = 1
FORM = 12  # any other form
MAX_FORM = 3
PRICING = 20  # */pricing*
MAX_PRICING = 2
JOBS = -10  # */careers*: a job seeker, not a buyer
MAX_JOBS = 1
BLOG = 4  # */blog/*
MAX_BLOG = 3
PAGE = 1  # any other page
MAX_PAGE = 5

# fit: the latest value of a trait counts; fit points never decay
WORK_EMAIL = 15
FREE_EMAIL = -15
SENIOR = 8  # VP, head, chief, director, founder
STUDENT = -20  # student, intern

DOCUMENT: dict[str, Any] = {
    "version": 1,
    "half_life_days": HALF_LIFE_DAYS,
    "stages": [
        {"stage": "MQL", "min_score": MQL},
        {"stage": "SQL", "min_score": SQL, "requires_known": True},
    ],
    "behaviour": [
        {
            "id": "demo",
            "label": "Asked for a demo",
            "match": {"type": "form", "form_id": "demo-request"},
            "points": DEMO,
            "max_times": MAX_DEMO,
        },
        {
            "id": "form",
            "label": "Sent a form",
            "match": {"type": "form"},
            "points": FORM,
            "max_times": MAX_FORM,
        },
        {
            "id": "pricing",
            "label": "Saw pricing",
            "match": {"type": "page", "path": "*/pricing*"},
            "points": PRICING,
            "max_times": MAX_PRICING,
        },
        {
            "id": "jobs",
            "label": "Looked at jobs",
            "match": {"type": "page", "path": "*/careers*"},
            "points": JOBS,
            "max_times": MAX_JOBS,
        },
        {
            "id": "blog",
            "label": "Read the blog",
            "match": {"type": "page", "path": "*/blog/*"},
            "points": BLOG,
            "max_times": MAX_BLOG,
        },
        {
            "id": "page",
            "label": "Viewed a page",
            "match": {"type": "page"},
            "points": PAGE,
            "max_times": MAX_PAGE,
        },
    ],
    "fit": [
        {
            "id": "work_email",
            "label": "Work address",
            "trait": "email_kind",
            "equals": "work",
            "points": WORK_EMAIL,
        },
        {
            "id": "free_email",
            "label": "Free address",
            "trait": "email_kind",
            "equals": "free",
            "points": FREE_EMAIL,
        },
        {
            "id": "senior",
            "label": "Senior title",
            "trait": "title",
            "contains_any": ["chief", "vp", "head", "director", "founder", "co-founder"],
            "points": SENIOR,
        },
        {
            "id": "student",
            "label": "Student",
            "trait": "title",
            "contains_any": ["student", "intern"],
            "points": STUDENT,
        },
    ],
}


def build_model() -> ScoringModel:
    return ScoringModel.model_validate(DOCUMENT)
