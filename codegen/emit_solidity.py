"""The Solidity view of the job layout: named byte offsets and widths for `JobCodec`'s memory reads."""

from __future__ import annotations

from codegen.layout import StructSpan, WordField, snake, upper_snake


def emit(fields: list[WordField], spans: list[StructSpan], root: str, origin: str, pragma: str) -> str:
    prefix = upper_snake(root)
    out = [
        "// SPDX-License-Identifier: MIT",
        f"// The job layout, generated from {origin} by `python -m codegen` (`make setup` runs it).",
        "// Do not edit: change the Solidity source and run `make setup`.",
        f"pragma solidity {pragma};",
        "",
        f"// Byte offsets of `{root}`'s fields in `abi.encode({snake(root)})` (one 32-byte word per field,",
        "// nested structs inlined in order) and each field's width in bits.",
    ]
    for f in fields:
        name = f"{prefix}_{upper_snake(f.name)}"
        out.append(f"uint256 constant {name} = 0x{f.offset:03x}; // {'.'.join(f.path)}: {f.member.type.name}")
        out.append(f"uint256 constant {name}_BITS = {f.member.type.bits};")
    out += ["", "// Where each struct's words start, and how many bytes they take."]
    for span in spans:
        name = "_".join([prefix, *(upper_snake(p) for p in span.path)])
        if span.path:
            out.append(f"uint256 constant {name}_OFFSET = 0x{span.offset:03x};")
        out.append(f"uint256 constant {name}_SIZE = 0x{span.size:03x};")
    return "\n".join(out) + "\n"
