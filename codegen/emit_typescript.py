"""The TypeScript view of the job layout, for the dApp: enum labels, constants, field tables, zero structs.

The struct types themselves come from the ABI through viem (frontend/src/lib/contracts.ts); this file gives
what an ABI does not carry: enum member names, file-level constants and the word layout.
"""

from __future__ import annotations

from codegen.layout import StructSpan, WordField, snake, upper_snake
from codegen.solidity import Member, SourceTypes, StructDef

# viem maps uint8..uint48 to `number` and wider integers to `bigint`.
_NUMBER_BITS = 48
_SAFE_INTEGER = 2**53 - 1


def _zero(member: Member) -> str:
    sol = member.type
    if sol.kind == "address":
        return '"0x' + "0" * 40 + '"'
    if sol.kind == "bytes":
        return '"0x' + "0" * (sol.bits // 4) + '"'
    if sol.kind == "bool":
        return "false"
    if sol.kind == "struct":
        return f"ZERO_{upper_snake(sol.name)}"
    if sol.kind == "enum" or sol.bits <= _NUMBER_BITS:
        return "0"
    return "0n"


def _number(value: int) -> str:
    return str(value) if value <= _SAFE_INTEGER else f"{value}n"


def emit(types: SourceTypes, root: str, fields: list[WordField], spans: list[StructSpan], origin: str) -> str:
    out = [
        f"// The job layout, generated from {origin} by `python -m codegen` (`make setup` runs it).",
        "// Do not edit: change the Solidity source and run `make setup`.",
        "",
        "// ------------------------------------------------------------------ constants",
        "",
    ]
    for constant in types.constants:
        if constant.doc:
            out.append(f"/** {constant.doc} */")
        out.append(f"export const {constant.name} = {_number(constant.value)};")
    out += [
        "",
        "// ------------------------------------------------------------------ enums (members in order)",
        "",
    ]
    for enum in types.enums:
        labels = ", ".join(f'"{m}"' for m in enum.members)
        names = ", ".join(f'"{snake(m)}"' for m in enum.members)
        listed = upper_snake(enum.name)
        if enum.doc:
            out.append(f"/** {enum.doc} */")
        out.append(f"export const {listed} = [{labels}] as const;")
        out.append(f"/** `{enum.name}` members in lower snake case, in order. */")
        out.append(f"export const {listed}_NAMES = [{names}] as const;")
        out.append("")
    out += ["// ------------------------------------------------------------------ structs", ""]
    for struct in _dependency_order(types):
        out += _struct(struct)
    out += _layout(root, fields, spans)
    return "\n".join(out) + "\n"


def _dependency_order(types: SourceTypes) -> list[StructDef]:
    """Structs after the structs they hold, so each zero value can name the ones before it."""
    done: list[StructDef] = []

    def visit(struct: StructDef) -> None:
        if struct in done:
            return
        for member in struct.members:
            if member.type.kind == "struct":
                visit(types.struct(member.type.name))
        done.append(struct)

    for struct in types.structs:
        visit(struct)
    return done


def _struct(struct: StructDef) -> list[str]:
    constant = upper_snake(struct.name)
    lines = [f"/** `{struct.name}`'s fields in ABI order: name, Solidity type, width in bits. */"]
    lines.append(f"export const {constant}_FIELDS = [")
    for member in struct.members:
        comment = f" // {member.comment}" if member.comment else ""
        lines.append(
            f'  {{ name: "{member.name}", type: "{member.type.name}", bits: {member.type.bits} }},{comment}'
        )
    lines.append("] as const;")
    lines.append(f"/** `{struct.name}` with every field zero, as Solidity leaves an unset struct. */")
    lines.append(f"export const ZERO_{constant} = {{")
    lines += [f"  {member.name}: {_zero(member)}," for member in struct.members]
    lines += ["} as const;", ""]
    return lines


def _layout(root: str, fields: list[WordField], spans: list[StructSpan]) -> list[str]:
    prefix = upper_snake(root)
    lines = [
        "// ------------------------------------------------------------------ word layout",
        f"/** Byte offsets in `abi.encode({snake(root)})`: a word per field, nested structs inlined. */",
        f"export const {prefix}_OFFSETS = {{",
    ]
    lines += [f'  "{".".join(f.path)}": {f.offset},' for f in fields]
    lines.append("} as const;")
    for span in spans:
        name = "_".join([prefix, *(upper_snake(p) for p in span.path)])
        lines.append(f"export const {name}_OFFSET = {span.offset};")
        lines.append(f"export const {name}_SIZE = {span.size};")
    return lines
