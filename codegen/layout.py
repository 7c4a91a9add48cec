"""Where each field of a static struct sits in its ABI encoding: one 32-byte word per field, nested structs
inlined in declaration order (what `abi.encode(job)` produces and what `JobCodec` reads with `mload`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from codegen.errors import CodegenError
from codegen.solidity import Member, SourceTypes

WORD = 32

# Units spelled with a capital inside a name (`gpuMemoryMiB`) stay one word in snake_case (`gpu_memory_mib`).
_UNITS = ("MiB", "GiB", "KiB")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


def snake(name: str) -> str:
    """`gpuMemoryMiB` -> `gpu_memory_mib`, `GpuCount` -> `gpu_count`."""
    for unit in _UNITS:
        name = name.replace(unit, unit.capitalize())
    return "_".join(word.lower() for word in _WORDS.findall(name))


def upper_snake(name: str) -> str:
    return snake(name).upper()


@dataclass(frozen=True)
class WordField:
    """One field of the flattened struct: its path from the root and its byte offset in the encoding."""

    path: tuple[str, ...]
    member: Member
    offset: int

    @property
    def name(self) -> str:
        return self.path[-1]


@dataclass(frozen=True)
class StructSpan:
    """Where a nested struct's words start and how many bytes they take."""

    path: tuple[str, ...]
    struct: str
    offset: int
    size: int


def flatten(types: SourceTypes, root: str) -> tuple[list[WordField], list[StructSpan]]:
    """Every leaf field of struct `root` with its offset, and the span of each nested struct."""
    fields: list[WordField] = []
    spans: list[StructSpan] = []

    def walk(struct_name: str, prefix: tuple[str, ...], offset: int) -> int:
        start = offset
        for member in types.struct(struct_name).members:
            path = (*prefix, member.name)
            if member.type.kind == "struct":
                offset = walk(member.type.name, path, offset)
            else:
                fields.append(WordField(path, member, offset))
                offset += WORD
        spans.append(StructSpan(prefix, struct_name, start, offset - start))
        return offset

    walk(root, (), 0)
    names = [f.name for f in fields]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise CodegenError(
            f"{types.path}: {root} has several fields named {', '.join(clashes)}; the generated constants "
            "name fields by their last component, so give them distinct names"
        )
    spans.sort(key=lambda s: (s.offset, -s.size))
    return fields, spans
