"""The local runner: the stack from template.yaml, served on 127.0.0.1 against moto."""

import sys
from pathlib import Path

# The functions import the shared package from their layer (/opt/python in Lambda); so do these tools.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
