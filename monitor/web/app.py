"""The workbench's ASGI application: routes, error pages, security headers, templates.

Every error is a Korean page with the right status and never a traceback: a
bad parameter 400, no permission 403, nothing there 404, the database
unreachable 503 (the engine pings its connections, so the app recovers by
itself when the database is back), anything else 500 (logged with the stack).
"""
from __future__ import annotations

import logging
from importlib import resources
from typing import Any

import jinja2
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Receive, Scope, Send

from ..storage.store import StorageError
from . import pages_admin, pages_auth, pages_calls, pages_reports, pages_review
from .accounts import Accounts
from .framework import Problem, Web
from .labels import filters
from .session import Sessions, signing_key

log = logging.getLogger("telmon.web")
MAX_QUERY = 2048      # bytes of query string; far beyond any form of the workbench
HEADERS = [(b"content-security-policy", b"default-src 'self'; img-src 'self' data:; object-src 'none'; "
            b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
           (b"x-frame-options", b"DENY")]
TITLES = {400: "요청이 올바르지 않습니다", 401: "로그인이 필요합니다", 403: "권한이 없습니다", 404: "찾을 수 없습니다",
          405: "허용되지 않는 요청입니다", 409: "이미 처리되었습니다", 413: "요청이 너무 큽니다",
          429: "요청이 너무 많습니다", 500: "서버 오류", 503: "데이터베이스에 연결할 수 없습니다"}


class Guard:
    """ASGI middleware: refuse huge query strings before routing; security headers on every reply."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY or len(scope.get("raw_path", b"")) > MAX_QUERY:
            response = HTMLResponse(_page(400, f"주소가 너무 깁니다({MAX_QUERY}바이트까지)."), status_code=400)
            await response(scope, receive, self._headers(send))
            return
        await self.app(scope, receive, self._headers(send))

    @staticmethod
    def _headers(send: Send) -> Send:
        async def wrapped(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k for k, _ in headers}
                headers += [(k, v) for k, v in HEADERS if k not in names]
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))   # pages hold personal data
                message = dict(message, headers=headers)
            await send(message)
        return wrapped


def _page(status: int, message: str) -> str:
    """A bare error page, for when templates are not at hand (the middleware)."""
    title = TITLES.get(status, "오류")
    return (f'<!doctype html><html lang="ko"><meta charset="utf-8"><title>{title}</title>'
            f'<link rel="stylesheet" href="/static/style.css"><main class="error"><h1>{title}</h1>'
            f'<p>{message}</p><p><a href="/">처음으로</a></p></main></html>')


def _error(request: Request, status: int, message: str) -> Response:
    templates = request.app.state.web.templates
    return templates.TemplateResponse(request, "error.html", {"status": status, "title": TITLES.get(status, "오류"),
                                                              "message": message, "user": None},
                                      status_code=status)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    return _error(request, exc.status, exc.message)


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(request, exc.status_code, {404: "그런 페이지가 없습니다.", 405: "이 주소는 그렇게 쓸 수 없습니다."}
                  .get(exc.status_code, TITLES.get(exc.status_code, "오류")))


async def _database(request: Request, exc: Exception) -> Response:
    log.error("database error on %s: %s", request.url.path, str(exc).splitlines()[0] if str(exc) else exc)
    return _error(request, 503, "데이터베이스가 응답하지 않습니다. 잠시 뒤에 다시 시도하세요. "
                  "계속되면 관리자에게 알려 주세요.")


async def _crash(request: Request, exc: Exception) -> Response:
    log.exception("error on %s", request.url.path, exc_info=exc)
    return HTMLResponse(_page(500, "처리하는 중 오류가 났습니다. 관리자에게 알려 주세요."), status_code=500)


def templates() -> Jinja2Templates:
    """The Korean page templates with telmon's filters."""
    env = jinja2.Environment(loader=jinja2.PackageLoader("monitor.web", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(filters())
    return Jinja2Templates(env=env)


def create_app(settings: Any, directory: Any, store: Any) -> Starlette:
    """The workbench on ``store`` (the database ``telmon run`` writes)."""
    sessions = Sessions(signing_key(store.engine), settings.web.session_hours * 3600, settings.web.secure_cookies)
    web = Web(settings, directory, store, Accounts(store.engine), sessions, templates())
    static = str(resources.files("monitor.web") / "static")
    routes = [
        Route("/", pages_auth.home), Route("/login", pages_auth.login_form), Route("/login", pages_auth.login,
                                                                                    methods=["POST"]),
        Route("/logout", pages_auth.logout, methods=["POST"]),
        Route("/review", pages_review.queue),
        Route("/review/{linkedid}/{rule}", pages_review.show),
        Route("/review/{linkedid}/{rule}", pages_review.decide_page, methods=["POST"]),
        Route("/recordings/{name:path}", pages_review.recording),
        Route("/calls", pages_calls.calls), Route("/calls/{linkedid}", pages_calls.journey),
        Route("/calls/{linkedid}/unmask", pages_calls.unmask, methods=["POST"]),
        Route("/reports", pages_reports.form), Route("/reports", pages_reports.download, methods=["POST"]),
        Route("/admin/users", pages_admin.users), Route("/admin/users", pages_admin.change_user, methods=["POST"]),
        Route("/admin/audit", pages_admin.audit_page),
        Mount("/static", StaticFiles(directory=static), name="static"),
    ]
    handlers: dict[Any, Any] = {Problem: _problem, HTTPException: _http, DBAPIError: _database,
                                SQLAlchemyError: _database, StorageError: _database, Exception: _crash}
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.web = web
    app.add_middleware(Guard)
    return app
