"""The Python view of the job layout: enums, struct dataclasses, constants and the word layout."""

from __future__ import annotations

import textwrap

from codegen.layout import StructSpan, WordField, snake, upper_snake
from codegen.solidity import EnumDef, Member, SolType, SourceTypes, StructDef

WIDTH = 110

# Hand-written behaviour a generated struct inherits (chain/struct_methods.py), by struct name.
METHOD_MIXINS = {"JobSpec": "JobSpecMethods", "Account": "AccountMethods"}
# Unsigned integers this wide hold token amounts in our contracts (budgets, fees, stakes, balances).
AMOUNT_BITS = frozenset({96, 128})


def python_type(sol: SolType, field_name: str) -> tuple[str, str]:
    """(annotation, default expression) for a field of this type."""
    if sol.kind == "address":
        return "ChecksumAddress", "ZERO_ADDRESS"
    if sol.kind == "bool":
        return "bool", "False"
    if sol.kind == "bytes":
        return "bytes", "ZERO_BYTES32" if sol.bits == 256 else f"bytes({sol.bits // 8})"
    if sol.kind == "enum":
        return sol.name, f"{sol.name}(0)"
    if sol.kind == "struct":
        return sol.name, ""
    if sol.kind == "uint" and sol.bits in AMOUNT_BITS:
        return "Wei", "Wei(0)"
    if field_name.endswith("Block"):
        return "BlockNumber", "BlockNumber(0)"
    return "int", "0"


def emit(types: SourceTypes, root: str, fields: list[WordField], spans: list[StructSpan], origin: str) -> str:
    mixins = sorted({METHOD_MIXINS[s.name] for s in types.structs if s.name in METHOD_MIXINS})
    out = [
        f'"""The job layout, generated from {origin} by `python -m codegen` (`make setup` runs it).',
        "",
        "Do not edit: change the Solidity source and run `make setup`. `chain.types` re-exports it.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import enum",
        "from dataclasses import dataclass, field",
        "from typing import Final, Literal, TypedDict",
        "",
        "from eth_typing import ChecksumAddress",
        "",
        "from chain.abi_struct import AbiStruct, FieldLayout",
        "from chain.primitives import ZERO_ADDRESS, ZERO_BYTES32, BlockNumber, Wei",
    ]
    if mixins:
        out.append(f"from chain.struct_methods import {', '.join(mixins)}")
    out += ["", "# ------------------------------------------------------------------ constants", ""]
    for constant in types.constants:
        if constant.doc:
            out += textwrap.wrap(constant.doc, WIDTH, initial_indent="# ", subsequent_indent="# ")
        out.append(f"{constant.name}: Final = {constant.value}")
    for enum in types.enums:
        out += ["", "", *_enum(enum)]
    for struct in types.structs:
        out += ["", "", *_struct(struct), "", "", *_typed_dict(struct)]
    out += ["", "", *_layout(root, fields, spans)]
    return "\n".join(out) + "\n"


def _docstring(text: str, indent: str) -> list[str]:
    """A docstring wrapped to the line length: one line when it fits."""
    if len(indent) + len(text) + 6 <= WIDTH:
        return [f'{indent}"""{text}"""']
    lines = textwrap.wrap(text, WIDTH - len(indent), initial_indent='"""')
    return [*(indent + line for line in lines), f'{indent}"""']


def _enum(enum: EnumDef) -> list[str]:
    lines = [f"class {enum.name}(enum.IntEnum):"]
    if enum.doc:
        lines += [*_docstring(enum.doc, "    "), ""]
    lines += [f"    {upper_snake(member)} = {index}" for index, member in enumerate(enum.members)]
    names = ", ".join(f'"{snake(m)}"' for m in enum.members)
    lines += [
        "",
        "",
        f"{enum.name}Name = Literal[{names}]",
        f'"""`{enum.name}` members in lower snake case, in declaration order."""',
    ]
    return lines


def _field_line(member: Member) -> list[str]:
    annotation, default = python_type(member.type, member.name)
    name = snake(member.name)
    meta = f'metadata={{"abi": "{member.name}"}}'
    if member.type.kind == "struct":
        line = f"    {name}: {annotation} = field(default_factory={annotation}, {meta})"
    else:
        line = f"    {name}: {annotation} = field(default={default}, {meta})"
    lines = [line]
    if member.comment:
        lines += _docstring(member.comment, "    ")
    return lines


def _struct(struct: StructDef) -> list[str]:
    bases = ", ".join([*([METHOD_MIXINS[struct.name]] if struct.name in METHOD_MIXINS else []), "AbiStruct"])
    lines = ["@dataclass(frozen=True)", f"class {struct.name}({bases}):"]
    doc = struct.doc or f"The Solidity struct `{struct.name}`."
    lines += [*_docstring(f"{doc} Unset fields are zero, as in Solidity.", "    "), ""]
    for member in struct.members:
        lines += _field_line(member)
    return lines


def _typed_dict(struct: StructDef) -> list[str]:
    lines = [
        f"class {struct.name}Fields(TypedDict):",
        f'    """Every field of `{struct.name}`, for code that must decide each one.',
        "",
        '    A field added to the struct fails the type check there, naming the place."""',
        "",
    ]
    for member in struct.members:
        annotation, _ = python_type(member.type, member.name)
        lines.append(f"    {snake(member.name)}: {annotation}")
    return lines


def _layout(root: str, fields: list[WordField], spans: list[StructSpan]) -> list[str]:
    prefix = upper_snake(root)
    lines = [
        "# ------------------------------------------------------------------ word layout",
        f"# `abi.encode({snake(root)})`: one 32-byte word per field, nested structs inlined in order.",
        "",
        f"{prefix}_LAYOUT: Final[tuple[FieldLayout, ...]] = (",
    ]
    for f in fields:
        path = ", ".join(f'"{part}"' for part in f.path)
        lines.append(
            f'    FieldLayout(path=({path},), name="{snake(f.name)}", abi_name="{f.name}", '
            f'sol_type="{f.member.type.name}", abi_type="{f.member.type.abi_type}", '
            f"bits={f.member.type.bits}, offset=0x{f.offset:03x}),"
        )
    lines.append(")")
    for span in spans:
        name = "_".join([prefix, *(upper_snake(p) for p in span.path)])
        lines.append(f"{name}_OFFSET: Final = 0x{span.offset:03x}")
        lines.append(f"{name}_SIZE: Final = 0x{span.size:03x}")
    return lines
