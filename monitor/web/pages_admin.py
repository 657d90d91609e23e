"""Administration: users (add, disable, enable, new password) and the audit trail."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from starlette.responses import RedirectResponse, Response

from . import audit
from .accounts import AccountError
from .framework import Ctx, Problem, page
from ..storage.workbench import ROLES


@page("users")
def users(ctx: Ctx) -> Response:
    """GET /admin/users."""
    return ctx.render("users.html", rows=ctx.web.accounts.all(), roles=ROLES, error=ctx.param("error"),
                      departments=[d.name for d in ctx.web.directory.departments])


@page("users")
def change_user(ctx: Ctx) -> Response:
    """POST /admin/users: add, disable, enable or set a password."""
    action, name = ctx.param("action"), ctx.param("name", limit=64)
    accounts = ctx.web.accounts
    try:
        if action == "add":
            dept = ctx.param("department")
            if dept and ctx.web.directory.department(dept) is None:
                raise AccountError(f"없는 부서: {dept}")
            accounts.add(name, ctx.param("role"), ctx.param("password", limit=256), (dept,) if dept else ())
            ctx.audit("user.added", name, ctx.param("role"))
        elif action in ("disable", "enable"):
            assert ctx.user is not None
            if name == ctx.user.name:
                raise AccountError("자기 계정은 사용 중지할 수 없습니다")
            accounts.set_disabled(name, action == "disable")
            ctx.audit(f"user.{action}d", name)
        elif action == "password":
            accounts.set_password(name, ctx.param("password", limit=256))
            ctx.audit("user.password", name)
        else:
            raise Problem(400, "알 수 없는 작업입니다.")
    except AccountError as exc:
        return RedirectResponse("/admin/users?" + urlencode({"error": str(exc)[:190]}), status_code=303)
    return RedirectResponse("/admin/users", status_code=303)


@page("audit")
def audit_page(ctx: Ctx) -> Response:
    """GET /admin/audit."""
    days = ctx.param("days", "7") or "7"
    if not days.isdigit() or not 1 <= int(days) <= 3660:
        raise Problem(400, "기간은 1일부터 3660일까지입니다.")
    action = ctx.param("action")
    if action and action not in audit.ACTIONS:
        raise Problem(400, "알 수 없는 기록 종류입니다.")
    number = ctx.page_number()
    size = ctx.web.settings.web.page_size
    since = (dt.datetime.now() - dt.timedelta(days=int(days))).timestamp()
    found = audit.rows(ctx.web.engine, since, ctx.param("actor", limit=64) or None, action or None,
                       limit=size + 1, offset=(number - 1) * size)
    given = {k: ctx.param(k) for k in ("days", "actor", "action") if ctx.param(k)}
    return ctx.render("audit.html", rows=found[:size], more=len(found) > size, number=number, actions=audit.ACTIONS,
                      given=given, link=lambda n: "/admin/audit?" + urlencode(dict(given, page=n)))
