"""The predictive artifact evaluated in plain Python, and the ranking metrics every model is judged by."""

import math
from datetime import UTC, datetime

import pytest
from leadstream.predictive.metrics import calibration, precision_recall, roc_auc, top_decile_lift
from leadstream.predictive.model import PredictiveModel, Weight

MODEL = PredictiveModel(
    version=3,
    label="reached opportunity or won within 90 days",
    horizon_days=90,
    trained_at=datetime(2026, 11, 1, tzinfo=UTC),
    scoring_model=1,
    intercept=-2.0,
    weights=(
        Weight(feature="rule:pricing_page", label="Viewed pricing", weight=1.5, mean=0.5, scale=0.5),
        Weight(feature="fit:free_email", label="Free e-mail address", weight=-0.8),
        Weight(feature="known", label="Known contact", weight=0.1),
    ),
)


def test_the_likelihood_is_the_logistic_of_the_weighted_standardised_features():
    found = MODEL.likelihood({"rule:pricing_page": 1.5, "fit:free_email": 1.0, "ignored": 9.0})

    logit = -2.0 + 1.5 * (1.5 - 0.5) / 0.5 - 0.8 * 1.0
    assert found.probability == pytest.approx(1 / (1 + math.exp(-logit)))
    assert found.model_version == 3
    # the features that moved it most, either way, in the artifact's words; a feature at 0 moved nothing
    assert [(d.label, d.effect) for d in found.drivers] == [
        ("Viewed pricing", 3.0),
        ("Free e-mail address", -0.8),
    ]


def test_a_lead_without_features_gets_the_base_likelihood():
    assert MODEL.likelihood({}).probability == pytest.approx(1 / (1 + math.exp(2.0 + 1.5 * 0.5 / 0.5)))


def test_auc_counts_how_often_a_positive_outranks_a_negative_with_ties_as_half():
    assert roc_auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert roc_auc([4, 3, 2, 1], [False, False, True, True]) == 0.0
    assert roc_auc([1, 1, 1, 1], [False, True, False, True]) == 0.5
    assert roc_auc([1, 2, 3], [False, True, False]) == 0.5
    assert roc_auc([1, 2], [True, True]) is None


def test_lift_is_the_top_deciles_rate_over_the_base_rate():
    scores = list(range(20))
    outcomes = [i >= 18 for i in scores]  # the top two of twenty convert: the top decile is all of them
    assert top_decile_lift(scores, outcomes) == pytest.approx(1.0 / 0.1)
    assert top_decile_lift(scores, [i < 2 for i in scores]) == 0.0
    assert top_decile_lift(scores, [False] * 20) is None


def test_precision_and_recall_of_a_flag_against_outcomes():
    found = precision_recall([True, True, False, False], [True, False, True, False])
    assert (found.precision, found.recall) == (0.5, 0.5)
    assert precision_recall([False], [False]).precision is None


def test_calibration_compares_predicted_and_observed_per_bin():
    bins = calibration([0.05, 0.15, 0.95, 0.91], [False, True, True, True], bins=10)
    assert [(b.low, b.count, b.observed) for b in bins] == [(0.0, 1, 0.0), (0.1, 1, 1.0), (0.9, 2, 1.0)]
    assert bins[-1].predicted == pytest.approx(0.93)
