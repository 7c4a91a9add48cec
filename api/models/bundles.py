"""Uploaded bundles."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class BundlePublic(BaseModel):
    cid: str
    size: int
    manifest: dict[str, Any]


class ManifestPublic(BaseModel):
    cid: str
    manifest: dict[str, Any]
