"""JSON API conventions (../shared/API.md): one error shape, pagination, the
``Idempotency-Key`` mechanism, and the ``endpoint`` decorator whose declarations the
OpenAPI document is generated from."""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from flask import Response, g, jsonify, request
from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate
from sqlalchemy import bindparam, select
from werkzeug.exceptions import HTTPException

from core.auth import PUBLIC, SIGNED_IN
from core.errors import BadRequest, Conflict, DomainError, Invalid
from core.db import dialect_insert, utcnow
from core.models import IdempotencyKey


class ErrorDetail(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True)


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetail, required=True)


class PageArgs(Schema):
    class Meta:
        unknown = EXCLUDE
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class SearchPageArgs(PageArgs):
    q = fields.String(load_default=None, validate=validate.Length(max=200))


@dataclass
class Page:
    items: Sequence[Any]
    total: int
    page: int
    per_page: int


def paginate(session: Any, stmt: Any, page: int, per_page: int, *, count_stmt: Any = None) -> Page:
    """Run ``stmt`` (a select of ORM entities) for one page, with the total count.

    The page is read first: when it is not empty and shorter than ``per_page`` (or the
    first page is empty) it is the last page, so the total is known without a COUNT;
    otherwise the COUNT runs and the total is exact."""
    from sqlalchemy import func
    offset = (page - 1) * per_page
    items = session.scalars(stmt.limit(per_page).offset(offset)).all()
    if len(items) < per_page and (items or offset == 0):
        return Page(items=items, total=offset + len(items), page=page, per_page=per_page)
    total = session.scalar(count_stmt if count_stmt is not None
                           else select(func.count()).select_from(stmt.order_by(None).subquery()))
    return Page(items=items, total=total or 0, page=page, per_page=per_page)


_page_schemas: dict[type, type[Schema]] = {}


def page_schema(item: type[Schema]) -> type[Schema]:
    """The list envelope ``{items, total, page, per_page}`` for ``item``."""
    if item not in _page_schemas:
        name = item.__name__.removesuffix("Schema") + "PageSchema"
        _page_schemas[item] = type(name, (Schema,), {
            "items": fields.List(fields.Nested(item), required=True),
            "total": fields.Integer(required=True),
            "page": fields.Integer(required=True),
            "per_page": fields.Integer(required=True),
        })
    return _page_schemas[item]


@dataclass(frozen=True)
class EndpointSpec:
    permission: str
    body: type[Schema] | None
    query: type[Schema] | None
    response: type[Schema] | None
    status: int
    many: bool
    paginated: bool
    idempotent: bool
    summary: str
    tags: tuple[str, ...]
    errors: tuple[int, ...]
    content_type: str = "application/json"
    multipart: bool = False


def endpoint(*, permission: str | None = None, public: bool = False, signed_in: bool = False,
             body: type[Schema] | None = None, query: type[Schema] | None = None,
             response: type[Schema] | None = None, status: int = 200, many: bool = False,
             paginated: bool = False, idempotent: bool = False, summary: str = "",
             tags: Sequence[str] = (), errors: Sequence[int] = (),
             content_type: str = "application/json") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare an API view: who may call it, what it takes, what it answers.

    The view receives path arguments plus ``data`` (the loaded body) and ``args`` (the
    loaded query) when schemas are given, and returns a model object, a list, a
    :class:`Page`, a dict, or a ``Response``. The declaration also feeds OpenAPI.
    """
    perm = PUBLIC if public else SIGNED_IN if signed_in else permission
    if perm is None:
        raise ValueError("endpoint needs permission=..., public=True or signed_in=True")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        spec = EndpointSpec(permission=perm, body=body, query=query, response=response,
                            status=status, many=many, paginated=paginated, idempotent=idempotent,
                            summary=summary or (view.__doc__ or "").strip().split("\n")[0],
                            tags=tuple(tags), errors=tuple(errors), content_type=content_type)

        @functools.wraps(view)
        def wrapper(**path_args: Any) -> Any:
            kwargs = dict(path_args)
            if query is not None:
                kwargs["args"] = load_query(query)
            if body is not None:
                kwargs["data"] = load_body(body)
            if not idempotent:
                return render(view(**kwargs), spec)
            replay = idempotency_begin()
            if replay is not None:
                return replay
            try:
                resp = render(view(**kwargs), spec)
            except (DomainError, HTTPException):
                # A duplicate that lost the race (its unit already sold by its twin …)
                # answers with the twin's result, not with its own failure.
                replay = idempotency_replay_after_failure()
                if replay is not None:
                    return replay
                raise
            return idempotency_store(resp)

        wrapper.__dict__["_cd_permission"] = perm
        wrapper.__dict__["_cd_endpoint"] = spec
        return wrapper
    return decorate


# Schema instances are built once per schema class and reused: marshmallow schemas
# keep no per-call state in load/dump, and building one (fields deep-copied) cost
# more than the look-up it served on the hot API paths.
_query_loaders: dict[type, tuple[Schema, tuple[tuple[str, bool], ...]]] = {}
_body_loaders: dict[type, Schema] = {}
_dumpers: dict[tuple[type, bool], Schema] = {}


def _query_loader(schema: type[Schema]) -> tuple[Schema, tuple[tuple[str, bool], ...]]:
    found = _query_loaders.get(schema)
    if found is None:
        s = schema(unknown=EXCLUDE)
        keys = tuple((field.data_key or name, isinstance(field, fields.List))
                     for name, field in s.fields.items())
        found = _query_loaders[schema] = (s, keys)
    return found


def _dumper(schema: type[Schema], many: bool) -> Schema:
    found = _dumpers.get((schema, many))
    if found is None:
        found = _dumpers[(schema, many)] = schema(many=many)
    return found


def load_query(schema: type[Schema]) -> dict[str, Any]:
    s, keys = _query_loader(schema)
    args = request.args
    raw: dict[str, Any] = {}
    for key, is_list in keys:
        if key in args:
            raw[key] = args.getlist(key) if is_list else args[key]
    try:
        return s.load(raw)
    except ValidationError as exc:
        raise Invalid("Some query parameters are not valid.", fields=exc.normalized_messages()) from exc


def load_body(schema: type[Schema]) -> dict[str, Any]:
    try:
        data = request.get_json(silent=True)
        if data is None:
            raise BadRequest("The request body must be JSON.")
        if not isinstance(data, dict):
            raise BadRequest("The request body must be a JSON object.")
        _check_text(data)
    except RecursionError:
        raise BadRequest("The request body is nested too deeply.") from None
    loader = _body_loaders.get(schema)
    if loader is None:
        loader = _body_loaders[schema] = schema(unknown=RAISE)
    try:
        return loader.load(data)
    except ValidationError as exc:
        raise Invalid("Some fields are not valid.", fields=_messages(exc)) from exc


def _check_text(data: Any) -> None:
    """Refuse text no field can hold, which JSON escapes can still spell: lone
    surrogates (``"\\ud800"``: not encodable as UTF-8, so neither stored nor answered)
    and NUL (``"\\u0000"``: PostgreSQL cannot store it in text)."""
    dumped = json.dumps(data, ensure_ascii=False)
    try:
        dumped.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("The request body is not valid Unicode text.") from None
    if "\\u0000" in dumped and _has_nul(data):   # the dump escapes NUL; confirm it
        raise BadRequest("The request body contains a NUL character (\\u0000), which no "
                         "field may hold.")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _messages(exc: ValidationError) -> dict[str, Any]:
    msgs = exc.normalized_messages()
    return msgs if isinstance(msgs, dict) else {"_schema": msgs}


def render(result: Any, spec: EndpointSpec) -> Response:
    if isinstance(result, Response):
        return result
    status = spec.status
    if isinstance(result, tuple):
        result, status = result
    if spec.response is None:
        payload = result
    elif isinstance(result, Page):
        payload = {"items": _dumper(spec.response, True).dump(result.items), "total": result.total,
                   "page": result.page, "per_page": result.per_page}
    else:
        payload = _dumper(spec.response, spec.many).dump(result)
    if status == 204:
        return Response(status=204)
    resp = jsonify(payload)
    resp.status_code = status
    return resp


def error_response(exc: DomainError) -> Response:
    resp = jsonify(exc.to_dict())
    resp.status_code = exc.status
    for k, v in exc.headers.items():
        resp.headers[k] = v
    return resp


# ------------------------------------------------------------- idempotency

def _request_fingerprint() -> str:
    body = request.get_data(cache=True) or b""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    h = hashlib.sha256()
    h.update(request.method.encode() + b" " + request.path.encode() + b"\n" + canonical)
    return h.hexdigest()


@functools.cache
def _store_statement(dialect: str) -> Any:
    """``INSERT … ON CONFLICT DO NOTHING RETURNING id`` for a key row and its answer,
    built once per dialect."""
    t = IdempotencyKey.__table__
    return (dialect_insert(dialect)(t).values(user_id=bindparam("u"), key=bindparam("k"),
                                              request_hash=bindparam("h"),
                                              created_at=bindparam("at"),
                                              status_code=bindparam("status"),
                                              response_body=bindparam("body"),
                                              response_headers=bindparam("headers"))
            .on_conflict_do_nothing(index_elements=["user_id", "key"]).returning(t.c.id))


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key and len(key) > 255:
        raise BadRequest("Idempotency-Key is longer than 255 characters.")
    return key or None


def _stored_answer(key: str, fingerprint: str) -> Response | None:
    """The stored first answer to ``key`` (409 if it answered another request)."""
    existing = g.session.connection().execute(
        _STORED_ANSWER, {"u": g.actor.id, "k": key}).first()
    if existing is None:
        return None
    if existing.request_hash != fingerprint:
        raise Conflict("This Idempotency-Key was used with a different request.",
                       code="idempotency_key_reused")
    if existing.status_code is None:
        raise Conflict("A request with this Idempotency-Key is still in progress.",
                       code="idempotency_in_progress")
    resp = Response(existing.response_body, status=existing.status_code,
                    mimetype="application/json")
    for k, v in (existing.response_headers or {}).items():
        resp.headers[k] = v
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


_STORED_ANSWER = (select(IdempotencyKey.__table__.c.request_hash,
                         IdempotencyKey.__table__.c.status_code,
                         IdempotencyKey.__table__.c.response_body,
                         IdempotencyKey.__table__.c.response_headers)
                  .where(IdempotencyKey.__table__.c.user_id == bindparam("u"),
                         IdempotencyKey.__table__.c.key == bindparam("k")))


def idempotency_begin() -> Response | None:
    """Answer a retried request with its stored first answer; otherwise note the
    request's ``Idempotency-Key`` for :func:`idempotency_store`.

    The key's row is written with the answer, in the request's own transaction, when
    the work is done — not claimed first, which on SQLite would take the write lock
    before the work's reads. Two copies of a request running at once settle there: the
    second's INSERT meets the first's row (on PostgreSQL it waits on the unique index
    until the first commits; on SQLite it runs after it under the write lock), rolls its
    own work back and answers with the first's answer; a copy that failed because its
    twin got there first (the unit is sold, …) answers the same way."""
    key = _idempotency_key()
    if key is None:
        return None
    fingerprint = _request_fingerprint()
    g.idempotency = (key, fingerprint)
    return _stored_answer(key, fingerprint)


def idempotency_replay_after_failure() -> Response | None:
    """After a failure: roll the request's work back and, if a twin with the same key
    has meanwhile stored its answer, return that answer."""
    noted = getattr(g, "idempotency", None)
    return None if noted is None else _twin_answer(*noted)


def _twin_answer(key: str, fingerprint: str) -> Response | None:
    """Roll this request's work back and return the answer a twin stored for ``key``
    (None if there is none); the unit of work then ends in rollback."""
    g.session.rollback()
    replay = _stored_answer(key, fingerprint)
    if replay is not None:
        g.rollback = True
    return replay


def idempotency_store(resp: Response) -> Response:
    """Write the key's row with the answer (``INSERT … ON CONFLICT DO NOTHING``); if a
    twin stored one first, roll this request's work back and return the twin's answer."""
    noted = getattr(g, "idempotency", None)
    if noted is None or resp.status_code >= 400:
        # Failed requests are not remembered: nothing was written, a retry may succeed.
        return resp
    key, fingerprint = noted
    conn = g.session.connection()
    stored = conn.execute(_store_statement(conn.dialect.name), {
        "u": g.actor.id, "k": key, "h": fingerprint, "at": utcnow(),
        "status": resp.status_code, "body": resp.get_data(as_text=True),
        "headers": {k: v for k, v in resp.headers.items() if k.lower() == "location"},
    }).scalar()
    if stored is not None:
        return resp
    replay = _twin_answer(key, fingerprint)
    if replay is None:   # the twin's row went away (it cannot, short of a purge): retryable
        raise Conflict("A request with this Idempotency-Key is still in progress.",
                       code="idempotency_in_progress")
    return replay


def handler_body(view: Callable[..., Any]) -> Callable[..., Any]:
    """The function an ``endpoint`` declaration wraps, without its parsing, permission
    declaration and rendering: called with already-loaded ``args``/``data`` it returns
    model objects or a :class:`Page`, never a Response. The web screens call it so that
    a listing's filters and an admin rule are written once, in the API handler; the
    screen's own route still declares and checks its permission."""
    body = getattr(view, "__wrapped__", None)
    if body is None or not hasattr(view, "_cd_endpoint"):
        raise TypeError(f"{view!r} is not an endpoint-declared API view")
    return body
