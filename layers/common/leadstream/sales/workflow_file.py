"""Reading the sales workflow's rules from their YAML document (the shipped `workflow.yaml`, or
SALES_WORKFLOW_PATH): the qualification frameworks, the recycle policy, the rejection reasons."""

from pathlib import Path

from leadstream.platform.documents import read_yaml
from leadstream.sales.workflow import Workflow

SHIPPED_WORKFLOW = Path(__file__).resolve().parent / "workflow.yaml"


def load_workflow(path: Path | None = None) -> Workflow:
    """The rules at `path`, else the shipped ones. Invalid rules fail here, at cold start."""
    return Workflow.model_validate(read_yaml(path or SHIPPED_WORKFLOW))
