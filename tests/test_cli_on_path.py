"""`make setup` puts `crowdcompute` on the PATH without activating the venv (issue 13, problem 3):
tools/link-cli.sh links .venv/bin/crowdcompute into a folder on the PATH and says so."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tools" / "link-cli.sh"


def link(bin_dir: Path | str, path: str) -> str:
    env = {**os.environ, "CROWDCOMPUTE_BIN_DIR": str(bin_dir), "PATH": path}
    done = subprocess.run([str(SCRIPT)], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return done.stdout


def test_setup_runs_the_link_step() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^setup:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe is not None and "tools/link-cli.sh" in recipe.group(1)


def test_the_command_is_linked_and_runs_from_the_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    said = link(bin_dir, f"{bin_dir}:{os.environ['PATH']}")
    assert said.startswith(f"crowdcompute is on your PATH: {bin_dir / 'crowdcompute'} -> ")
    assert (bin_dir / "crowdcompute").resolve() == (ROOT / ".venv" / "bin" / "crowdcompute").resolve()
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}
    shown = subprocess.run(["crowdcompute", "--help"], env=env, capture_output=True, text=True, check=True)
    assert "devnet" in shown.stdout and "account" in shown.stdout


def test_a_folder_off_the_path_is_named_with_what_to_do(tmp_path: Path) -> None:
    said = link(tmp_path / "bin", "/usr/bin:/bin")
    assert "is not on this shell's PATH" in said and "source .venv/bin/activate" in said


def test_a_file_that_is_not_a_link_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "crowdcompute").write_text("someone else's\n")
    said = link(tmp_path, "/usr/bin:/bin")
    assert "left alone" in said and (tmp_path / "crowdcompute").read_text() == "someone else's\n"
