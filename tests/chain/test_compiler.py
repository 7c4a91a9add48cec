"""The compiler: one settings file, a cache keyed by sources and settings, readable failures."""

from __future__ import annotations

import json
import shutil
import time
import tomllib
from pathlib import Path

import pytest

from chain import (
    CONTRACTS_DIR,
    REPO_ROOT,
    ArtifactNotFound,
    CompilationFailed,
    compile_contracts,
    load_settings,
    source_files,
)

SOURCE = """// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;
contract Counter {
    error TooBig(uint256 value, uint256 limit);
    uint256 public count;
    function add(uint256 by) external { if (by > 10) revert TooBig(by, 10); count += by; }
}
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway repository: one contract, the project's settings, a test file to skip; compiled once."""
    root = tmp_path_factory.mktemp("repo")
    contracts = root / "contracts"
    (contracts / "test").mkdir(parents=True)
    shutil.copy(CONTRACTS_DIR / "solc-settings.json", contracts / "solc-settings.json")
    (contracts / "Counter.sol").write_text(SOURCE)
    (contracts / "test" / "Broken.sol").write_text("this is not solidity")
    (contracts / "Counter.t.sol").write_text("neither is this")
    compile_contracts(root)
    return root


@pytest.fixture
def tree(built: Path, tmp_path: Path) -> Path:
    """A private copy of the compiled repository (its build cache included)."""
    copy = tmp_path / "repo"
    shutil.copytree(built, copy)
    return copy


def test_foundry_toml_matches_solc_settings() -> None:
    settings = load_settings()
    profile = tomllib.loads((REPO_ROOT / "foundry.toml").read_text())["profile"]["default"]
    assert profile["optimizer"] == settings["optimizer"]["enabled"]
    assert profile["optimizer_runs"] == settings["optimizer"]["runs"]
    assert profile["evm_version"] == settings["evmVersion"]
    assert profile["via_ir"] == settings["viaIR"]
    assert profile["remappings"] == settings["remappings"]


def test_source_files_leave_out_tests(tree: Path) -> None:
    assert [p.name for p in source_files(tree / "contracts")] == ["Counter.sol"]


def test_compiles_and_caches_by_content(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chain import compiler

    monkeypatch.setattr(compiler, "_memo", {})
    started = time.perf_counter()
    first = compile_contracts(tree)
    assert time.perf_counter() - started < 0.2, "the build cache was not used"
    counter = first["Counter"]
    assert counter.bytecode.startswith("0x60") and len(counter.deployed_bytecode) > 10
    assert {e["name"] for e in counter.abi if e["type"] == "error"} == {"TooBig"}
    cached = list((tree / "build" / "contracts").glob("*.json"))
    assert [p.stem for p in cached] == [first.key]

    started = time.perf_counter()
    again = compile_contracts(tree)
    assert again is first
    assert time.perf_counter() - started < 0.05

    # A changed source is a new key and a new build.
    (tree / "contracts" / "Counter.sol").write_text(SOURCE.replace("> 10", "> 11"))
    changed = compile_contracts(tree)
    assert changed.key != first.key
    assert changed["Counter"].bytecode != counter.bytecode


def test_cache_file_is_reused_by_a_new_process(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = compile_contracts(tree)
    from chain import compiler

    monkeypatch.setattr(compiler, "_memo", {})
    monkeypatch.setattr(compiler, "_run_solc", lambda *a, **k: pytest.fail("solc ran despite a cached build"))
    assert compile_contracts(tree)["Counter"] == first["Counter"]


def test_changed_settings_change_the_key(tree: Path) -> None:
    from chain.compiler import _cache_key

    sources = source_files(tree / "contracts")
    settings = load_settings(tree / "contracts" / "solc-settings.json")
    before = _cache_key(tree, sources, settings)
    settings["optimizer"]["runs"] += 1
    assert _cache_key(tree, sources, settings) != before


def test_unknown_contract_names_what_was_compiled(tree: Path) -> None:
    with pytest.raises(ArtifactNotFound, match="Counter"):
        compile_contracts(tree)["Market"]


def test_syntax_error_raises_compilation_failed(tree: Path) -> None:
    (tree / "contracts" / "Counter.sol").write_text(SOURCE.replace("count += by;", "count += ;"))
    with pytest.raises(CompilationFailed, match=r"Counter\.sol"):
        compile_contracts(tree)


def test_wrong_compiler_version_is_refused(tree: Path) -> None:
    settings_file = tree / "contracts" / "solc-settings.json"
    settings = json.loads(settings_file.read_text())
    settings["version"] = "0.8.1"
    settings_file.write_text(json.dumps(settings))
    with pytest.raises(CompilationFailed, match=r"asks for 0\.8\.1"):
        compile_contracts(tree)
