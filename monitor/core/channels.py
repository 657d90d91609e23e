"""What a channel name says: technology, endpoint, Local halves, phone or trunk.

Asterisk names channels ``<tech>/<resource>-<8 hex>`` (``PJSIP/6831-0000000b``,
``SIP/pstn-0000001a``, ``IAX2/office-1234``), DAHDI ``DAHDI/1-1``, and Local
channels ``Local/<exten>@<context>-<8 hex>;1`` and ``;2``. The endpoint of a
phone is usually its extension; trunks have names like ``pstn`` or a carrier's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

_SUFFIX = re.compile(r"-[0-9a-fA-F]+(;[12])?$")
_NUMBER = re.compile(r"^\+?\d+$")


@dataclass(frozen=True)
class ChannelName:
    """A parsed channel name."""

    tech: str
    resource: str        # endpoint for device channels, "exten@context" for Local
    local_half: int      # 1 or 2 for Local channels, else 0

    @property
    def is_local(self) -> bool:
        """Local channels are dialplan plumbing, never a phone."""
        return self.tech.lower() == "local"


def parse_channel(name: str) -> ChannelName:
    """Split a channel name into technology, endpoint and Local half."""
    tech, _, rest = name.partition("/")
    half = 0
    if rest.endswith(";1") or rest.endswith(";2"):
        half = int(rest[-1])
    resource = _SUFFIX.sub("", rest)
    if tech.upper() == "DAHDI":
        resource = "dahdi"  # DAHDI/1-1: spans are lines to the carrier
    return ChannelName(tech, resource, half)


def is_number(text: Optional[str]) -> bool:
    """True for a plain dialable number (digits, optionally a leading +)."""
    return bool(text) and bool(_NUMBER.match(text or ""))


def number_from_dialstring(dialstring: str) -> Optional[str]:
    """The number a Dial() string targets: ``021234567@pstn``, ``pstn/021234567``, ``6831``."""
    target = dialstring.split("&", 1)[0]
    target = target.rsplit("/", 1)[-1]
    if target.startswith("sip:") or target.startswith("tel:"):
        target = target[4:]
    target = target.split("@", 1)[0].split(",", 1)[0]
    return target if is_number(target) else None


def is_trunk(chan: ChannelName, trunks: frozenset[str]) -> bool:
    """Whether a device channel leads outside the PBX.

    With ``trunks`` configured, exactly those endpoints are trunks. Left empty, an
    endpoint whose name is not a number is taken for a trunk (phones are normally
    provisioned under their extension), and DAHDI lines always are.
    """
    if chan.is_local:
        return False
    if chan.tech.upper() == "DAHDI":
        return True
    if trunks:
        return chan.resource in trunks
    return not is_number(chan.resource)


def phone_extension(chan: ChannelName, caller_id: Optional[str]) -> str:
    """The extension of a phone channel: its endpoint, else its caller-ID number."""
    if is_number(chan.resource):
        return chan.resource
    if chan.is_local:
        exten = chan.resource.split("@", 1)[0]
        if is_number(exten):
            return exten
    if caller_id and is_number(caller_id):
        return caller_id
    return chan.resource


def number_key(number: Optional[str]) -> Optional[str]:
    """What ``same_number`` compares: the last 9 digits, or all digits when fewer; None without digits.

    ``same_number(a, b)`` is exactly ``number_key(a) == number_key(b) is not None``
    (a key of 9 digits never equals a shorter one), so a dict keyed by it finds
    every number that ``same_number`` would accept.
    """
    if not number:
        return None
    digits = "".join(c for c in number if c.isdigit())
    if not digits:
        return None
    return digits[-9:] if len(digits) >= 9 else digits


def same_number(a: Optional[str], b: Optional[str]) -> bool:
    """Whether two phone numbers are the same line (``+821012345678`` vs ``01012345678``).

    Numbers are compared on their last 9 digits when both have at least 9: that
    drops country codes and trunk prefixes without matching unrelated numbers.
    """
    if not a or not b:
        return False
    da = "".join(c for c in a if c.isdigit())
    db = "".join(c for c in b if c.isdigit())
    if not da or not db:
        return False
    if len(da) >= 9 and len(db) >= 9:
        return da[-9:] == db[-9:]
    return da == db
