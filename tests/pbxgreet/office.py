"""The kit's sample office with telmon's ``asterisk_conf/`` pasted in, as an administrator would.

``asterisk_conf/extensions.conf`` says: paste the ``[telmon-...]`` contexts unchanged,
then add the hook to your own lines (its examples A-D). Here that is done to the
kit's stock ``sample-conf`` dialplan, one documented edit per line, each of which
must match exactly once (a snippet that no longer fits the lines it describes
fails the test instead of silently recording nothing). ``manager.conf``: telmon's
account section appended to the kit's file.
"""
from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SNIPPETS = REPO / "asterisk_conf"

# (context, the stock line, the line with telmon's hook): examples A-D of asterisk_conf/extensions.conf.
EDITS_22 = [
    ("from-pstn", "same => n,Gosub(dial-ext,s,1(${EXTEN}))",
     "same => n,Gosub(dial-ext,s,1(${EXTEN},U(telmon-answered)))"),                         # A (shared)
    ("dial-ext", "same => n,Dial(PJSIP/${ARG1},60)", "same => n,Dial(PJSIP/${ARG1},60,${ARG2})"),  # A
    ("ringgroup-sales", "Dial(PJSIP/6851&PJSIP/6852&PJSIP/6853,30)",
     "Dial(PJSIP/6851&PJSIP/6852&PJSIP/6853,30,U(telmon-answered))"),                        # B
    ("queue-main", "Queue(main,t)", "Queue(main,t,,,,,telmon-answered)"),                    # C, 21+
    ("queue-support", "Queue(support,t)", "Queue(support,t,,,,,telmon-answered)"),           # C, Local members
    ("internal", "Dial(PJSIP/${EXTEN:1}@pstn,60)",
     "Dial(PJSIP/${EXTEN:1}@pstn,60,U(telmon-outbound^${CALLERID(num)}))"),                  # D
]


class SnippetMismatch(AssertionError):
    """A documented edit does not fit the stock configuration it describes."""


def _sections(text: str) -> list[tuple[str, str]]:
    parts = re.split(r"(?m)^(\[[^\]]+\][^\n]*\n)", text)
    out = [("", parts[0])]
    for head, body in zip(parts[1::2], parts[2::2]):
        out.append((head.strip()[1:].split("]", 1)[0], head + body))
    return out


def edit_dialplan(stock: str, edits: list[tuple[str, str, str]]) -> str:
    """Apply each (context, old, new) edit inside its context; each old text must occur exactly once there."""
    sections = _sections(stock)
    for context, old, new in edits:
        hits = [i for i, (name, body) in enumerate(sections) if name == context]
        if len(hits) != 1 or sections[hits[0]][1].count(old) != 1:
            raise SnippetMismatch(f"[{context}]: {old!r} is not there exactly once")
        name, body = sections[hits[0]]
        sections[hits[0]] = (name, body.replace(old, new))
    return "".join(body for _, body in sections)


def telmon_contexts() -> str:
    """What the administrator pastes: asterisk_conf/extensions.conf as it is (its examples are comments)."""
    return (SNIPPETS / "extensions.conf").read_text(encoding="utf-8")


def manager_account() -> str:
    """telmon's [telmon] account from asterisk_conf/manager.conf (the kit's [general] already has its settings)."""
    text = (SNIPPETS / "manager.conf").read_text(encoding="utf-8")
    return text[text.index("[telmon]"):]


def build_overlay(kit: Path, dest: Path, ami_secret: str) -> Path:
    """Write extensions.conf and manager.conf for Pbx(overlay=dest); the secret replaces the placeholder."""
    dest.mkdir(parents=True, exist_ok=True)
    stock = (kit / "sample-conf" / "extensions.conf").read_text(encoding="utf-8")
    (dest / "extensions.conf").write_text(edit_dialplan(stock, EDITS_22) + "\n" + telmon_contexts(),
                                          encoding="utf-8")
    account = manager_account().replace("change-me-to-a-long-random-secret", ami_secret)
    manager = (kit / "sample-conf" / "manager.conf").read_text(encoding="utf-8")
    (dest / "manager.conf").write_text(manager + "\n" + account, encoding="utf-8")
    return dest
