"""`python -m codegen`: write the job layout's Python, TypeScript and Solidity views from `Types.sol`.

`--root DIR` generates inside another checkout (a scratch copy in a test); `--check` writes nothing and
exits 1 when a view is missing or differs from what the source gives.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from codegen import emit_python, emit_solidity, emit_typescript
from codegen.errors import CodegenError
from codegen.layout import flatten
from codegen.solidity import read_types

REPO_ROOT = Path(__file__).resolve().parent.parent
ROOT_STRUCT = "Job"


@dataclass(frozen=True)
class Targets:
    source: Path
    python: Path
    typescript: Path
    solidity: Path
    solc: Path

    @classmethod
    def under(cls, root: Path) -> Targets:
        return cls(
            source=root / "contracts" / "market" / "Types.sol",
            python=root / "chain" / "generated" / "job_layout.py",
            typescript=root / "frontend" / "src" / "generated" / "jobLayout.ts",
            solidity=root / "contracts" / "generated" / "JobLayout.sol",
            solc=root / "chain" / "bin" / "solc",
        )


def render(targets: Targets, root: Path) -> dict[Path, str]:
    """Every view's text, by the file it belongs in."""
    types = read_types(targets.source, targets.solc)
    fields, spans = flatten(types, ROOT_STRUCT)
    origin = targets.source.relative_to(root).as_posix()
    return {
        targets.python: emit_python.emit(types, ROOT_STRUCT, fields, spans, origin),
        targets.typescript: emit_typescript.emit(types, ROOT_STRUCT, fields, spans, origin),
        targets.solidity: emit_solidity.emit(fields, spans, ROOT_STRUCT, origin, types.pragma or "^0.8.0"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codegen", description=__doc__)
    parser.add_argument("--root", type=Path, default=REPO_ROOT, help="checkout to read and write in")
    parser.add_argument("--check", action="store_true", help="only say whether the views are current")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        views = render(Targets.under(root), root)
    except CodegenError as exc:
        print(f"codegen: {exc}", file=sys.stderr)
        return 2
    stale = [path for path, text in views.items() if not path.exists() or path.read_text() != text]
    if args.check:
        for path in stale:
            print(f"codegen: {path.relative_to(root)} is missing or stale: run `make setup`", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(views[path])
        print(f"codegen: wrote {path.relative_to(root)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
