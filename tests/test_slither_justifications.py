"""`make slither` (run by `make test`) lets Slither skip a finding only where the code says why it is
safe, and never a high-severity one: tools/slither_justifications.py reads every `slither-disable` comment.
Slither itself lives in a venv of its own (build/slither-venv), so the detector names here are a sample."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
KNOWN = {"divide-before-multiply", "uninitialized-local", "timestamp", "arbitrary-send-eth"}
HIGH = {"arbitrary-send-eth"}


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "slither_justifications", ROOT / "tools" / "slither_justifications.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def check(line: str) -> str | None:
    result: str | None = load_tool().check_directive(line, KNOWN, HIGH)
    return result


def test_a_directive_with_a_reason_passes() -> None:
    assert check("        // slither-disable-next-line divide-before-multiply dust is the remainder") is None
    assert check("// slither-disable-start timestamp,uninitialized-local deadlines are hours long") is None
    assert check("// slither-disable-end timestamp,uninitialized-local") is None


def test_a_directive_without_a_reason_fails() -> None:
    assert (
        check("// slither-disable-next-line divide-before-multiply")
        == "gives no reason after the detector names"
    )
    assert check("// slither-disable-next-line timestamp   ") == "gives no reason after the detector names"


def test_a_high_severity_detector_cannot_be_silenced() -> None:
    problem = check("// slither-disable-next-line timestamp,arbitrary-send-eth the owner is trusted")
    assert problem is not None and problem.startswith("arbitrary-send-eth is of high severity")
    assert check("// slither-disable-next-line all whatever it is") is not None


def test_unknown_detectors_and_unread_forms_fail() -> None:
    assert (
        check("// slither-disable-next-line divide-before-multiplyy typo")
        == "unknown detector 'divide-before-multiplyy'"
    )
    assert check("// slither-disable-next-line the reason alone") == "unknown detector 'the'"
    assert check("/* slither-disable-next-line timestamp block comments are not read */") is not None
    assert check("// slither-disable-line timestamp not a form Slither knows") is not None


def test_make_test_runs_slither_and_the_justification_check() -> None:
    makefile = (ROOT / "Makefile").read_text()
    test_target = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert test_target is not None and "slither" in test_target.group(1).split()
    recipe = re.search(r"^slither:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None and "tools/slither_justifications.py" in recipe.group(1)
