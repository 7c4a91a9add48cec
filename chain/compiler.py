"""Compile the Solidity sources under `contracts/` with py-solc-x and cache the artifacts.

Settings come only from `contracts/solc-settings.json` (foundry.toml mirrors them; a test keeps them equal).
Artifacts land in `build/contracts/<key>.json`, keyed by a hash of every source, the settings and the
OpenZeppelin version, so an unchanged tree costs one file read (nothing after the first call in a process).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chain.errors import ArtifactNotFound, CompilationFailed
from chain.paths import ARTIFACTS_DIR, CONTRACTS_DIR, REPO_ROOT, SOLC_BINARY, SOLC_SETTINGS

log = logging.getLogger(__name__)

_TEST_DIRS = frozenset({"test", "tests", "mocks"})
_TEST_SUFFIXES = (".t.sol", ".s.sol")
_CACHE_FORMAT = 1


@dataclass(frozen=True)
class ContractArtifact:
    """What the compiler produced for one contract."""

    name: str
    source: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "abi": self.abi,
            "bytecode": self.bytecode,
            "deployedBytecode": self.deployed_bytecode,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContractArtifact:
        return cls(
            name=data["name"],
            source=data["source"],
            abi=list(data["abi"]),
            bytecode=data["bytecode"],
            deployed_bytecode=data["deployedBytecode"],
        )


@dataclass(frozen=True)
class Artifacts:
    """Every compiled contract of one build, by contract name."""

    key: str
    contracts: dict[str, ContractArtifact]

    def __getitem__(self, name: str) -> ContractArtifact:
        """By contract name, or by `source:Name` when two sources define the same name."""
        if ":" in name:
            source, _, short = name.rpartition(":")
            for artifact in self.contracts.values():
                if artifact.source == source and artifact.name == short:
                    return artifact
        try:
            return self.contracts[name]
        except KeyError:
            known = ", ".join(sorted(self.contracts)) or "none"
            raise ArtifactNotFound(f"no compiled contract named {name!r} (compiled: {known})") from None

    def __iter__(self) -> Iterator[ContractArtifact]:
        return iter(self.contracts.values())

    def __contains__(self, name: object) -> bool:
        return name in self.contracts

    def abi_hash(self, *names: str) -> str:
        """A short hash of the named ABIs (all when none are named), recorded with deployments."""
        chosen = names or tuple(sorted(self.contracts))
        blob = json.dumps([self[n].abi for n in chosen], sort_keys=True, separators=(",", ":"))
        return "0x" + hashlib.sha256(blob.encode()).hexdigest()


def load_settings(path: Path = SOLC_SETTINGS) -> dict[str, Any]:
    """The compiler settings everything shares (version, optimizer, evmVersion, viaIR, remappings)."""
    with path.open() as f:
        settings: dict[str, Any] = json.load(f)
    return settings


def source_files(contracts_dir: Path = CONTRACTS_DIR) -> list[Path]:
    """Every contract source under `contracts_dir`, tests and scripts left out, in a stable order."""
    found = []
    for path in sorted(contracts_dir.rglob("*.sol")):
        relative = path.relative_to(contracts_dir)
        if _TEST_DIRS.intersection(relative.parts[:-1]) or path.name.endswith(_TEST_SUFFIXES):
            continue
        found.append(path)
    return found


def _library_versions(root: Path) -> dict[str, str]:
    versions = {}
    package = root / "node_modules" / "@openzeppelin" / "contracts" / "package.json"
    if package.exists():
        versions["@openzeppelin/contracts"] = json.loads(package.read_text())["version"]
    return versions


def _cache_key(root: Path, sources: list[Path], settings: Mapping[str, Any]) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": _CACHE_FORMAT, "settings": settings}, sort_keys=True).encode())
    digest.update(json.dumps(_library_versions(root), sort_keys=True).encode())
    for path in sources:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _standard_input(root: Path, sources: list[Path], settings: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "language": "Solidity",
        "sources": {p.relative_to(root).as_posix(): {"content": p.read_text()} for p in sources},
        "settings": {
            "optimizer": settings["optimizer"],
            "evmVersion": settings["evmVersion"],
            "viaIR": settings.get("viaIR", False),
            "remappings": list(settings.get("remappings", [])),
            "outputSelection": {
                "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
            },
        },
    }


def _run_solc(
    root: Path, standard_input: dict[str, Any], settings: Mapping[str, Any], solc_binary: Path
) -> dict[str, Any]:
    # Imported here: py-solc-x is only needed when the cache misses.
    import solcx
    from solcx.exceptions import SolcError
    from solcx.wrapper import get_solc_version

    wanted = str(settings["version"])
    try:
        found = str(get_solc_version(str(solc_binary)))
    except (OSError, SolcError) as exc:
        raise CompilationFailed(f"the solc command {solc_binary} does not run: {exc}") from exc
    if found != wanted:
        raise CompilationFailed(
            f"{solc_binary} is solc {found}; contracts/solc-settings.json asks for {wanted}"
        )
    try:
        output: dict[str, Any] = solcx.compile_standard(
            standard_input,
            solc_binary=str(solc_binary),
            base_path=str(root),
            allow_paths=[str(root), str(root / "node_modules")],
        )
    except SolcError as exc:
        # The message holds solc's formatted errors; str(exc) would add the whole compiler output.
        raise CompilationFailed(
            str(exc.message).strip() or f"solc failed with code {exc.return_code}"
        ) from exc
    except FileNotFoundError as exc:
        raise CompilationFailed(f"the solc command {solc_binary} is missing: {exc}") from exc
    return output


def _collect(output: Mapping[str, Any], compiled_sources: set[str]) -> dict[str, ContractArtifact]:
    contracts: dict[str, ContractArtifact] = {}
    for source, by_name in sorted(output.get("contracts", {}).items()):
        for name, data in sorted(by_name.items()):
            artifact = ContractArtifact(
                name=name,
                source=source,
                abi=data["abi"],
                bytecode="0x" + data["evm"]["bytecode"]["object"],
                deployed_bytecode="0x" + data["evm"]["deployedBytecode"]["object"],
            )
            # Our own contracts win a name clash with a library's.
            if name not in contracts or source in compiled_sources:
                contracts[name] = artifact
    return contracts


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_memo: dict[tuple[Path, str], Artifacts] = {}
_lock = threading.Lock()


def compile_contracts(
    root: Path = REPO_ROOT,
    *,
    contracts_dir: Path | None = None,
    artifacts_dir: Path | None = None,
    solc_binary: Path = SOLC_BINARY,
    force: bool = False,
) -> Artifacts:
    """Compile every source under `contracts/`, or the cached build of the same sources and settings."""
    contracts_dir = contracts_dir or root / "contracts"
    artifacts_dir = artifacts_dir or (ARTIFACTS_DIR if root == REPO_ROOT else root / "build" / "contracts")
    settings = load_settings(contracts_dir / "solc-settings.json")
    sources = source_files(contracts_dir)
    if not sources:
        raise CompilationFailed(f"no Solidity sources under {contracts_dir}")
    key = _cache_key(root, sources, settings)
    with _lock:
        if not force and (root, key) in _memo:
            return _memo[(root, key)]
        cache_file = artifacts_dir / f"{key}.json"
        if not force and cache_file.exists():
            data = json.loads(cache_file.read_text())
            artifacts = Artifacts(
                key, {k: ContractArtifact.from_json(v) for k, v in data["contracts"].items()}
            )
        else:
            log.info("compiling %d sources under %s", len(sources), contracts_dir)
            output = _run_solc(root, _standard_input(root, sources, settings), settings, solc_binary)
            compiled = {p.relative_to(root).as_posix() for p in sources}
            artifacts = Artifacts(key, _collect(output, compiled))
            payload = {"key": key, "contracts": {k: v.to_json() for k, v in artifacts.contracts.items()}}
            _write_atomically(cache_file, json.dumps(payload))
        _memo[(root, key)] = artifacts
        return artifacts


__all__ = [
    "Artifacts",
    "ContractArtifact",
    "compile_contracts",
    "load_settings",
    "source_files",
]
