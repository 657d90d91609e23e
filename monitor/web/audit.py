"""The audit trail: every recording played, transcript opened, number unmasked, report downloaded,
review decided, login and refusal is one row (who, what, when, from where, why).

The application only ever inserts (``audit_log`` refuses UPDATE and DELETE by
trigger, migration 0003_workbench). ``telmon audit --since`` prints it; admins
and the compliance officer have a page.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from typing import Any, Optional, TextIO

from sqlalchemy import select

from ..storage.workbench import AUDIT

ACTIONS = {
    "login": "로그인", "login.failed": "로그인 실패", "login.locked": "계정 잠김", "login.refused": "로그인 거부",
    "logout": "로그아웃", "recording.played": "녹음 재생", "transcript.opened": "전사 열람",
    "number.unmasked": "번호 전체 보기", "report.downloaded": "보고서 내려받기", "review.decided": "검토 결정",
    "access.denied": "접근 거부", "user.added": "사용자 추가", "user.disabled": "사용자 사용 중지",
    "user.enabled": "사용자 다시 사용", "user.password": "암호 변경",
}


def record(engine: Any, actor: str, role: str, action: str, target: str = "", reason: str = "",
           address: str = "", now: Optional[float] = None) -> None:
    """Append one row (its own transaction: a refusal is kept even when the page then fails)."""
    table = AUDIT
    with engine.begin() as conn:
        conn.execute(table.insert().values(at=time.time() if now is None else now, actor=actor[:64], role=role[:16],
                                           action=action[:32], target=target, reason=reason,
                                           address=address[:64]))


def rows(engine: Any, since: Optional[float] = None, actor: Optional[str] = None, action: Optional[str] = None,
         limit: int = 1000, offset: int = 0) -> list[Any]:
    """Audit rows, newest first."""
    table = AUDIT
    query = select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit).offset(offset)
    if since is not None:
        query = query.where(table.c.at >= since)
    if actor:
        query = query.where(table.c.actor == actor)
    if action:
        query = query.where(table.c.action == action)
    with engine.connect() as conn:
        return list(conn.execute(query))


def clock(ts: float) -> str:
    """Local time as the office reads it."""
    return dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def print_rows(found: list[Any], as_json: bool, out: TextIO) -> None:
    """``telmon audit`` output: a table, or one JSON object per row."""
    for r in reversed(found):   # oldest first on a terminal
        if as_json:
            print(json.dumps({"at": r.at, "actor": r.actor, "role": r.role, "action": r.action, "target": r.target,
                              "reason": r.reason, "address": r.address}, ensure_ascii=False), file=out)
        else:
            print(f"{clock(r.at)}  {r.actor:12} {r.role:10} {r.action:18} {r.target}"
                  + (f"  reason: {r.reason}" if r.reason else "") + (f"  from {r.address}" if r.address else ""),
                  file=out)


def run(args: argparse.Namespace, engine: Any, since: float, out: TextIO = sys.stdout) -> int:
    """The ``telmon audit`` command."""
    if args.action and args.action not in ACTIONS:
        print(f"telmon audit: unknown action {args.action!r} (known: {', '.join(ACTIONS)})", file=sys.stderr)
        return 2
    print_rows(rows(engine, since, args.actor, args.action, limit=1_000_000), args.json, out)
    return 0
