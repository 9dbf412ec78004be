"""The API's error model: one JSON shape, one table from exception class to HTTP status.

Every error answer is ``{"code": "<stable id>", "message": "<plain words>", "detail": ...}`` (``detail`` only
when there is more to say, e.g. the list of problems of a profile). Bad input is a 4xx, never a 5xx: the
handlers below turn foncier's own exceptions (:mod:`foncier.errors`), the API's (:class:`ApiError`), FastAPI's
request validation and starlette's HTTP errors into that shape; anything else is a logged 500 without a trace.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from foncier import errors

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Base of the API's own errors: a status, a stable code, a message and an optional detail.

    Parameters
    ----------
    message : str
        What went wrong and, where possible, what to do.
    code : str, optional
        Stable machine-readable code (the class default otherwise).
    status : int, optional
        HTTP status (the class default otherwise).
    detail : Any, optional
        JSON-serialisable extra information.
    """

    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.detail = detail


class InvalidParameterError(ApiError):
    """A query or path parameter has a wrong value (400)."""

    status = 400
    code = "invalid_parameter"


class ResourceNotFoundError(ApiError):
    """The requested parcel, site, profile, collection or feature does not exist (404)."""

    status = 404
    code = "not_found"


class ServiceUnavailableError(ApiError):
    """A part of the service cannot answer now (503), e.g. the maps builder is not installed."""

    status = 503
    code = "unavailable"


#: HTTP status per exception class; the first class matching (isinstance) wins, so subclasses come first.
STATUS_BY_EXCEPTION: tuple[tuple[type[BaseException], int], ...] = (
    (errors.AHPConsistencyError, 422),
    (errors.ProfileError, 422),
    (errors.LayerValidationError, 422),
    (errors.CRSError, 422),
    (errors.ValidationError, 422),
    (errors.ScoringError, 422),
    (errors.NotFoundError, 404),
    (errors.LayerNotFoundError, 404),
    (errors.DataFormatError, 503),
    (errors.WorkspaceError, 503),
    (errors.FetchError, 502),
    (errors.DatabaseError, 503),
    (errors.FoncierError, 500),
    (sqlite3.DatabaseError, 503),
    (OverflowError, 422),  # numbers a request made too large to compute with (weights of 1e308...)
)


def status_for(exc: BaseException) -> int:
    """HTTP status of ``exc`` from :data:`STATUS_BY_EXCEPTION` (500 for anything unknown)."""
    if isinstance(exc, ApiError):
        return exc.status
    for cls, status in STATUS_BY_EXCEPTION:
        if isinstance(exc, cls):
            return status
    return 500


class ErrorBody(BaseModel):
    """JSON body of every error answer."""

    code: str
    message: str
    detail: Any = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"code": "invalid_parameter", "message": "bbox: minx (3.4) must be smaller than maxx (3.3)"}]
        }
    }


#: OpenAPI ``responses`` entries for the error statuses (added to every route).
_ERROR_CONTENT = {"application/json": {"schema": ErrorBody.model_json_schema()}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid parameter", "content": _ERROR_CONTENT},
    404: {"description": "Not found", "content": _ERROR_CONTENT},
    413: {"description": "Request body too large", "content": _ERROR_CONTENT},
    422: {"description": "Invalid body or profile", "content": _ERROR_CONTENT},
    503: {"description": "Workspace or component unavailable", "content": _ERROR_CONTENT},
}


#: Bounds of an error answer: it never grows with the request (a huge body gives a small answer).
MAX_ERROR_MESSAGE_CHARS = 1000
MAX_ERROR_DETAIL_ITEMS = 20
MAX_ERROR_STRING_CHARS = 300
MAX_ERROR_BYTES = 16_384


def error_response(status: int, code: str, message: str, detail: Any = None) -> JSONResponse:
    """Build the JSON answer of an error (bounded: long messages, lists and strings are clipped)."""
    body: dict[str, Any] = {"code": code, "message": _clip(str(message), MAX_ERROR_MESSAGE_CHARS)}
    if detail is not None:
        body["detail"] = _bounded(_jsonable(detail), depth=0)
    response = JSONResponse(body, status_code=status)
    if len(response.body) > MAX_ERROR_BYTES:
        body.pop("detail", None)
        body["message"] = _clip(body["message"], MAX_ERROR_BYTES // 4)
        response = JSONResponse(body, status_code=status)
    return response


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def _bounded(value: Any, *, depth: int) -> Any:
    if depth > 6:
        return "..."
    if isinstance(value, str):
        return _clip(value, MAX_ERROR_STRING_CHARS)
    if isinstance(value, list):
        items = [_bounded(v, depth=depth + 1) for v in value[:MAX_ERROR_DETAIL_ITEMS]]
        if len(value) > MAX_ERROR_DETAIL_ITEMS:
            items.append(f"... {len(value) - MAX_ERROR_DETAIL_ITEMS} more")
        return items
    if isinstance(value, dict):
        keys = list(value)[: 2 * MAX_ERROR_DETAIL_ITEMS]
        return {_clip(k, MAX_ERROR_STRING_CHARS): _bounded(value[k], depth=depth + 1) for k in keys}
    return value


def _jsonable(value: Any) -> Any:
    """Make ``value`` strictly JSON-serialisable (NaN/inf become strings, unknown objects their str)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _foncier_detail(exc: BaseException) -> Any:
    if isinstance(exc, errors.ValidationError):
        return [{k: v for k, v in vars(p).items() if v is not None} for p in exc.problems]
    return None


def _foncier_message(exc: BaseException) -> str:
    if isinstance(exc, errors.ValidationError):
        return f"{exc.title}: " + "; ".join(str(p) for p in exc.problems[:20])
    return str(exc) or exc.__class__.__name__


def _validation_message(problems: Sequence[Any]) -> str:
    parts = []
    for p in problems[:10]:
        loc = ".".join(str(x) for x in p.get("loc", ()) if x not in ("query", "path", "body"))
        parts.append(f"{loc}: {p.get('msg', 'invalid')}" if loc else str(p.get("msg", "invalid")))
    return "; ".join(parts) or "invalid request"


async def _api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message, exc.detail)


async def _foncier_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    code = getattr(exc, "code", "foncier_error")
    if status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(status, str(code), _foncier_message(exc), _foncier_detail(exc))


async def _request_validation_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())[: 5 * MAX_ERROR_DETAIL_ITEMS]
    in_body = any(p.get("loc", ("",))[0] == "body" for p in problems)
    detail = [{"loc": [str(x) for x in p.get("loc", ())], "msg": str(p.get("msg", "")), "type": str(p.get("type", ""))}
              for p in problems]  # fmt: skip
    if in_body:
        return error_response(422, "invalid_body", _validation_message(problems), detail)
    return error_response(400, "invalid_parameter", _validation_message(problems), detail)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    406: "not_acceptable", 411: "length_required", 413: "payload_too_large", 415: "unsupported_media_type",
}  # fmt: skip


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail) if exc.detail else code.replace("_", " ")
    if exc.status_code == 404 and message == "Not Found":
        message = f"no such path: {request.url.path} (see /docs for the endpoints)"
    response = error_response(exc.status_code, code, message)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    status = status_for(exc)
    if status >= 500:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(status, "internal_error" if status == 500 else "workspace_unavailable",
                              "the server could not answer this request; the error was logged")  # fmt: skip
    if isinstance(exc, OverflowError):
        return error_response(
            status, "numeric_overflow", f"a number of the request is too large to compute with ({exc})"
        )
    return error_response(status, "error", str(exc))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers of every error kind on ``app``."""
    app.add_exception_handler(ApiError, _api_error_handler)
    app.add_exception_handler(errors.FoncierError, _foncier_error_handler)
    app.add_exception_handler(RequestValidationError, _request_validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(sqlite3.DatabaseError, _unexpected_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)
