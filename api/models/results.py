"""A job's result, published to the gateway by its provider."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ResultPublic(BaseModel):
    job_id: int = Field(description="the job the result belongs to")
    cid: str = Field(description="the result's CID (what the provider submits on chain)")
    size: int = Field(description="bytes of the packed result")
