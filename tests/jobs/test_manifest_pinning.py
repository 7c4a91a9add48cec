"""Pinning a job.toml's placeholder runtime id: only `[runtime] digest` (and `image`) change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from jobs.manifest import load_manifest
from jobs.manifest.pinning import PLACEHOLDER_DIGEST, is_placeholder, pin_runtime_text

ID = "sha256:" + "ab" * 32
TEXT = f"""name = "x"
digest = "not-the-runtime-one"

[runtime]
image = "crowdcompute/runtime-cpu:torch2.13"
# digest = "a comment is left alone"
digest = "{PLACEHOLDER_DIGEST}"  # the placeholder
entrypoint = ["python3", "train.py"]

[resources]
digest = "nor this"
"""


def test_only_the_runtime_digest_changes() -> None:
    pinned = pin_runtime_text(TEXT, ID)
    assert pinned == TEXT.replace(f'digest = "{PLACEHOLDER_DIGEST}"', f'digest = "{ID}"')
    assert pin_runtime_text(TEXT, ID, "other:1").count('image = "other:1"') == 1
    assert is_placeholder(PLACEHOLDER_DIGEST) and not is_placeholder(ID)


@pytest.mark.parametrize(
    ("text", "digest", "words"),
    [
        (TEXT, "sha256:xyz", "is not an image id"),
        ('name = "x"\n', ID, "no [runtime] table"),
        ('[runtime]\nimage = "a:1"\n', ID, "exactly one digest line"),
    ],
)
def test_refusals_name_the_problem(text: str, digest: str, words: str) -> None:
    with pytest.raises(ValueError, match=words.replace("[", r"\[").replace("]", r"\]")):
        pin_runtime_text(text, digest)


def test_the_examples_script_uses_the_same_rule_without_a_virtual_environment(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples"
    script = examples / "pin_runtime.py"
    done = subprocess.run(
        [
            sys.executable,
            "-S",
            "-I",
            str(script),
            str(examples / "lstm_series"),
            str(tmp_path / "j"),
            "--digest",
            ID,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert load_manifest(tmp_path / "j" / "job.toml").runtime.digest == ID
