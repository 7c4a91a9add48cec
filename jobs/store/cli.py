"""`crowdcompute store ...`: add, cat, get, stat, pin, unpin, pins, gc on the configured content store.

Output meant for scripts goes to stdout (a CID alone, or JSON with `--json`); progress and errors go to
stderr. Every failure is one `error: ...` line and exit status 1.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

from jobs.cid import Cid, CidVersion, parse_cid
from jobs.errors import JobsError
from jobs.store.base import ContentStore
from jobs.store.settings import StoreSettings, open_store

__all__ = ["store_app"]

store_app = typer.Typer(
    name="store",
    help="Content store: add files, read them back verified, pin and collect garbage.",
    no_args_is_help=True,
    add_completion=False,
)

_SETTINGS_KEY = "crowdcompute.store.settings"
_PROGRESS_MIN_BYTES = 64 << 20

JsonOption = Annotated[bool, typer.Option("--json", help="Print a JSON object instead of text.")]
CidArgument = Annotated[str, typer.Argument(help="CIDv0 (Qm...) or CIDv1 (b...).", show_default=False)]


@store_app.callback()
def _configure(
    ctx: typer.Context,
    store_dir: Annotated[
        Path | None,
        typer.Option(
            "--store-dir", help="Embedded store folder [env CROWDCOMPUTE_STORE_DIR].", show_default=False
        ),
    ] = None,
    kubo_api: Annotated[
        str | None,
        typer.Option(
            "--kubo-api", help="Use a Kubo node's RPC API [env CROWDCOMPUTE_KUBO_API].", show_default=False
        ),
    ] = None,
) -> None:
    overrides: dict[str, Any] = {}
    if store_dir is not None:
        overrides["store_dir"] = store_dir
    if kubo_api is not None:
        overrides["kubo_api"] = kubo_api
    ctx.meta[_SETTINGS_KEY] = overrides


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@contextmanager
def _store(ctx: typer.Context) -> Iterator[ContentStore]:
    """The configured store, turning every store or I/O error into one line on stderr and exit status 1."""
    try:
        settings = StoreSettings(**ctx.meta.get(_SETTINGS_KEY, {}))
        with open_store(settings) as store:
            yield store
    except JobsError as exc:
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else str(exc)) from None
    except ValueError as exc:  # settings that do not validate
        raise _fail(str(exc).splitlines()[0]) from None


def _cid(text: str) -> Cid:
    try:
        return parse_cid(text)
    except JobsError as exc:
        raise _fail(f"{text!r} is not a CID: {exc}") from None


def _emit(as_json: bool, document: dict[str, Any], text: str) -> None:
    typer.echo(json.dumps(document) if as_json else text)


@contextmanager
def _progress_bar(total: int | None) -> Iterator[Callable[[int], None] | None]:
    console = Console(stderr=True)
    if total is None or total < _PROGRESS_MIN_BYTES or not console.is_terminal:
        yield None
        return
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("add", total=total)
        yield lambda done: progress.update(task, completed=done)


@store_app.command("add")
def add(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="File to add, or - for standard input.", show_default=False)],
    cid_version: Annotated[
        int, typer.Option("--cid-version", min=0, max=1, help="1: raw leaves, base32 (default); 0: Qm...")
    ] = 1,
    only_hash: Annotated[bool, typer.Option("--only-hash", help="Compute the CID, store nothing.")] = False,
    pin: Annotated[bool, typer.Option("--pin/--no-pin", help="Pin the added content.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Add a file; prints its CID (identical to `ipfs add --cid-version=1 --raw-leaves`, or Kubo's v0)."""
    version: CidVersion = 1 if cid_version == 1 else 0
    read = 0

    def count(done: int) -> None:
        nonlocal read
        read = done

    with _store(ctx) as store:
        if path == "-":
            cid = store.add_file(
                sys.stdin.buffer, cid_version=version, only_hash=only_hash, pin=pin, progress=count
            )
        else:
            source = Path(path)
            if source.is_dir():
                raise _fail(f"{path} is a folder; pack it as a bundle first (store add takes one file)")
            with _progress_bar(source.stat().st_size) as bar:

                def report(done: int) -> None:
                    count(done)
                    if bar is not None:
                        bar(done)

                cid = store.add_file(
                    source, cid_version=version, only_hash=only_hash, pin=pin, progress=report
                )
    document = {"cid": str(cid), "size": read, "cid_version": version, "pinned": pin and not only_hash}
    _emit(as_json, document, str(cid))


@store_app.command("cat")
def cat(ctx: typer.Context, cid: CidArgument) -> None:
    """Write the content to stdout; every block is verified before its bytes are written."""
    root = _cid(cid)
    out = sys.stdout.buffer
    with _store(ctx) as store:
        for chunk in store.cat(root):
            out.write(chunk)
        out.flush()


@store_app.command("get")
def get(
    ctx: typer.Context,
    cid: CidArgument,
    dest: Annotated[Path, typer.Argument(help="File to write (replaced atomically).", show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Write the verified content to a file."""
    root = _cid(cid)
    with _store(ctx) as store:
        written = store.get(root, dest)
    _emit(as_json, {"cid": str(root), "path": str(written), "size": written.stat().st_size}, str(written))


@store_app.command("stat")
def stat(ctx: typer.Context, cid: CidArgument, as_json: JsonOption = False) -> None:
    """Size and type of the content under a CID."""
    root = _cid(cid)
    with _store(ctx) as store:
        info = store.stat(root)
    document = {
        "cid": str(info.cid),
        "type": info.type,
        "size": info.size,
        "cumulative_size": info.cumulative_size,
        "links": info.links,
    }
    text = f"{info.cid}  {info.type}  {info.size} bytes  ({info.cumulative_size} bytes of blocks)"
    _emit(as_json, document, text)


@store_app.command("pin")
def pin(ctx: typer.Context, cid: CidArgument, as_json: JsonOption = False) -> None:
    """Pin a CID recursively (every block must be present)."""
    root = _cid(cid)
    with _store(ctx) as store:
        store.pin(root)
    _emit(as_json, {"pinned": str(root)}, f"pinned {root}")


@store_app.command("unpin")
def unpin(ctx: typer.Context, cid: CidArgument, as_json: JsonOption = False) -> None:
    """Remove a recursive pin; the blocks go at the next gc."""
    root = _cid(cid)
    with _store(ctx) as store:
        store.unpin(root)
    _emit(as_json, {"unpinned": str(root)}, f"unpinned {root}")


@store_app.command("pins")
def pins(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the pinned roots."""
    with _store(ctx) as store:
        roots = [str(cid) for cid in store.pins()]
    _emit(as_json, {"pins": roots}, os.linesep.join(roots))


@store_app.command("gc")
def gc(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Remove every block that no pin reaches; pinned content is never touched.

    On a gateway's store, bundles and results stay pinned while a job references them; bundles no job
    references expire through `crowdcompute gateway gc` (which unpins them first), never through this."""
    with _store(ctx) as store:
        result = store.gc()
    document = {"removed": len(result.removed), "freed_bytes": result.freed_bytes}
    freed = f", {result.freed_bytes} bytes freed" if result.freed_bytes is not None else ""
    _emit(as_json, document, f"removed {len(result.removed)} blocks{freed}")
