"""The Slack message of an SQL: Block Kit with Accept / Reject buttons that carry ids only, and whatever a
visitor typed shown as typed, never as markup (no ping, no link, no formatting)."""

import json
from typing import Any

from leadstream.notifications.blocks import ACCEPT, ACTIONS_BLOCK, REJECT, card_link, slack_message
from leadstream.notifications.message import message

from tests.unit.test_notification_text import change

HOSTILE = {"name": "<!channel> <script>alert(1)</script>", "company": "<https://evil.example|BigCorp> & Co"}


def slack(**card: Any) -> dict[str, Any]:
    sql = change(**card)
    subject, text = message(sql)
    return slack_message(
        subject,
        text,
        lead_id=sql.lead_id,
        transition_id=sql.transition_id,
        to_stage=sql.to_stage,
        owner="rep@example.com",
        link=card_link("https://api.example.com/prod", sql.lead_id),
    )


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text Slack would read as markup (mrkdwn), wherever it is in the blocks."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def test_an_sql_message_has_accept_and_reject_buttons_naming_the_lead_and_the_change_by_id_only() -> None:
    body = slack()

    header, section, context, actions = body["blocks"]
    assert header["text"]["text"] == "New SQL: Jane Doe at Acme (score 92)"
    assert "Why: Requested a demo (+40)" in section["text"]["text"]
    assert actions["block_id"] == ACTIONS_BLOCK
    accept, reject = actions["elements"]
    assert (accept["action_id"], accept["text"]["text"], accept["style"]) == (ACCEPT, "Accept", "primary")
    assert (reject["action_id"], reject["text"]["text"], reject["style"]) == (REJECT, "Reject", "danger")
    assert (
        json.loads(accept["value"])
        == json.loads(reject["value"])
        == {
            "lead_id": "L1",
            "transition_id": "L1:SQL:1",
        }
    )
    for personal in ("jane", "Jane", "Acme"):
        assert personal not in accept["value"]
    assert context["elements"][0]["text"] == (
        "Owner: rep@example.com · <https://api.example.com/prod/app#/leads/L1|Open the LeadCard>"
    )


def test_what_a_visitor_typed_is_plain_text_in_the_blocks_and_escaped_in_the_fallback() -> None:
    body = slack(**HOSTILE)

    header, section = body["blocks"][:2]
    assert header["text"]["type"] == section["text"]["type"] == "plain_text"  # shown as typed
    assert "<!channel>" in header["text"]["text"]
    for markup in mrkdwn_texts(body["blocks"]):  # the only markup is ours: no visitor text in it
        assert "channel" not in markup
        assert "script" not in markup
        assert "evil" not in markup
    fallback = body["text"]  # what a phone's notification shows, read by Slack as mrkdwn
    assert "&lt;!channel&gt; &lt;script&gt;alert(1)&lt;/script&gt;" in fallback
    assert "&lt;https://evil.example|BigCorp&gt; &amp; Co" in fallback
    assert "<" not in fallback
    assert ">" not in fallback
    assert body["mrkdwn"] is False


def test_an_owner_is_escaped_like_anything_else_in_markup() -> None:
    body = slack_message("New SQL", "", lead_id="L1", transition_id="L1:SQL:1", owner="<!here>&<@U1>")

    [markup] = mrkdwn_texts(body["blocks"])
    assert markup == "Owner: &lt;!here&gt;&amp;&lt;@U1&gt;"


def test_hand_raisers_and_pqls_are_marked_and_only_a_stage_sales_decides_on_has_buttons() -> None:
    raised = slack_message(
        "New SQL", "", lead_id="L1", transition_id="L1:SQL:1", to_stage="SQL", hand_raiser=True
    )
    from_product = slack_message(
        "New SQL", "", lead_id="L1", transition_id="L1:SQL:2", from_stage="PQL", to_stage="SQL"
    )
    pql = slack_message("New PQL", "", lead_id="L1", transition_id="L1:PQL:1", to_stage="PQL")
    mql = slack_message("New MQL", "", lead_id="L1", transition_id="L1:MQL:1", to_stage="MQL")

    assert "Hand-raiser" in mrkdwn_texts(raised["blocks"])[0]
    assert "PQL" in mrkdwn_texts(from_product["blocks"])[0]
    assert [b["type"] for b in raised["blocks"]][-1] == "actions"
    assert "PQL" in mrkdwn_texts(pql["blocks"])[0]
    assert [b["type"] for b in pql["blocks"]][-1] == "actions"  # sales accepts a PQL too
    assert "actions" not in [b["type"] for b in mql["blocks"]]  # marketing's to nurture
