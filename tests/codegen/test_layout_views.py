"""The generators on a layout built by hand (no compiler): names, offsets, refusals, and views that load."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from codegen import emit_python, emit_solidity, emit_typescript
from codegen.errors import CodegenError
from codegen.layout import flatten, snake, upper_snake
from codegen.solidity import ConstantDef, EnumDef, Member, SolType, SourceTypes, StructDef, types_from_ast

U8, U96 = SolType("uint", 8, "uint8"), SolType("uint", 96, "uint96")
ADDRESS = SolType("address", 160, "address")
MODE = SolType("enum", 1, "Mode")
INNER = StructDef("Inner", (Member("amountMiB", U96, "paid"), Member("mode", MODE, "")), "")
OUTER = StructDef(
    "Outer",
    (
        Member("who", ADDRESS, "set by the contract"),
        Member("inner", SolType("struct", 0, "Inner"), ""),
        Member("count", U8, ""),
    ),
    "An outer struct.",
)
TYPES = SourceTypes(
    "Scratch.sol",
    "^0.8.28",
    (EnumDef("Mode", ("None", "GpuCount"), "A mode."),),
    (INNER, OUTER),
    (ConstantDef("MAX_THINGS", SolType("uint", 256, "uint256"), 8, "At most this many."),),
)


def test_snake_keeps_units_whole_and_splits_camel_case() -> None:
    assert snake("gpuMemoryMiB") == "gpu_memory_mib"
    assert snake("GpuCount") == "gpu_count"
    assert snake("samplesPerValidator") == "samples_per_validator"
    assert upper_snake("bundleDigest") == "BUNDLE_DIGEST"


def test_flatten_inlines_nested_structs_one_word_per_field() -> None:
    fields, spans = flatten(TYPES, "Outer")
    assert [(".".join(f.path), f.offset) for f in fields] == [
        ("who", 0x00),
        ("inner.amountMiB", 0x20),
        ("inner.mode", 0x40),
        ("count", 0x60),
    ]
    assert [(s.path, s.offset, s.size) for s in spans] == [((), 0, 0x80), (("inner",), 0x20, 0x40)]


def test_flatten_refuses_two_fields_of_one_name() -> None:
    clash = dataclasses.replace(OUTER, members=(*OUTER.members, Member("mode", U8, "")))
    types = dataclasses.replace(TYPES, structs=(INNER, clash))
    with pytest.raises(CodegenError, match="several fields named mode"):
        flatten(types, "Outer")


def test_reading_refuses_dynamic_types_and_imports_naming_them() -> None:
    member = {"name": "tags", "src": "0:1:0", "typeDescriptions": {"typeString": "string"}}
    ast = {"nodes": [{"nodeType": "StructDefinition", "name": "S", "members": [member]}]}
    with pytest.raises(CodegenError, match=r"tags has type 'string'.*static types"):
        types_from_ast(ast, b"x", "S.sol")
    with pytest.raises(CodegenError, match="must stand alone"):
        types_from_ast({"nodes": [{"nodeType": "ImportDirective", "file": "a.sol"}]}, b"", "S.sol")


def _load(source: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> object:
    path = tmp_path / "scratch_layout.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("scratch_layout", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # registered while the test runs: type hints are resolved in the module's namespace
    monkeypatch.setitem(sys.modules, "scratch_layout", module)
    spec.loader.exec_module(module)
    return module


def test_python_view_loads_with_zero_defaults_abi_names_and_offsets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fields, spans = flatten(TYPES, "Outer")
    source = emit_python.emit(TYPES, "Outer", fields, spans, "Scratch.sol")
    module: object = _load(source, tmp_path, monkeypatch)
    outer_cls, inner_cls, mode_cls = (getattr(module, n) for n in ("Outer", "Inner", "Mode"))
    assert [m.name for m in mode_cls] == ["NONE", "GPU_COUNT"]
    outer = outer_cls()
    assert outer.inner == inner_cls() and outer.count == 0 and outer.who == "0x" + "0" * 40
    assert outer_cls(count=3).to_abi() == {
        "who": "0x" + "0" * 40,
        "inner": {"amountMiB": 0, "mode": 0},
        "count": 3,
    }
    assert outer_cls.from_abi({"who": "0x" + "0" * 40, "inner": (5, 1), "count": 3}).inner.mode is mode_cls(1)
    layout = module.OUTER_LAYOUT  # type: ignore[attr-defined]
    assert [(f.abi_name, f.name, f.offset, f.bits) for f in layout] == [
        ("who", "who", 0, 160),
        ("amountMiB", "amount_mib", 0x20, 96),
        ("mode", "mode", 0x40, 1),
        ("count", "count", 0x60, 8),
    ]
    assert module.OUTER_INNER_OFFSET == 0x20 and module.OUTER_SIZE == 0x80  # type: ignore[attr-defined]
    assert module.MAX_THINGS == 8  # type: ignore[attr-defined]


def test_typescript_and_solidity_views_name_every_field_and_constant() -> None:
    fields, spans = flatten(TYPES, "Outer")
    ts = emit_typescript.emit(TYPES, "Outer", fields, spans, "Scratch.sol")
    assert 'export const MODE = ["None", "GpuCount"] as const;' in ts
    assert 'export const MODE_NAMES = ["none", "gpu_count"] as const;' in ts
    assert "export const MAX_THINGS = 8;" in ts
    # the nested struct's zero value is declared before the struct that holds it
    assert ts.index("export const ZERO_INNER") < ts.index("export const ZERO_OUTER")
    assert "  amountMiB: 0n," in ts and "  count: 0," in ts and '"inner.mode": 64,' in ts
    sol = emit_solidity.emit(fields, spans, "Outer", "Scratch.sol", "^0.8.28")
    assert "uint256 constant OUTER_AMOUNT_MIB = 0x020; // inner.amountMiB: uint96" in sol
    assert "uint256 constant OUTER_MODE_BITS = 1;" in sol
    assert "uint256 constant OUTER_INNER_SIZE = 0x040;" in sol
    assert "uint256 constant OUTER_SIZE = 0x080;" in sol
