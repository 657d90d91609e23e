"""Sessions and CSRF tokens in one signed cookie; login attempts limited per address.

The cookie (HttpOnly, SameSite=Strict, Secure when ``[web] secure_cookies``)
holds the user id, the account's session epoch and a random CSRF token, signed
with a key telmon keeps in the database (``web_secrets``), so every ``telmon
web`` process accepts the others' cookies and a restart logs nobody out. A
cookie older than ``[web] session_hours``, with a bad signature, or of an
epoch the account has left (logout, new password, disabled) is no session.
An anonymous visitor gets a cookie with a CSRF token only, for the login form.
"""
from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Optional

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..storage.workbench import SECRETS

COOKIE = "telmon_session"


def signing_key(engine: Any) -> str:
    """The cookie signing key, made once per database (the first process to ask wins a race)."""
    table = SECRETS
    for _ in range(2):
        with engine.connect() as conn:
            value = conn.scalar(select(table.c.value).where(table.c.name == "cookie"))
        if value:
            return str(value)
        try:
            with engine.begin() as conn:
                conn.execute(table.insert().values(name="cookie", value=secrets.token_urlsafe(48)))
        except IntegrityError:
            pass   # another process made it first: read theirs
    raise RuntimeError("cannot create the cookie signing key")


@dataclass(frozen=True)
class Session:
    """What a request's cookie says: who (if anyone) and the CSRF token of its forms."""

    user_id: Optional[int]
    epoch: int
    csrf: str


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, key: str, max_age_seconds: float, secure: bool) -> None:
        self.signer = URLSafeTimedSerializer(key, salt="telmon-session")
        self.max_age = int(max_age_seconds)
        self.secure = secure

    def read(self, cookie: Optional[str]) -> Optional[Session]:
        """The session in a cookie, or None when it is missing, forged, malformed or expired."""
        if not cookie or len(cookie) > 4096:
            return None
        try:
            data = self.signer.loads(cookie, max_age=self.max_age)
        except BadSignature:   # SignatureExpired is a BadSignature
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        uid, epoch = data.get("u"), data.get("e", 0)
        if uid is not None and not (isinstance(uid, int) and isinstance(epoch, int)):
            return None
        return Session(uid, epoch if isinstance(epoch, int) else 0, data["c"])

    def new(self, user_id: Optional[int] = None, epoch: int = 0) -> Session:
        """A fresh session (a new CSRF token: logging in never keeps the anonymous one)."""
        return Session(user_id, epoch, secrets.token_urlsafe(24))

    def set_cookie(self, response: Any, session: Session) -> None:
        """Write ``session`` into the response's cookie."""
        value = self.signer.dumps({"u": session.user_id, "e": session.epoch, "c": session.csrf})
        response.set_cookie(COOKIE, value, max_age=self.max_age, httponly=True, samesite="strict",
                            secure=self.secure, path="/")


def same_token(expected: str, given: Optional[str]) -> bool:
    """Constant-time comparison of CSRF tokens."""
    return bool(given) and secrets.compare_digest(expected.encode(), str(given).encode())


class AddressLimiter:
    """Failed logins per client address: beyond ``limit`` within ``window`` seconds, refuse to try."""

    def __init__(self, limit: int = 20, window: float = 600.0) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        q = self._failures.setdefault(address, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, address: str, now: Optional[float] = None) -> bool:
        """Whether this address has failed too often lately."""
        with self._lock:
            return len(self._recent(address, time.time() if now is None else now)) >= self.limit

    def failed(self, address: str, now: Optional[float] = None) -> None:
        """Count one failed login from ``address``."""
        now = time.time() if now is None else now
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._failures) > 10_000:   # bounded memory under a spray of addresses
                for key in [k for k, q in self._failures.items() if not q][:5000]:
                    del self._failures[key]
