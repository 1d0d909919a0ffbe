"""A lead's account features: the account model's fit rules its account meets (firmographics), named and
labelled as the artifact keeps them. The test's own account model, so the shipped one can change."""

from leadstream.accounts.model import AccountFitRule
from leadstream.accounts.model_file import load_account_model
from leadstream.predictive.features import account_features, account_label

FIT = (
    AccountFitRule(
        id="software", label="Sells software", trait="industry", contains_any=("software",), points=10
    ),
    AccountFitRule(
        id="mid_size", label="50 to 500 people", trait="employees", at_least=50, at_most=500, points=10
    ),
    AccountFitRule(id="tiny", label="Fewer than 10 people", trait="employees", at_most=9, points=-5),
    AccountFitRule(id="school", label="A school", trait="domain", ends_with=("edu",), points=-20),
)
MODEL = load_account_model().model_copy(update={"fit": FIT})  # the shipped engagement, the test's fit rules


def test_an_account_has_one_feature_per_fit_rule_it_meets_and_none_for_the_others():
    traits = {"industry": "Enterprise Software", "employees": "51-200"}

    assert account_features(MODEL, "acme.example", traits) == {
        "account:fit:software": 1.0,
        "account:fit:mid_size": 1.0,
    }
    # a domain rule needs no trait; a negative rule is a feature like any other
    assert account_features(MODEL, "uni.edu", {"employees": "3"}) == {
        "account:fit:tiny": 1.0,
        "account:fit:school": 1.0,
    }
    assert account_features(MODEL, "unknown.example", {}) == {}


def test_an_account_feature_is_labelled_in_the_account_models_words():
    assert account_label("account:fit:mid_size", MODEL) == "Account: 50 to 500 people"
    assert (
        account_label("account:fit:gone", MODEL) is None
    )  # a rule since removed: the artifact's label stays
    assert account_label("fit:work_email", MODEL) is None
