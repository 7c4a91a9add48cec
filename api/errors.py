"""The gateway's exceptions: one root, `GatewayError`; each subclass knows the HTTP status it becomes.

Services raise these; `install_error_handlers` (called by `create_app`) turns them into responses.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

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


class InvalidRequestError(GatewayError, ValueError):
    status_code = 400
    code = "invalid_request"


class HostileBundleError(InvalidRequestError):
    """The archive was refused (traversal, links out, devices, bombs, unreadable format ...)."""

    code = "bundle_refused"


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


class RateLimitedError(GatewayError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after_s + 0.999)))}


class ContentCorruptedError(GatewayError):
    """Stored bytes do not match their CID: never served."""

    status_code = 500
    code = "content_corrupted"


class ServiceUnavailableError(GatewayError, ConnectionError):
    status_code = 503
    code = "unavailable"


class BusyError(ServiceUnavailableError):
    """The gateway holds as much of something as it is set to (log streams): 503, try again later."""

    code = "busy"

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.retry_after_s + 0.999)))}


async def _handle_gateway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, GatewayError)
    level = logging.ERROR if exc.status_code >= 500 else logging.INFO
    log.log(
        level, "request failed", extra={"path": request.url.path, "code": exc.code, "reason": exc.message}
    )
    return JSONResponse(
        exc.to_public().model_dump(exclude_none=True), status_code=exc.status_code, headers=exc.headers()
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(GatewayError, _handle_gateway_error)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorPublic} for status in (400, 401, 403, 404, 409, 413, 416, 422, 429, 500, 503)
}
"""For routes' `responses=`: documents the error body in the OpenAPI schema."""


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: ERROR_RESPONSES[status] for status in statuses}
