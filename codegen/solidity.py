"""Read the enums, structs and constants a Solidity source declares at file level, from the compiler's AST.

Only the compiler's own output is trusted for names, order and types; comments come from the source bytes
the AST points at (a member's trailing `// ...`), so the generated views carry the same explanations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codegen.errors import CodegenError

_ELEMENTARY = re.compile(r"^(?P<kind>uint|int|bytes)(?P<size>\d*)$")


@dataclass(frozen=True)
class SolType:
    """A member's type, as far as a static ABI layout needs it."""

    kind: str  # "uint", "int", "address", "bool", "bytes" (fixed bytesN), "enum", "struct"
    bits: int  # width of the value on the wire (enums: bits needed for their members; structs: 0)
    name: str  # the Solidity spelling: "uint96", "address", or the enum/struct name

    @property
    def abi_type(self) -> str:
        """The ABI's spelling: enums travel as uint8, structs as tuples."""
        if self.kind == "enum":
            return "uint8"
        if self.kind == "struct":
            return "tuple"
        return self.name


@dataclass(frozen=True)
class Member:
    name: str
    type: SolType
    comment: str


@dataclass(frozen=True)
class EnumDef:
    name: str
    members: tuple[str, ...]
    doc: str


@dataclass(frozen=True)
class StructDef:
    name: str
    members: tuple[Member, ...]
    doc: str


@dataclass(frozen=True)
class ConstantDef:
    name: str
    type: SolType
    value: int
    doc: str


@dataclass(frozen=True)
class SourceTypes:
    """What one source declares at file level, in declaration order."""

    path: str
    pragma: str  # the source's `pragma solidity` constraint, e.g. "^0.8.28"
    enums: tuple[EnumDef, ...]
    structs: tuple[StructDef, ...]
    constants: tuple[ConstantDef, ...]

    def enum(self, name: str) -> EnumDef:
        for enum in self.enums:
            if enum.name == name:
                return enum
        raise CodegenError(f"{self.path} declares no enum {name}")

    def struct(self, name: str) -> StructDef:
        for struct in self.structs:
            if struct.name == name:
                return struct
        raise CodegenError(f"{self.path} declares no struct {name}")


def compile_ast(source: Path, solc_binary: Path) -> dict[str, Any]:
    """The AST of `source` alone (it must import nothing), from the project's solc."""
    import solcx
    from solcx.exceptions import SolcError

    standard_input = {
        "language": "Solidity",
        "sources": {source.name: {"content": source.read_text()}},
        "settings": {"outputSelection": {"*": {"": ["ast"]}}},
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=str(solc_binary))
    except SolcError as exc:
        raise CodegenError(f"solc could not compile {source}: {str(exc.message).strip()}") from exc
    except FileNotFoundError as exc:
        raise CodegenError(f"no solc at {solc_binary}: run `make setup` first ({exc})") from exc
    ast: dict[str, Any] = output["sources"][source.name]["ast"]
    return ast


def read_types(source: Path, solc_binary: Path) -> SourceTypes:
    """Compile `source` and read its file-level enums, structs and constants."""
    return types_from_ast(compile_ast(source, solc_binary), source.read_bytes(), str(source))


def types_from_ast(ast: Mapping[str, Any], text: bytes, path: str) -> SourceTypes:
    pragma = next(
        (
            "".join(n["literals"][1:])
            for n in ast["nodes"]
            if n["nodeType"] == "PragmaDirective" and n["literals"][:1] == ["solidity"]
        ),
        "",
    )
    nodes = [n for n in ast["nodes"] if n["nodeType"] != "PragmaDirective"]
    enums: list[EnumDef] = []
    structs: list[StructDef] = []
    constants: list[ConstantDef] = []
    for node in nodes:
        kind = node["nodeType"]
        if kind == "EnumDefinition":
            enums.append(EnumDef(node["name"], tuple(m["name"] for m in node["members"]), _doc(node)))
        elif kind == "StructDefinition":
            members = tuple(
                Member(m["name"], _type(m, enums, path), _trailing_comment(text, m["src"]))
                for m in node["members"]
            )
            structs.append(StructDef(node["name"], members, _doc(node)))
        elif kind == "VariableDeclaration" and node.get("constant"):
            doc = _doc(node) or _leading_doc(text, node["src"])
            constants.append(ConstantDef(node["name"], _type(node, enums, path), _literal(node, path), doc))
        elif kind == "ImportDirective":
            raise CodegenError(f"{path} imports {node.get('file')}: the layout source must stand alone")
    return SourceTypes(path, pragma, tuple(enums), tuple(structs), tuple(constants))


def _doc(node: Mapping[str, Any]) -> str:
    doc = node.get("documentation") or {}
    text = doc.get("text", "") if isinstance(doc, Mapping) else str(doc)
    return " ".join(text.replace("@notice", "").replace("@dev", "").split())


def _leading_doc(text: bytes, src: str) -> str:
    """The `///` lines right above a declaration (solc keeps no docs for file-level constants)."""
    start = int(src.split(":")[0])
    lines: list[str] = []
    for line in reversed(text[:start].decode().splitlines()):
        stripped = line.strip()
        if not stripped.startswith("///"):
            break
        lines.insert(0, stripped.removeprefix("///"))
    return " ".join(" ".join(lines).replace("@notice", "").replace("@dev", "").split())


def _trailing_comment(text: bytes, src: str) -> str:
    start, length, _ = (int(part) for part in src.split(":"))
    rest = text[start + length :].split(b"\n", 1)[0].decode()
    _, found, comment = rest.partition("//")
    return comment.strip() if found else ""


def _type(node: Mapping[str, Any], enums: list[EnumDef], path: str) -> SolType:
    type_string: str = node["typeDescriptions"]["typeString"]
    name = node["name"]
    if type_string == "address":
        return SolType("address", 160, "address")
    if type_string == "bool":
        return SolType("bool", 1, "bool")
    if type_string.startswith("enum "):
        enum_name = type_string.removeprefix("enum ")
        count = next((len(e.members) for e in enums if e.name == enum_name), None)
        if count is None:
            raise CodegenError(f"{path}: {name} uses enum {enum_name}, declared after it or elsewhere")
        return SolType("enum", max(count - 1, 1).bit_length(), enum_name)
    if type_string.startswith("struct "):
        return SolType("struct", 0, type_string.removeprefix("struct ").split(" ")[0])
    match = _ELEMENTARY.match(type_string)
    if match and match["size"]:
        size = int(match["size"])
        kind = match["kind"]
        return SolType(kind, size * 8 if kind == "bytes" else size, type_string)
    raise CodegenError(
        f"{path}: {name} has type {type_string!r}; a job layout holds only static types "
        "(uintN, intN, address, bool, bytesN, enums and structs of those)"
    )


def _literal(node: Mapping[str, Any], path: str) -> int:
    value = node.get("value") or {}
    if value.get("nodeType") != "Literal" or value.get("kind") != "number":
        raise CodegenError(
            f"{path}: constant {node['name']} must be a plain number literal for the generated views "
            f"(found {json.dumps(value.get('nodeType'))})"
        )
    text = str(value["value"]).replace("_", "")
    number = int(text, 16) if text.lower().startswith("0x") else int(text)
    return number * _SUBDENOMINATIONS.get(value.get("subdenomination") or "", 1)


_SUBDENOMINATIONS = {"ether": 10**18, "gwei": 10**9, "wei": 1, "seconds": 1, "minutes": 60, "hours": 3600}
