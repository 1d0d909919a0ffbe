"""A test function: answers with the event it got and the process it ran in.

Query parameters (or, for a stream batch, record fields; for any other event its `ask` object) ask for
behaviour: `sleep` (seconds), `touch` (a file written after sleeping), `append` (a file that gets a line
per invocation: the event), `status` (the HTTP status), `fail` (`raise`: an exception, `exit`: the process
dies), `inferred` (a response without statusCode).
"""

import json
import os
import time
from pathlib import Path
from typing import Any

INVOCATIONS = 0  # of this execution environment


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    global INVOCATIONS
    INVOCATIONS += 1
    if "Records" in event:
        failed = [r["dynamodb"]["SequenceNumber"] for r in event["Records"] if r.get("fail")]
        return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
    query = event.get("queryStringParameters") or event.get("ask") or {}
    time.sleep(float(query.get("sleep", 0)))
    if "touch" in query:
        Path(query["touch"]).write_text(str(os.getpid()))
    if "append" in query:
        with Path(query["append"]).open("a") as seen:
            seen.write(json.dumps(event) + "\n")
    if query.get("fail") == "raise":
        raise RuntimeError("asked to fail")
    if query.get("fail") == "exit":
        os._exit(1)
    answer = {"pid": os.getpid(), "invocation": INVOCATIONS, "event": event}
    if "inferred" in query:
        return answer
    return {
        "statusCode": int(query.get("status", 200)),
        "headers": {"content-type": "application/json", "x-echo": "yes"},
        "cookies": ["a=1", "b=2"],
        "body": json.dumps(answer),
    }
