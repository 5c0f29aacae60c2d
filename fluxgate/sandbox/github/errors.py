"""Errors the emulator answers with, worded and coded like GitHub's so clients handle them unchanged."""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "not_found", "unprocessable"]

DOCS = "https://docs.github.com/rest"


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "documentation_url": DOCS,
            "status": str(self.status),
        }
        if self.errors:
            body["errors"] = self.errors
        return body


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def unprocessable(text: str, /, **error: Any) -> ApiError:
    """422 with GitHub's `errors: [{resource, field, code, message}]` detail when given."""
    return ApiError(422, text, [error] if error else None)
