"""What a browser needs to find the chain and the market: `GET /config`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ConfigPublic(BaseModel):
    """Chain and contract addresses for clients (the dApp reads this before anything else).

    `market`, `token` and `deployment_block` are null while no deployment is known for `chain_id`
    (the devnet is not up yet); the chain fields are always set. `runtime_images` lets the dApp pin
    example jobs (which carry a placeholder image id) to the image this network's nodes have.
    """

    chain_id: int = Field(gt=0)
    rpc_url: str = Field(
        description="The JSON-RPC URL a browser should use (may differ from the gateway's own)."
    )
    market: str | None = Field(description="The CrowdMarket address, checksummed.")
    token: str | None = Field(description="The CrowdToken address, checksummed.")
    runtime_images: dict[str, str] = Field(
        description="Runtime image name -> the image id this network's nodes run (may be empty)."
    )
    deployment_block: int | None = Field(
        description="The block the market was deployed in: where log scans start."
    )
