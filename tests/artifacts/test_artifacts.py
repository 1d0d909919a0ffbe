"""What `sam build` produces is what Lambda runs: every handler must import from the build alone.

`make test` runs `sam build` (arm64, as deployed) before pytest. This machine is x86_64 and cannot load
arm64 wheels, so the import check builds the same template for x86_64 and imports each handler in a bare
interpreter (no site-packages) whose path holds only the function's and the layer's build folders.
"""

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from local.samples import SHADOW_SAMPLE_MODEL
from local.template import REPO, load_stack, load_template

pytestmark = pytest.mark.slow
BUILD = REPO / ".aws-sam" / "build"
FUNCTIONS = [k for k, v in load_template()["Resources"].items() if v["Type"] == "AWS::Serverless::Function"]


def sam() -> str:
    found = os.environ.get("SAM") or str(REPO / ".venv-sam" / "bin" / "sam")
    if not Path(found).exists():
        pytest.fail("the SAM CLI is not installed: run `make test`, which installs it into .venv-sam")
    return found


def test_the_arm64_build_holds_every_function_and_the_layer():
    if not BUILD.exists():
        pytest.fail("no .aws-sam/build: run `make test` (or `make build`) so sam build runs first")
    for function in FUNCTIONS:
        assert (BUILD / function / "app.py").is_file(), f"{function} missing from the build"
    layer = BUILD / "CommonLayer" / "python"
    model = layer / "leadstream" / "scoring" / "scoring.yaml"
    assert model.is_file(), "the scoring model must ship in the layer"
    accounts = layer / "leadstream" / "accounts" / "accounts.yaml"
    assert accounts.is_file(), "the account model must ship in the layer"
    assert (layer / "leadstream" / "static" / "lb.min.js").is_file(), "the snippet must ship in the layer"
    native = list(layer.glob("pydantic_core/_pydantic_core*.so"))
    assert native, "pydantic_core missing from the layer"
    assert all("aarch64" in so.name for so in native), "the layer must be built for arm64 Lambdas"


@pytest.fixture(scope="module")
def x86_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if platform.machine() != "x86_64":
        return BUILD  # on an arm64 machine the real build can be imported directly
    work = tmp_path_factory.mktemp("x86")
    template = work / "template.yaml"
    template.write_text((REPO / "template.yaml").read_text().replace("arm64", "x86_64"))
    result = subprocess.run(
        [
            sam(),
            "build",
            "--template-file",
            str(template),
            "--base-dir",
            str(REPO),
            "--build-dir",
            str(work / "build"),
            "--parallel",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, "SAM_CLI_TELEMETRY": "0"},
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return work / "build"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_built_handler_imports_with_nothing_but_its_build(x86_build: Path, function: str):
    paths = [str(x86_build / function), str(x86_build / "CommonLayer" / "python")]
    probe = (
        "import sys; sys.path[:0] = " + json.dumps(paths) + "\n"
        "import app\n"
        "assert callable(app.lambda_handler)\n"
        "from leadstream.tracking.bots import is_bot\n"  # loaded on first use, so try it here
        "assert is_bot('Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)')\n"
        "outside = [m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)"
        " and 'site-packages' in m.__file__]\n"
        "print(len(outside))\n"
    )
    # every function on: a candidate in shadow (ShadowScoringModel) deploys ShadowFunction
    on = {"ShadowScoringModel": SHADOW_SAMPLE_MODEL}
    declared = load_stack("leadstream-artifacts", "eu-west-1", on, {}).functions[function].declared
    env = {  # what template.yaml and the Lambda runtime give the function
        **declared,
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe],
        cwd=x86_build,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"{function} does not import from its build:\n{result.stderr}"
    assert result.stdout.strip() == "0", "the handler imported something from outside the build"
