"""What every page shares: the session and user of a request, permissions, CSRF, audit rows, rendering.

A page is a plain function ``fn(ctx) -> Response`` run in a worker thread (the
database is SQLAlchemy's synchronous API), wrapped by :func:`page`, which
refuses before the function runs: no session → the login page; a role without
the permission → 403 and an audit row; a POST whose CSRF token is missing or
wrong → 403. Bad parameters raise :class:`Problem` (a Korean error page with
the right status, never a traceback).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from . import audit
from .accounts import Accounts, User
from .session import COOKIE, AddressLimiter, Session, Sessions, same_token
from ..errors import TelmonError

log = logging.getLogger("telmon.web")
MAX_PARAM = 200          # characters in one query or form field (a note may be longer: MAX_NOTE)
MAX_NOTE = 2000
MAX_PAGE = 100_000


class Problem(TelmonError):
    """A request that cannot be served: status and a Korean message for the error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Web:
    """The application's shared parts."""

    settings: Any
    directory: Any
    store: Any
    accounts: Accounts
    sessions: Sessions
    templates: Any
    limiter: AddressLimiter = field(default_factory=AddressLimiter)

    @property
    def engine(self) -> Any:
        """The SQLAlchemy engine of the call database."""
        return self.store.engine


@dataclass
class Ctx:
    """One request as a page sees it."""

    request: Request
    web: Web
    session: Session
    user: Optional[User]
    form: Optional[FormData]
    new_cookie: bool = False

    @property
    def address(self) -> str:
        """The client's address (behind the reverse proxy: uvicorn's --forwarded-allow-ips sets it)."""
        return self.request.client.host if self.request.client else ""

    def param(self, name: str, default: str = "", limit: int = MAX_PARAM) -> str:
        """A query (GET) or form (POST) field, stripped; 400 when it is too long."""
        source: Any = self.form if self.form is not None and name in self.form else self.request.query_params
        value = source.get(name, default)
        if not isinstance(value, str):
            raise Problem(400, f"'{name}' 값은 글자여야 합니다.")
        if len(value) > limit:
            raise Problem(400, f"'{name}' 값이 너무 깁니다 ({limit}자까지).")
        return value.strip()

    def page_number(self) -> int:
        """``page`` (1 ... MAX_PAGE)."""
        text = self.param("page", "1") or "1"
        if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE:
            raise Problem(400, f"쪽 번호는 1부터 {MAX_PAGE:,}까지입니다.")
        return int(text)

    def audit(self, action: str, target: str = "", reason: str = "") -> None:
        """Append an audit row for this request's user."""
        who = self.user.name if self.user else (self.param("name", limit=64) if self.form else "") or "-"
        audit.record(self.web.engine, who, self.user.role if self.user else "-", action, target, reason,
                     self.address)

    def deny(self, target: str, message: str = "이 자료를 볼 권한이 없습니다.") -> Problem:
        """A 403, audited; ``raise ctx.deny(...)``."""
        self.audit("access.denied", target)
        return Problem(403, message)

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        """A page from ``templates/`` with the user, the CSRF token and the navigation."""
        context.update(user=self.user, csrf=self.session.csrf, now=dt.datetime.now())
        response = self.web.templates.TemplateResponse(self.request, template, context, status_code=status)
        self.keep_cookie(response)
        return response

    def keep_cookie(self, response: Response) -> None:
        """Send the cookie when this request made a new session."""
        if self.new_cookie:
            self.web.sessions.set_cookie(response, self.session)


def page(permission: Optional[str] = None, login: bool = True) -> Callable[[Callable[[Ctx], Response]], Any]:
    """Wrap ``fn(ctx)`` as an endpoint with the checks of the module's docstring."""
    def wrap(fn: Callable[[Ctx], Response]) -> Any:
        async def endpoint(request: Request) -> Response:
            form = None
            if request.method == "POST":
                form = await request.form(max_files=0, max_fields=20, max_part_size=64 * 1024)
            return await run_in_threadpool(_handle, request, form, fn, permission, login)
        endpoint.__name__ = fn.__name__
        endpoint.__doc__ = fn.__doc__
        return endpoint
    return wrap


def _handle(request: Request, form: Optional[FormData], fn: Callable[[Ctx], Response], permission: Optional[str],
            login: bool) -> Response:
    web: Web = request.app.state.web
    session = web.sessions.read(request.cookies.get(COOKIE))
    new = session is None
    user = None
    if session is not None and session.user_id is not None:
        found = web.accounts.by_id(session.user_id)
        if found is not None and not found.disabled and found.epoch == session.epoch:
            user = found
        else:
            session, new = None, True   # logged out elsewhere, disabled, or a new password: log in again
    if session is None:
        session = web.sessions.new()
    ctx = Ctx(request, web, session, user, form, new)
    if login and user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response: Response = RedirectResponse(f"/login?next={quote(target[:500], safe='')}", status_code=303)
        ctx.keep_cookie(response)
        return response
    token = form.get("csrf") if form is not None else None
    if form is not None and not same_token(session.csrf, token if isinstance(token, str) else None):
        if user is not None:
            ctx.audit("access.denied", f"{request.method} {request.url.path}", "CSRF token missing or wrong")
        raise Problem(403, "보안 토큰이 없거나 맞지 않습니다. 페이지를 새로 열어 다시 시도하세요.")
    if permission is not None and (user is None or not user.can(permission)):
        raise ctx.deny(request.url.path, "이 역할로는 이 페이지를 쓸 수 없습니다.")
    return fn(ctx)
