"""`crowdcompute gateway serve`: run the gateway under uvicorn; `crowdcompute gateway gc`: expire bundles."""

from __future__ import annotations

from typing import Annotated

import typer

gateway_app = typer.Typer(
    name="gateway", help="The HTTP gateway: uploads, content, the index, logs, the dApp."
)


@gateway_app.callback()
def _gateway() -> None:
    """The HTTP gateway."""


@gateway_app.command("serve")
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    no_indexer: Annotated[
        bool, typer.Option("--no-indexer", help="serve without following the chain")
    ] = False,
) -> None:
    """Serve the API and the dApp; starts even when the chain is unreachable (see /readyz).

    Configuration comes from CROWDCOMPUTE_GATEWAY_* variables (rpc_url, chain_id, data_dir, api_keys, ...).
    The environment is `production` unless CROWDCOMPUTE_GATEWAY_ENVIRONMENT says `development` (which
    alone accepts the published dev API key) or `test`. Behind a reverse proxy set
    CROWDCOMPUTE_GATEWAY_TRUSTED_PROXIES; on a public name, add it to CROWDCOMPUTE_GATEWAY_ALLOWED_HOSTS.
    """
    import logging

    import uvicorn

    from api.edge.server import uvicorn_config
    from api.errors import DatabaseUnusableError
    from api.jsonlog import configure_logging
    from api.main import create_app
    from api.settings import Settings

    settings = Settings()
    if no_indexer:
        settings = settings.model_copy(update={"indexer_enabled": False})
    configure_logging(settings.log_level)
    logging.getLogger("api.cli").info(
        "gateway starting in environment %s",
        settings.environment,
        extra={
            "environment": settings.environment,
            "api_keys": len(settings.api_keys),
            "allowed_hosts": settings.allowed_hosts,
            "trusted_proxies": [str(p) for p in settings.trusted_proxies],
        },
    )
    try:
        app = create_app(settings)
    except DatabaseUnusableError as exc:  # a URL that does not answer, a schema too new or not ours
        typer.echo(f"gateway cannot start: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    uvicorn.Server(uvicorn_config(app, settings, host=host, port=port)).run()


@gateway_app.command("gc")
def gc(
    older_than_s: Annotated[
        float | None,
        typer.Option(
            help="expire unreferenced bundles uploaded this long ago [default: unreferenced_bundle_ttl_s]"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON object")] = False,
) -> None:
    """Unpin bundles no indexed job references once they are older than the TTL, then collect their blocks.

    Bundles a job references, and results, stay pinned (`crowdcompute store gc` alone only removes blocks
    no pin reaches). The running gateway does the same every sweep_interval_s.
    """
    import json

    from api.gateway import Gateway
    from api.services.expiry import sweep_expired_bundles
    from api.settings import Settings

    settings = Settings()
    gateway = Gateway(settings)
    try:
        ttl_s = settings.unreferenced_bundle_ttl_s if older_than_s is None else older_than_s
        result = sweep_expired_bundles(gateway.db, gateway.store, ttl_s)
    finally:
        gateway.close()
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "unpinned": list(result.unpinned),
                    "blocks_removed": result.blocks_removed,
                    "freed_bytes": result.freed_bytes,
                }
            )
        )
        return
    for cid in result.unpinned:
        typer.echo(f"unpinned {cid}")
    freed = f", {result.freed_bytes} bytes freed" if result.freed_bytes else ""
    typer.echo(f"{len(result.unpinned)} expired bundles, {result.blocks_removed} blocks removed{freed}")
