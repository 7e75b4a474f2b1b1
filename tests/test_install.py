"""The package installed from a wheel, outside the checkout, finds its models and works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_classifies_builds_and_answers(
    tmp_path: Path, statute_corpus: Path
) -> None:
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), str(REPO)], tmp_path, dict(os.environ))  # fmt: skip
    (wheel,) = (tmp_path / "dist").glob("kvp-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, dict(os.environ))
    run([str(venv / "bin" / "pip"), "install", "-q", "--no-deps", "--no-index", str(wheel)],
        tmp_path, dict(os.environ))  # fmt: skip
    # The dependencies come from this environment; the package itself only from the wheel.
    site = Path(run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    tmp_path, dict(os.environ)).stdout.strip())  # fmt: skip
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KVP_HOME", "KVP_MODELS"))}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    kvp = str(venv / "bin" / "kvp")

    where = run([str(venv / "bin" / "python"), "-c", "import pipeline; print(pipeline.__file__)"],
                tmp_path, env).stdout  # fmt: skip
    assert str(venv) in where and str(REPO) not in where
    classified = run([kvp, "classify", "Unge deltakere under 25 år får lavere stønad."], tmp_path, env)
    assert "youth" in classified.stdout
    index = tmp_path / "index"
    run([kvp, "build", "--corpus", str(statute_corpus), "--index", str(index)], tmp_path, env)
    asked = run([kvp, "ask", "Hvor lenge kan programmet vare?", "--json", "--index", str(index)],
                tmp_path, env)  # fmt: skip
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["citations"][0]["locator"] == "§ 32 første ledd"
