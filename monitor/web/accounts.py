"""Accounts and roles of the workbench: who may log in, what each role may do, and login lock-out.

Roles (the issue's words): ``admin`` manages users and reads the audit trail;
``compliance`` sees everything, downloads reports and may unmask a caller's
number with a stated reason; ``supervisor`` sees the calls and reviews of their
own departments only; ``reviewer`` works the review queue (listening and
deciding, any department). Passwords are hashed with Argon2id (argon2-cffi).
Wrong passwords in a row lock the account for a while, doubling each time.
"""
from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass
from typing import Any, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..storage.workbench import ROLES, USERS
from ..errors import TelmonError

PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"users", "audit"}),
    "compliance": frozenset({"calls", "review", "listen", "reports", "unmask", "audit"}),
    "supervisor": frozenset({"calls", "review", "listen"}),
    "reviewer": frozenset({"review", "listen"}),
}
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so a wrong name takes as long as a wrong password.

    Made on first use, not at import: every ``telmon`` command imports this module, and one
    Argon2id hash costs ~0.2 s and 64 MiB.
    """
    return _HASHER.hash("telmon-no-such-user")


class AccountError(TelmonError, ValueError):
    """An account operation that cannot be done; the message says why (in English, for the CLI)."""


@dataclass(frozen=True)
class User:
    """A logged-in person as the pages see them."""

    id: int
    name: str
    role: str
    departments: tuple[str, ...]
    epoch: int
    disabled: bool = False

    def can(self, permission: str) -> bool:
        """Whether the role grants ``permission``."""
        return permission in PERMISSIONS.get(self.role, frozenset())

    def sees_department(self, department: Optional[str]) -> bool:
        """Supervisors see their own departments only; the other roles with calls see all."""
        return self.role != "supervisor" or (department is not None and department in self.departments)

    @property
    def home(self) -> str:
        """The first page after login."""
        return {"admin": "/admin/users", "reviewer": "/review"}.get(self.role, "/calls")


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to."""

    user: Optional[User]
    reason: str            # "ok", "bad", "locked", "disabled"
    just_locked: bool = False
    locked_until: Optional[float] = None


def _user(row: Any) -> User:
    return User(row.id, row.name, row.role, tuple(json.loads(row.departments or "[]")), row.session_epoch,
                bool(row.disabled))


class Accounts:
    """Users in the database (table ``users``)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.table = USERS

    def add(self, name: str, role: str, password: str, departments: tuple[str, ...] = ()) -> User:
        """Create an account; AccountError for a taken name, an unknown role or a short password."""
        name = name.strip()
        if not name or len(name) > 64:
            raise AccountError("a user name is 1 to 64 characters")
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r} (choose from {', '.join(ROLES)})")
        if role == "supervisor" and not departments:
            raise AccountError("a supervisor needs at least one department (--department)")
        check_password(password)
        try:
            with self.engine.begin() as conn:
                conn.execute(self.table.insert().values(
                    name=name, role=role, departments=json.dumps(list(departments), ensure_ascii=False),
                    password_hash=_HASHER.hash(password), disabled=False, created_at=time.time(), failed_logins=0,
                    locked_until=None, session_epoch=0))
        except IntegrityError:
            raise AccountError(f"user {name!r} exists already") from None
        found = self.by_name(name)
        assert found is not None
        return found

    def by_name(self, name: str) -> Optional[User]:
        """The account called ``name``."""
        with self.engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.name == name)).first()
        return _user(row) if row is not None else None

    def by_id(self, user_id: int) -> Optional[User]:
        """The account with this id (sessions carry it)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(self.table).where(self.table.c.id == user_id)).first()
        return _user(row) if row is not None else None

    def all(self) -> list[Any]:
        """Every account's row, by name."""
        with self.engine.connect() as conn:
            return list(conn.execute(select(self.table).order_by(self.table.c.name)))

    def _set(self, name: str, **values: Any) -> User:
        with self.engine.begin() as conn:
            done = conn.execute(update(self.table).where(self.table.c.name == name).values(**values)).rowcount
        if not done:
            raise AccountError(f"no user {name!r}")
        found = self.by_name(name)
        assert found is not None
        return found

    def set_password(self, name: str, password: str) -> User:
        """A new password; ends the account's sessions and lifts a lock."""
        check_password(password)
        user = self.by_name(name)
        if user is None:
            raise AccountError(f"no user {name!r}")
        return self._set(name, password_hash=_HASHER.hash(password), session_epoch=user.epoch + 1,
                         failed_logins=0, locked_until=None)

    def set_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable (or enable again) an account; disabling ends its sessions at once."""
        user = self.by_name(name)
        if user is None:
            raise AccountError(f"no user {name!r}")
        return self._set(name, disabled=disabled, session_epoch=user.epoch + 1)

    def end_sessions(self, user: User) -> None:
        """Log the account out everywhere (logout: the signed cookies of this epoch are void)."""
        self._set(user.name, session_epoch=user.epoch + 1)

    def authenticate(self, name: str, password: str, lock_after: int, lock_minutes: float,
                     now: Optional[float] = None) -> LoginResult:
        """Check a password, counting failures and locking the account after ``lock_after`` in a row."""
        now = time.time() if now is None else now
        with self.engine.begin() as conn:
            row = conn.execute(select(self.table).where(self.table.c.name == name)).first()
            if row is None:
                _verify(_dummy_hash(), password)
                return LoginResult(None, "bad")
            if row.locked_until is not None and row.locked_until > now:
                return LoginResult(None, "locked", locked_until=row.locked_until)
            if not _verify(row.password_hash, password):
                failures = row.failed_logins + 1
                values: dict[str, Any] = {"failed_logins": failures}
                locked = failures % lock_after == 0
                if locked:
                    values["locked_until"] = now + lock_minutes * 60 * 2 ** (failures // lock_after - 1)
                conn.execute(update(self.table).where(self.table.c.id == row.id).values(**values))
                return LoginResult(None, "bad", just_locked=locked, locked_until=values.get("locked_until"))
            if row.disabled:
                return LoginResult(None, "disabled")
            conn.execute(update(self.table).where(self.table.c.id == row.id)
                         .values(failed_logins=0, locked_until=None))
            return LoginResult(_user(row), "ok")


def _verify(hashed: str, password: str) -> bool:
    try:
        return _HASHER.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str) -> None:
    """At least MIN_PASSWORD characters, not all one character."""
    if len(password) < MIN_PASSWORD or len(set(password)) < 4:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters, not all alike")
