"""Logging in and out.

Failed logins count per account (locked after ``[web] lock_after`` in a row,
audited as ``login.locked``) and per client address (refused with 429 beyond
20 in 10 minutes), and are all audited. The reply to a wrong name and to a
wrong password is the same.
"""
from __future__ import annotations

from starlette.responses import RedirectResponse, Response

from .framework import Ctx, Problem, page

LOGIN_FAILED = "이름이나 암호가 맞지 않습니다."


def _safe_next(target: str) -> str:
    # Only a path of this site: never an absolute URL a phishing link could pass in.
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else ""


@page(login=False)
def login_form(ctx: Ctx) -> Response:
    """GET /login."""
    if ctx.user is not None:
        return RedirectResponse(ctx.user.home, status_code=303)
    return ctx.render("login.html", next=_safe_next(ctx.param("next", limit=500)), error="")


@page(login=False)
def login(ctx: Ctx) -> Response:
    """POST /login."""
    web = ctx.web
    name, password = ctx.param("name", limit=64), ctx.param("password", limit=256)
    target = _safe_next(ctx.param("next", limit=500))
    if web.limiter.blocked(ctx.address):
        ctx.audit("login.refused", name, "too many failed logins from this address")
        raise Problem(429, "이 주소에서 로그인 실패가 너무 많습니다. 10분 뒤에 다시 시도하세요.")
    s = web.settings.web
    result = web.accounts.authenticate(name, password, s.lock_after, s.lock_minutes)
    if result.user is None:
        web.limiter.failed(ctx.address)
        if result.reason == "locked":
            ctx.audit("login.refused", name, "account locked")
            message = "로그인 실패가 반복되어 계정이 잠겼습니다. 잠시 뒤에 다시 시도하거나 관리자에게 문의하세요."
        elif result.reason == "disabled":
            ctx.audit("login.refused", name, "account disabled")
            message = LOGIN_FAILED
        else:
            ctx.audit("login.failed", name)
            message = LOGIN_FAILED
            if result.just_locked:
                ctx.audit("login.locked", name, f"{s.lock_after} wrong passwords in a row")
        return ctx.render("login.html", status=401, next=target, error=message)
    user = result.user
    ctx.user = user
    ctx.session = web.sessions.new(user.id, user.epoch)
    ctx.new_cookie = True
    ctx.audit("login")
    response = RedirectResponse(target or user.home, status_code=303)
    ctx.keep_cookie(response)
    return response


@page()
def logout(ctx: Ctx) -> Response:
    """POST /logout: every session of the account ends."""
    assert ctx.user is not None
    ctx.audit("logout")
    ctx.web.accounts.end_sessions(ctx.user)
    ctx.user, ctx.session, ctx.new_cookie = None, ctx.web.sessions.new(), True
    response = RedirectResponse("/login", status_code=303)
    ctx.keep_cookie(response)
    return response


@page()
def home(ctx: Ctx) -> Response:
    """GET /: the role's first page."""
    assert ctx.user is not None
    return RedirectResponse(ctx.user.home, status_code=303)
