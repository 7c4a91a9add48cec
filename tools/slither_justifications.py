"""Every finding Slither is told to skip carries its reason in the code; a high-severity one is never skipped.

`make slither` runs this with the Slither venv's Python after Slither passed (no medium or high finding left
unsuppressed). Each `// slither-disable-...` comment under contracts/ must name known detectors followed by a
one-line reason, must not name a high-impact detector (or `all`), and must still suppress something (Slither
lists unused ones in build/slither/results.json). A triage database would hide findings without a word in the
code, so none may exist.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = ROOT / "contracts"
RESULTS = ROOT / "build" / "slither" / "results.json"
TRIAGE_DATABASE = ROOT / "slither.db.json"

# The forms Slither reads (slither/core/slither_core.py), plus the rest of the line: the reason.
DIRECTIVE = re.compile(r"^\s*//\s*slither-disable-(next-line|start|end)\s*([a-zA-Z0-9_,-]*)(.*)$")


def detectors() -> tuple[set[str], set[str]]:
    """Slither's detector names, and those of high impact."""
    from slither.detectors import all_detectors
    from slither.detectors.abstract_detector import AbstractDetector, DetectorClassification

    classes = [getattr(all_detectors, name) for name in dir(all_detectors)]
    found = [cls for cls in classes if isinstance(cls, type) and issubclass(cls, AbstractDetector)]
    known = {cls.ARGUMENT for cls in found}
    return known, {cls.ARGUMENT for cls in found if cls.IMPACT == DetectorClassification.HIGH}


def check_directive(line: str, known: set[str], high: set[str]) -> str | None:
    """What is wrong with one source line that mentions slither-disable, or None."""
    match = DIRECTIVE.match(line)
    if match is None:
        return "not a directive Slither reads (`// slither-disable-next-line|start|end <detectors> <reason>`)"
    kind, names, reason = match.groups()
    detectors = [name for name in names.split(",") if name]
    if not detectors:
        return "names no detector"
    for name in detectors:
        if name == "all":
            return "`all` silences every detector: name the ones this reason is about"
        if name not in known:
            return f"unknown detector {name!r}"
        if name in high:
            return f"{name} is of high severity: fix the code instead of silencing it"
    if kind != "end" and not re.search(r"[A-Za-z]", reason):
        return "gives no reason after the detector names"
    return None


def unused_directives() -> list[str]:
    results = json.loads(RESULTS.read_text())
    unused: dict[str, None] = {}  # each compilation unit reports them again
    for result in results.get("results", {}).get("detectors", []):
        for entry in result.get("unused_ignores", []):
            path = Path(entry["file"]).resolve()
            if path.is_relative_to(CONTRACTS):
                where = f"{path.relative_to(ROOT)}:{entry['line']}"
                unused[f"{where}: {','.join(entry['unused_detectors'])} suppresses nothing: remove it"] = None
    return list(unused)


def main() -> int:
    known, high = detectors()
    problems = []
    for source in sorted(CONTRACTS.rglob("*.sol")):
        for number, line in enumerate(source.read_text().splitlines(), start=1):
            if "slither-disable" not in line:
                continue
            problem = check_directive(line, known, high)
            if problem:
                problems.append(f"{source.relative_to(ROOT)}:{number}: {problem}")
    problems += unused_directives()
    if TRIAGE_DATABASE.exists():
        problems.append(f"{TRIAGE_DATABASE.name}: justify findings in the code, not in a triage database")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
