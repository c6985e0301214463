"""Domain errors: services raise these; the web and API edges turn them into responses.

Every error carries a stable ``code``, a human ``message`` and optional per-field
messages, and maps to one HTTP status (see ../shared/API.md).
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str | None = None, *, fields: dict[str, Any] | None = None,
                 code: str | None = None, headers: dict[str, str] | None = None) -> None:
        self.message = message or self.__class__.__doc__ or self.code
        self.fields = fields or {}
        if code:
            self.code = code
        self.headers = headers or {}
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class BadRequest(DomainError):
    """The request could not be understood."""
    status = 400
    code = "bad_request"


class Invalid(DomainError):
    """Some fields are not valid."""
    status = 422
    code = "invalid"


class Unauthorized(DomainError):
    """Sign in first."""
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """You do not have permission to do that."""
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    """Not found."""
    status = 404
    code = "not_found"


class Conflict(DomainError):
    """That conflicts with the current state of the record."""
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    """Too many attempts; wait and try again."""
    status = 429
    code = "too_many_requests"


class PluginError(RuntimeError):
    """The set of plugins cannot be started (missing requirement, cycle, duplicate)."""
