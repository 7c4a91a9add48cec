"""`crowdcompute gateway serve`: run the gateway under uvicorn."""

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
    """
    import uvicorn

    from api.jsonlog import configure_logging
    from api.main import create_app
    from api.settings import Settings

    settings = Settings()
    if no_indexer:
        settings = settings.model_copy(update={"indexer_enabled": False})
    configure_logging(settings.log_level)
    app = create_app(settings)
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False, proxy_headers=False)
