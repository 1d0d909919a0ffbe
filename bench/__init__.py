"""Benchmarks whose figures go in docs/performance.md."""

import sys
from pathlib import Path

# The functions import the shared package from the layer (/opt/python in Lambda); so do the benchmarks.
_LAYER = str(Path(__file__).resolve().parent.parent / "layers" / "common")
if _LAYER not in sys.path:
    sys.path.insert(0, _LAYER)
