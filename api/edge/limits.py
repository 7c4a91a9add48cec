"""Limits applied to every request before it is routed or its body parsed.

Per client IP (as `api.edge.proxies` names it): a request rate, a count of requests in progress, and a
budget of failed authentications (401/403 answers) after which the IP is refused before anything else.
All clients together: a count of requests in progress. Headers: a size cap (431). Bodies: a per-route
maximum, checked against `Content-Length` when announced and counted while read otherwise, and a timeout
between body chunks.
Log streams (`GET /jobs/{id}/logs?follow=true`) live for hours and are not counted as requests in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.edge.proxies import Network, client_ip
from api.errors import (
    BodyTooLargeError,
    GatewayError,
    HeadersTooLargeError,
    InvalidRequestError,
    OverloadedError,
    RateLimitedError,
    RequestTimeoutError,
    error_response,
)
from api.routes.logs import LOG_BODY_MAX_BYTES
from api.routes.reports import REPORT_BODY_MAX_BYTES
from api.routes.votes import VOTE_BODY_MAX_BYTES
from api.services.ratelimit import RateLimiter
from api.settings import Settings

log = logging.getLogger(__name__)

_LOG_STREAM = re.compile(r"^/jobs/[^/]+/logs/?$")
_TRUE = {"true", "1", "yes", "on", "t", "y"}
_AUTH_FAILURES = (401, 403)


def is_log_stream(scope: Scope) -> bool:
    """`GET /jobs/{id}/logs?follow=true`: a Server-Sent Events stream, not a request in progress."""
    if scope["method"] != "GET" or not _LOG_STREAM.match(scope["path"]):
        return False
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
    return any(name == "follow" and value.lower() in _TRUE for name, value in query)


class BodyLimits:
    """The largest body each route takes: uploads `upload_max_bytes` + `upload_overhead_bytes`, log
    batches their route's 8 MiB, votes and reports their routes' few KiB (so an oversized one gets this
    JSON 413, not the framework's plain text), everything else `body_max_bytes`."""

    def __init__(self, settings: Settings) -> None:
        upload = settings.upload_max_bytes + settings.upload_overhead_bytes
        self.default = settings.body_max_bytes
        self.large: tuple[tuple[str, re.Pattern[str], int], ...] = (
            ("POST", re.compile(r"^/bundles/?$"), upload),
            ("POST", re.compile(r"^/jobs/[^/]+/results/[^/]+/?$"), upload),
            ("POST", _LOG_STREAM, LOG_BODY_MAX_BYTES),
            ("POST", re.compile(r"^/jobs/[^/]+/votes/?$"), VOTE_BODY_MAX_BYTES),
            ("POST", re.compile(r"^/jobs/[^/]+/reports/?$"), REPORT_BODY_MAX_BYTES),
        )

    def for_request(self, scope: Scope) -> int:
        for method, path, limit in self.large:
            if scope["method"] == method and path.match(scope["path"]):
                return limit
        return self.default


class _BodyRefused(Exception):
    """Raised from `receive` so the app stops reading; carries the answer the edge gives."""

    def __init__(self, error: GatewayError) -> None:
        super().__init__(error.message)
        self.error = error


class EdgeLimits:
    """ASGI middleware, the outermost of the gateway's: every limit above, answered as JSON errors."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.proxies: list[Network] = list(settings.trusted_proxies)
        self.requests = RateLimiter(
            settings.edge_rate_limit_per_minute / 60.0, settings.edge_rate_limit_burst
        )
        self.auth_failures = RateLimiter(
            settings.auth_failure_limit_per_minute / 60.0, settings.auth_failure_burst
        )
        self.max_requests = settings.max_requests
        self.max_per_client = settings.max_requests_per_client
        self.idle_timeout_s = settings.body_idle_timeout_s
        self.max_header_bytes = settings.max_header_bytes
        self.body_limits = BodyLimits(settings)
        self.in_progress = 0
        self.in_progress_by_client: dict[str, int] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope, self.proxies)
        try:
            self._admit(ip)
            limit = self._announced_body(scope)
        except GatewayError as refused:
            await error_response(refused)(scope, receive, send)
            return
        if is_log_stream(scope):
            await self._run(scope, receive, send, ip, limit)
            return
        busy = self._over_capacity(ip)
        if busy is not None:
            await error_response(busy)(scope, receive, send)
            return
        self.in_progress += 1
        self.in_progress_by_client[ip] = self.in_progress_by_client.get(ip, 0) + 1
        try:
            await self._run(scope, receive, send, ip, limit)
        finally:
            self.in_progress -= 1
            left = self.in_progress_by_client[ip] - 1
            if left:
                self.in_progress_by_client[ip] = left
            else:
                del self.in_progress_by_client[ip]

    def _over_capacity(self, ip: str) -> GatewayError | None:
        """503 when the gateway, 429 when this client, has as many requests in progress as it may."""
        if self.in_progress >= self.max_requests:
            return OverloadedError(
                f"the gateway has {self.in_progress} requests in progress, its limit "
                "(CROWDCOMPUTE_GATEWAY_MAX_REQUESTS); retry shortly"
            )
        mine = self.in_progress_by_client.get(ip, 0)
        if mine >= self.max_per_client:
            return RateLimitedError(
                f"{ip} has {mine} requests in progress, the most one client may "
                "(CROWDCOMPUTE_GATEWAY_MAX_REQUESTS_PER_CLIENT); wait for one to finish",
                retry_after_s=1.0,
            )
        return None

    def _admit(self, ip: str) -> None:
        """Refuse an IP over its failed-authentication budget or its request rate (RateLimitedError)."""
        wait = self.auth_failures.wait_s(ip)
        if wait > 0:
            raise RateLimitedError(
                f"too many failed authentications from {ip}; retry in {wait:.0f} s with valid credentials",
                retry_after_s=wait,
            )
        self.requests.check(ip)

    def _announced_body(self, scope: Scope) -> int:
        """The route's body limit, after refusing oversized headers and a `Content-Length` over the
        limit (or not a number). uvicorn refuses a head too large only while it arrives in pieces."""
        head = sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if head > self.max_header_bytes:
            raise HeadersTooLargeError(
                f"the request headers take {head} bytes, over {self.max_header_bytes} "
                "(CROWDCOMPUTE_GATEWAY_MAX_HEADER_BYTES)"
            )
        limit = self.body_limits.for_request(scope)
        announced = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if announced is None:
            return limit
        if not announced.isdigit():
            shown = announced[:40].decode("latin-1")
            raise InvalidRequestError(f"Content-Length {shown!r} is not a byte count")
        significant = announced.lstrip(b"0")  # leading zeros never make a huge int
        if len(significant) > 18 or int(significant or b"0") > limit:
            shown = significant[:40].decode() + ("..." if len(significant) > 40 else "")
            raise BodyTooLargeError(
                f"the body is {shown} bytes; {scope['method']} {scope['path']} takes at most {limit}"
            )
        return limit

    async def _run(self, scope: Scope, receive: Receive, send: Send, ip: str, limit: int) -> None:
        received = 0
        body_done = False
        started = False
        refused = False

        async def refuse(error: GatewayError) -> _BodyRefused:
            """Answer `error` now, while the app is still reading, and drop whatever the app sends later
            (FastAPI turns an exception from the body into its own 400: that answer must not win)."""
            nonlocal refused
            if not started:
                log.info("request refused", extra={"path": scope["path"], "code": error.code})
                response = error_response(error)
                response.headers["Connection"] = "close"  # the rest of the body is never read
                await response(scope, receive, send)
                refused = True
            return _BodyRefused(error)

        async def bounded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()  # the app waits for a disconnect: no timeout there
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout_s)
            except TimeoutError:
                raise await refuse(
                    RequestTimeoutError(
                        f"the request body sent nothing for {self.idle_timeout_s:g} s "
                        "(CROWDCOMPUTE_GATEWAY_BODY_IDLE_TIMEOUT_S); send it without pauses"
                    )
                ) from None
            if message["type"] != "http.request":
                body_done = True
                return message
            received += len(message.get("body", b""))
            body_done = not message.get("more_body", False)
            if received > limit:
                raise await refuse(
                    BodyTooLargeError(
                        f"the body passed {limit} bytes, the most {scope['method']} {scope['path']} takes"
                    )
                )
            return message

        async def observing_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                if message["status"] in _AUTH_FAILURES:
                    # Already over: its next requests are refused in `_admit`.
                    with contextlib.suppress(RateLimitedError):
                        self.auth_failures.check(ip)
            await send(message)

        try:
            await self.app(scope, bounded_receive, observing_send)
        except Exception:
            if not refused:
                raise
