"""Doctor checks of what telmon talks to: the AMI account, manager.conf, FastAGI and /metrics."""
from __future__ import annotations

import asyncio
import configparser
import re
import socket
import urllib.request
from pathlib import Path

from ..live.ami_client import AmiError, AmiSession, LoginFailed
from ..settings import Settings
from . import FAIL, OK, WARN, Check

READ_CLASSES = ("call", "agent", "system", "dialplan")   # what the tracker reads (asterisk_conf/manager.conf)
WRITE_OK = {"reporting", ""}                               # CoreShowChannels after a reconnect, nothing more


async def _ami(settings: Settings, timeout: float) -> list[Check]:
    ami = settings.ami
    where = f"{ami.host}:{ami.port}"
    try:
        session = await AmiSession.open(ami.host, ami.port, ami.username, ami.secret, timeout=timeout)
    except LoginFailed:
        return [Check("AMI login", FAIL, f"Asterisk at {where} refused the login as {ami.username!r}",
                      f"give telmon the secret of the [{ami.username}] section of manager.conf "
                      "(TELMON_AMI_SECRET or the secret file) and permit this host in that section")]
    except AmiError as exc:
        return [Check("AMI login", FAIL, str(exc),
                      "start Asterisk, or set [ami] host/port to where manager.conf [general] binds (enabled = yes)")]
    checks = [Check("AMI login", OK, f"logged in to {where} as {ami.username!r} ({session.banner})")]
    try:
        checks += await _ami_session(session, timeout)
    finally:
        session.close()
    return checks


async def _ami_session(session: AmiSession, timeout: float) -> list[Check]:
    # The FullyBooted sent right after a login is written to the session directly and carries
    # no Timestamp even with timestampevents on: only events of the event bus (any call,
    # queue or system event) tell whether timestamps are on.
    booted = listed = None
    stamped: list[bool] = []
    action = await session.send("CoreShowChannels")

    async def read() -> None:
        nonlocal booted, listed
        async for msg in session.messages():
            name = msg.get("Event")
            if name == "FullyBooted" and booted is None:
                booted = msg
            elif msg.get("ActionID") == action:
                if "Response" in msg:
                    listed = msg
            elif name:
                stamped.append("Timestamp" in msg)
            if booted is not None and listed is not None and stamped:
                return
    try:
        await asyncio.wait_for(read(), timeout)
    except (asyncio.TimeoutError, AmiError):
        pass
    checks = []
    if booted is None:
        checks.append(Check("AMI events", FAIL, "no FullyBooted event after the login: the account reads no "
                            "'system' events", "read = " + ",".join(READ_CLASSES) + " in manager.conf"))
    if not stamped:
        checks.append(Check("AMI timestamps", WARN, f"no event in {timeout:g} s to tell (an idle PBX): "
                            "manager.conf [general] decides", "timestampevents = yes in manager.conf [general]"))
    elif not all(stamped):
        checks.append(Check("AMI timestamps", FAIL, "events carry no Timestamp: header (telmon's only clock)",
                            "timestampevents = yes in manager.conf [general], then 'manager reload'"))
    else:
        checks.append(Check("AMI timestamps", OK, "events carry Timestamp:"))
    if listed is None or listed.get("Response") != "Success":
        why = listed.get("Message", "no answer") if listed is not None else "no answer"
        checks.append(Check("AMI CoreShowChannels", FAIL, f"refused ({why}): calls spanning a reconnect "
                            "cannot be settled", "write = reporting in the account's manager.conf section"))
    else:
        checks.append(Check("AMI CoreShowChannels", OK, "allowed (calls spanning a reconnect are settled)"))
    return checks


def check_ami(settings: Settings, timeout: float = 3.0) -> list[Check]:
    """Login, timestampevents, and the one action telmon sends."""
    return asyncio.run(_ami(settings, timeout))


def check_manager_conf(path: Path, username: str) -> list[Check]:
    """The account's read/write classes and event filters, read from manager.conf where this host can."""
    item = f"manager.conf [{username}]"
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return [Check(item, WARN, f"cannot read {path} ({exc.strerror}): classes and filters unchecked",
                      "run the doctor on the PBX host as a user that can read it, or pass --manager-conf")]
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",),
                                       comment_prefixes=(";",), inline_comment_prefixes=(";",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys such as eventfilter(...) keep case
    try:
        parser.read_string(re.sub(r"^\s*#.*$", "", text, flags=re.M))   # #include lines are Asterisk's, not ours
    except configparser.Error as exc:
        return [Check(item, WARN, f"{path} could not be parsed ({exc.__class__.__name__})", "")]
    if not parser.has_section(username):
        return [Check(item, FAIL, f"no [{username}] section in {path}",
                      "paste the [telmon] section of asterisk_conf/manager.conf, then 'manager reload'")]
    section = parser[username]
    checks = []
    read = {c.strip() for c in section.get("read", "").split(",")}
    missing = [c for c in READ_CLASSES if c not in read and "all" not in read]
    if missing:
        checks.append(Check(f"{item} read", FAIL, "cannot read " + ", ".join(missing),
                            "read = " + ",".join(READ_CLASSES)))
    else:
        checks.append(Check(f"{item} read", OK, ",".join(sorted(read))))
    write = {c.strip() for c in section.get("write", "").split(",")}
    if write - WRITE_OK:
        checks.append(Check(f"{item} write", WARN, "may change calls: " + ",".join(sorted(write - WRITE_OK)),
                            "write = reporting (telmon only lists channels)"))
    filters = [k for k in section if k.startswith("eventfilter")]
    if not filters:
        checks.append(Check(f"{item} filters", WARN, "no eventfilter: Asterisk sends ~80 % noise to telmon",
                            "copy the eventfilter lines of asterisk_conf/manager.conf"))
    else:
        checks.append(Check(f"{item} filters", OK, f"{len(filters)} event filters"))
    general = parser["general"] if parser.has_section("general") else {}
    if str(general.get("timestampevents", "no")).strip().lower() not in ("yes", "true", "1", "on"):
        checks.append(Check("manager.conf [general]", FAIL, "timestampevents is not on",
                            "timestampevents = yes in manager.conf [general]"))
    return checks


def check_fastagi(settings: Settings, timeout: float = 3.0) -> Check:
    """Whether the FastAGI service of ``telmon run`` accepts connections (Asterisk's dialplan calls it)."""
    agi = settings.agi
    if agi.port == 0:
        return Check("FastAGI", WARN, "switched off ([agi] port = 0): no greeting check", "set [agi] port")
    try:
        with socket.create_connection((agi.host, agi.port), timeout=timeout):
            pass
    except OSError as exc:
        return Check("FastAGI", FAIL, f"nothing accepts connections at {agi.host}:{agi.port} ({exc.strerror or exc})",
                     "start telmon run (systemctl start telmon) and point the dialplan's AGI() at this address")
    return Check("FastAGI", OK, f"listening at {agi.host}:{agi.port}")


def check_metrics(settings: Settings, timeout: float = 3.0) -> Check:
    """Whether Prometheus can scrape ``/metrics``."""
    m = settings.metrics
    url = f"http://{m.host}:{m.port}/metrics"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310  (our own loopback endpoint)
            body = resp.read(1 << 20)
    except OSError as exc:
        return Check("/metrics", FAIL, f"{url} unreachable ({getattr(exc, 'reason', exc)})",
                     "start telmon run, or set [metrics] host/port as prometheus.yml scrapes it")
    if b"telmon_" not in body:
        return Check("/metrics", FAIL, f"{url} answers, but not with telmon's metrics", "check [metrics] port")
    return Check("/metrics", OK, url)
