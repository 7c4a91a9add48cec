"""The gateway's one configuration object, read from `CROWDCOMPUTE_GATEWAY_*` variables or a `.env` file."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Literal

from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chain import DEPLOYMENTS_DIR, REPO_ROOT, deployment_path
from gateway_protocol import LOG_LINE_MAX_BYTES
from jobs.store import StoreSettings

DEV_API_KEY = "dev-gateway-key"
"""Accepted in development only; `Settings` refuses to start with it anywhere else."""

_IMAGE_ID = re.compile(r"sha256:[0-9a-f]{64}")

DEV_SERVER_ORIGINS = ["http://localhost:5173", "http://127.0.0.1:5173"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CROWDCOMPUTE_GATEWAY_", env_file=".env", extra="ignore", env_nested_delimiter="__"
    )

    environment: Literal["development", "test", "production"] = "production"
    """`development` (chosen explicitly) is the only one with a default API key (`dev-gateway-key`)."""
    log_level: str = "INFO"

    # chain
    rpc_url: str = "http://127.0.0.1:8545"
    public_rpc_url: str | None = None
    """The RPC URL browsers are told to use (`GET /config`) when it differs from `rpc_url` (a proxy, a
    container-internal host name); unset, browsers get `rpc_url`."""
    runtime_images: dict[str, str] = Field(default_factory=dict)
    """Runtime image name -> the image id this network's providers and validators run
    (`{"crowdcompute/runtime-cpu:torch2.13": "sha256:..."}`). `GET /config` advertises it so the dApp
    can pin example jobs (which carry runtime/image.lock's id) to an image that nodes here actually have."""
    chain_id: int = 31337
    deployments_dir: Path = DEPLOYMENTS_DIR
    rpc_timeout_s: float = 5.0

    # storage
    data_dir: Path = Path("~/.crowdcompute/gateway")
    """The SQLite index and, unless `store_dir` or `kubo_api` is set, the embedded content store."""
    store_dir: Path | None = None
    """The embedded store's folder (default `<data_dir>/store`)."""
    kubo_api: str | None = None
    """A Kubo RPC API address; when set, content goes to Kubo instead of the embedded store."""
    store_fsync: bool = True

    # index database (PostgreSQL; see api/README.md)
    database_url: SecretStr | None = None
    """A `postgresql://` URL: the index lives there, shared by several gateway processes (one indexes, all
    serve). Unset, the index is the SQLite file `<data_dir>/index.sqlite`."""

    # uploads
    upload_max_bytes: int = Field(default=512 * 1024 * 1024, gt=0)
    upload_tmp_dir: Path | None = None
    upload_min_tokens: Decimal = Field(default=Decimal(1), ge=0)
    """A signed uploader's token balance plus its stake in the market must reach this (tokens), else 403."""
    upload_stake_cache_s: float = Field(default=60.0, ge=0)
    """How long an address's on-chain balance and stake are trusted before the RPC is asked again."""
    upload_quota_bytes: int = Field(default=2 * 1024**3, gt=0)
    """Per uploader (address or API key): bytes of its bundles that no indexed job references yet."""
    unreferenced_bundle_ttl_s: float = Field(default=7 * 24 * 3600.0, gt=0)
    """A bundle no indexed job references is unpinned and collected this long after its upload."""
    sweep_interval_s: float = Field(default=3600.0, ge=0)
    """How often the gateway sweeps expired bundles (0: only by `crowdcompute gateway gc`)."""

    # bundle repack limits: what one upload may expand to, counted while it is read (issue 15)
    bundle_max_unpacked_bytes: int = Field(default=1024 * 1024 * 1024, gt=0)
    """The file data one bundle may unpack to, in all and in any one file (default 1 GiB)."""
    bundle_max_files: int = Field(default=10_000, gt=0)
    """The files, folders and links one bundle may hold (a zip saying more is refused before any is read)."""
    bundle_max_ratio: float = Field(default=100.0, ge=1)
    """Unpacked bytes per uploaded byte of a tar.gz or zip (past its first MiB): refuses compression bombs."""

    # auth and limits
    api_keys: list[SecretStr] = Field(default_factory=list)
    """`KEY` or `KEY@0xADDRESS`; a key bound to an address acts for it (e.g. to push that provider's logs).
    Unset, it is `["dev-gateway-key"]` in development and empty (signatures only) anywhere else."""
    signature_max_skew_s: int = Field(default=300, gt=0)
    nonce_store: Literal["sqlite", "memory"] = "sqlite"
    rate_limit_per_minute: float = Field(default=60.0, gt=0)
    rate_limit_burst: int = Field(default=20, gt=0)
    report_rate_limit_per_minute: float = Field(default=120.0, gt=0)
    """Provider reports (skip reasons, energy) an address may send per minute, after its burst."""
    report_rate_limit_burst: int = Field(default=60, gt=0)
    vote_rate_limit_per_minute: float = Field(default=120.0, gt=0)
    """Signed committee votes a client address (and, once checked, a validator) may hand in per minute."""
    vote_rate_limit_burst: int = Field(default=60, gt=0)

    # http
    cors_origins: list[str] = Field(default_factory=lambda: list(DEV_SERVER_ORIGINS))
    frontend_dist: Path = REPO_ROOT / "frontend" / "dist"

    # indexer
    indexer_enabled: bool = True
    confirmations: int = Field(default=0, ge=0)
    indexer_batch_blocks: int = Field(default=2000, gt=0)
    indexer_poll_interval_s: float = Field(default=1.0, gt=0)
    indexer_backoff_max_s: float = Field(default=30.0, gt=0)
    indexer_standby_poll_s: float = Field(default=2.0, gt=0)
    """On a shared PostgreSQL index: how often a standby gateway tries to take over indexing."""
    readiness_max_lag_blocks: int = Field(default=10, ge=0)

    # log relay
    log_batch_max_lines: int = Field(default=1000, gt=0)
    log_line_max_bytes: int = Field(default=LOG_LINE_MAX_BYTES, gt=0)
    sse_heartbeat_s: float = Field(default=15.0, gt=0)
    sse_poll_s: float = Field(default=0.5, gt=0)
    log_page_max_bytes: int = Field(default=1024 * 1024, gt=0)
    """A page of `GET /jobs/{id}/logs` stops before it passes this many bytes of lines (at least one line);
    the page then says `truncated` and where to go on (`next_after`)."""
    sse_max_streams_per_ip: int = Field(default=8, gt=0)
    """Log streams (`?follow=true`) one client IP may hold at once; beyond, 429 with Retry-After."""
    sse_max_streams: int = Field(default=1000, gt=0)
    """Log streams the gateway holds at once, all clients together; beyond, 503 with Retry-After."""
    sse_send_timeout_s: float = Field(default=30.0, gt=0)
    """A log stream whose client takes no data for this long (a write that cannot complete) is closed."""

    # health
    readiness_cache_s: float = Field(default=2.0, ge=0)
    """`/readyz` answers from one check for this long; concurrent requests share a check in flight."""

    # edge: limits and checks applied before a request is routed or its body read (api/edge/)
    trusted_proxies: list[IPvAnyNetwork] = Field(default_factory=list)
    """Reverse proxies (addresses or CIDRs) whose `X-Forwarded-For` is believed: behind one, the client is
    the right-most `X-Forwarded-For` hop that is not itself a trusted proxy; empty, it is the TCP peer."""
    trust_forwarded_for: bool | None = Field(default=None, exclude=True)
    """Removed (it believed the left-most, client-chosen hop); set, the gateway refuses to start."""
    allowed_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost", "[::1]", "::1"])
    """`Host` header names served (ports ignored; `*` any, `*.example.org` its subdomains); others get 400,
    so a web page cannot reach a local gateway through DNS rebinding. Add the public name when exposed."""
    edge_rate_limit_per_minute: float = Field(default=600.0, gt=0)
    """Requests per minute one client IP may send, anonymous ones included, after its burst (then 429)."""
    edge_rate_limit_burst: int = Field(default=200, gt=0)
    auth_failure_limit_per_minute: float = Field(default=30.0, gt=0)
    """401/403 answers one client IP may earn per minute after its burst; beyond, its requests get 429
    before they are parsed."""
    auth_failure_burst: int = Field(default=30, gt=0)
    max_requests_per_client: int = Field(default=64, gt=0)
    """Requests one client IP may have in progress at once (429 beyond); log streams are not counted."""
    max_requests: int = Field(default=1024, gt=0)
    """Requests the gateway handles at once, all clients together (503 beyond); log streams not counted."""
    body_max_bytes: int = Field(default=1024 * 1024, gt=0)
    """Largest request body of a route without a limit of its own (413 beyond, read or announced);
    uploads may send `upload_max_bytes` + `upload_overhead_bytes`, log batches 8 MiB."""
    upload_overhead_bytes: int = Field(default=1024 * 1024, ge=0)
    """What an upload's body may carry beyond `upload_max_bytes` (multipart headers and fields)."""
    body_idle_timeout_s: float = Field(default=30.0, gt=0)
    """Seconds a request body may go without sending a byte before the request ends with 408."""
    header_timeout_s: float = Field(default=10.0, gt=0)
    """Seconds a connection has to deliver a complete request head (a slow client's headers: 408, closed)."""
    keep_alive_timeout_s: int = Field(default=5, gt=0)
    """Seconds an idle keep-alive connection stays open."""
    max_connections: int = Field(default=2048, gt=0)
    """Open connections uvicorn accepts before answering 503 (its `limit_concurrency`)."""
    max_header_bytes: int = Field(default=16 * 1024, gt=0)
    """Largest request head (request line and headers) in bytes; a larger one gets 400."""

    @field_validator("data_dir", "store_dir", "upload_tmp_dir", "deployments_dir", "frontend_dist")
    @classmethod
    def _expand_home(cls, value: Path | None) -> Path | None:
        return value.expanduser() if value is not None else None

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("postgresql://", "postgres://")):
            raise ValueError("CROWDCOMPUTE_GATEWAY_DATABASE_URL must be a postgresql:// URL (unset: SQLite)")
        return value

    @field_validator("runtime_images")
    @classmethod
    def _check_image_ids(cls, value: dict[str, str]) -> dict[str, str]:
        for image, image_id in value.items():
            if not _IMAGE_ID.fullmatch(image_id):
                raise ValueError(
                    f"runtime_images[{image!r}] = {image_id!r} is not an image id: give 'sha256:' and 64 "
                    f"lowercase hex digits, as `docker image inspect --format '{{{{.Id}}}}' {image}` prints"
                )
        return value

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and any(
            parse_api_key(k.get_secret_value())[0] == DEV_API_KEY for k in self.api_keys
        ):
            raise ValueError(
                f"the development API key {DEV_API_KEY!r} is configured in environment {self.environment!r}; "
                "set CROWDCOMPUTE_GATEWAY_API_KEYS to your own keys (or to [] for signatures only)"
            )
        return self

    @model_validator(mode="after")
    def _production_safe_defaults(self) -> Settings:
        """The dev key only where development was chosen; the removed proxy switch refused by name."""
        if self.environment == "development" and "api_keys" not in self.model_fields_set:
            self.api_keys = [SecretStr(DEV_API_KEY)]
        if self.trust_forwarded_for is not None:
            raise ValueError(
                "CROWDCOMPUTE_GATEWAY_TRUST_FORWARDED_FOR is no longer read (it trusted the client-chosen, "
                "left-most X-Forwarded-For hop): remove it and list your reverse proxies' addresses in "
                'CROWDCOMPUTE_GATEWAY_TRUSTED_PROXIES (CIDRs, e.g. ["10.0.0.0/8"])'
            )
        return self

    @property
    def db_path(self) -> Path:
        return self.data_dir / "index.sqlite"

    @property
    def deployment_file(self) -> Path:
        return deployment_path(self.chain_id, self.deployments_dir)

    def store_settings(self) -> StoreSettings:
        return StoreSettings(
            store_dir=self.store_dir if self.store_dir is not None else self.data_dir / "store",
            kubo_api=self.kubo_api,
            store_fsync=self.store_fsync,
        )


def parse_api_key(entry: str) -> tuple[str, str | None]:
    """Split a configured `KEY` or `KEY@0xADDRESS` entry into the key and its bound address."""
    key, sep, address = entry.partition("@")
    return key, (address.lower() if sep and address else None)
