"""The gateway's exceptions: one root, `GatewayError`; each subclass knows the HTTP status it becomes.

Services raise these; `install_error_handlers` (called by `create_app`) turns them into responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.models.common import ErrorPublic, FieldProblem

log = logging.getLogger(__name__)


class GatewayError(Exception):
    """Root of every error the gateway raises on purpose."""

    status_code = 500
    code = "gateway_error"

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}

    def to_public(self) -> ErrorPublic:
        return ErrorPublic(code=self.code, detail=self.message)


class SchemaMismatchError(GatewayError, RuntimeError):
    """The index's tables do not hold what the contracts' layout now has (a migration is missing)."""

    code = "schema_mismatch"


class DatabaseUnusableError(GatewayError, RuntimeError):
    """The index database cannot be used: it does not answer, or its schema is too new or not ours."""


class InvalidRequestError(GatewayError, ValueError):
    status_code = 400
    code = "invalid_request"


class HostileBundleError(InvalidRequestError):
    """The archive was refused (traversal, links out, devices, bombs, unreadable format ...)."""

    code = "bundle_refused"


class BundleLimitError(HostileBundleError):
    """The archive unpacks past one of the gateway's bundle limits (size, file count, compression ratio)."""

    status_code = 413


class ManifestInvalidError(GatewayError, ValueError):
    status_code = 422
    code = "manifest_invalid"

    def __init__(self, message: str, problems: list[FieldProblem]) -> None:
        super().__init__(message)
        self.problems = problems

    def to_public(self) -> ErrorPublic:
        return ErrorPublic(code=self.code, detail=self.message, problems=self.problems)


class UploadTooLargeError(GatewayError, ValueError):
    status_code = 413
    code = "upload_too_large"


class NotFoundError(GatewayError, LookupError):
    status_code = 404
    code = "not_found"


class ConflictError(GatewayError, ValueError):
    status_code = 409
    code = "conflict"


class VotesRevealedError(ConflictError):
    """A job's votes were already revealed: no vote is taken or replaced any more (retrying cannot help)."""

    code = "votes_revealed"


class VotesNotYetError(ConflictError):
    """A job's votes cannot be taken or revealed yet (no result indexed, no seed block, window open)."""

    code = "votes_pending"


class JobClosedError(ConflictError):
    """The job has no vote to take any more: it was decided, cancelled or expired."""

    code = "job_closed"


class RangeNotSatisfiableError(GatewayError, ValueError):
    status_code = 416
    code = "range_not_satisfiable"

    def __init__(self, message: str, size: int) -> None:
        super().__init__(message)
        self.size = size

    def headers(self) -> dict[str, str]:
        return {"Content-Range": f"bytes */{self.size}"}


class AuthenticationError(GatewayError, PermissionError):
    """No credentials, a bad or expired signature, a replayed nonce: 401 with the reason."""

    status_code = 401
    code = "unauthenticated"


class ForbiddenError(GatewayError, PermissionError):
    """Known to be someone, but not allowed: unknown API key, not the job's provider."""

    status_code = 403
    code = "forbidden"


class BodyHashMismatchError(AuthenticationError):
    """A signed upload's bytes do not hash to the signed `bodyHash`: nothing is stored."""

    code = "body_hash_mismatch"


class StakeRequiredError(ForbiddenError):
    """A signed upload from an address with too little at stake on chain (`upload_min_tokens`)."""

    code = "stake_required"


class QuotaExceededError(UploadTooLargeError):
    """The upload would take an identity's unreferenced bundles past `upload_quota_bytes`."""

    code = "quota_exceeded"


class RetryLaterError(GatewayError):
    """Refused for now: the answer says when to try again (`Retry-After`, whole seconds, at least 1)."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after_s + 0.999)))}


class RateLimitedError(RetryLaterError):
    status_code = 429
    code = "rate_limited"


class ContentCorruptedError(GatewayError):
    """Stored bytes do not match their CID: never served."""

    status_code = 500
    code = "content_corrupted"


class ServiceUnavailableError(GatewayError, ConnectionError):
    status_code = 503
    code = "unavailable"


# edge: errors answered by api/edge/ before a request reaches a route


class HostNotAllowedError(InvalidRequestError):
    """The `Host` header names a host this gateway does not serve (DNS rebinding, a wrong name)."""

    code = "host_not_allowed"


class BodyTooLargeError(UploadTooLargeError):
    """A request body over its route's limit, refused at the edge (announced or counted while read)."""

    code = "body_too_large"


class HeadersTooLargeError(GatewayError, ValueError):
    status_code = 431
    code = "headers_too_large"


class RequestTimeoutError(GatewayError, TimeoutError):
    """A request body that stopped arriving."""

    status_code = 408
    code = "request_timeout"


class OverloadedError(RetryLaterError):
    """The gateway has as many requests in progress as it takes: 503 with `Retry-After`."""

    status_code = 503
    code = "overloaded"


class BusyError(RetryLaterError, ServiceUnavailableError):
    """The gateway holds as much of something as it is set to (log streams): 503, try again later."""

    code = "busy"


def error_response(exc: GatewayError) -> JSONResponse:
    """The JSON error answer for `exc`, the one shape every refusal has (also outside routing)."""
    return JSONResponse(
        exc.to_public().model_dump(exclude_none=True), status_code=exc.status_code, headers=exc.headers()
    )


async def _handle_gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    level = logging.ERROR if exc.status_code >= 500 else logging.INFO
    log.log(
        level, "request failed", extra={"path": request.url.path, "code": exc.code, "reason": exc.message}
    )
    return error_response(exc)


# The framework's own HTTP errors (a body that is not UTF-8 JSON, a method a path does not take) get the
# same JSON shape as ours, so every documented error body is an `ErrorPublic` (the fuzz checks it).
_FRAMEWORK_CODES = {
    400: "invalid_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}
_UNPARSABLE_BODY = "There was an error parsing the body"


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if detail == _UNPARSABLE_BODY:
        detail = "the body could not be read as JSON: send UTF-8 JSON as the operation's schema describes"
    code = _FRAMEWORK_CODES.get(exc.status_code, f"http_{exc.status_code}")
    return JSONResponse(
        ErrorPublic(code=code, detail=detail).model_dump(exclude_none=True),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _handle_gateway_error)
    app.add_exception_handler(StarletteHTTPException, _handle_http_exception)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 408, 409, 413, 416, 422, 429, 500, 503)
}
"""For routes' `responses=`: documents the error body in the OpenAPI schema."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: ERROR_RESPONSES[status] for status in statuses}
