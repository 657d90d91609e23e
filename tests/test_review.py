"""``telmon review``: unclear greeting checks wait for a person, who decides with the evidence in view."""
from __future__ import annotations

import os

import pytest

from conftest import TRACES
from test_cli import telmon

from monitor.core.rules import Verdict
from monitor.masking import process_owner
from monitor.storage.store import Store

EVIDENCE = {"confidence": 0.0, "sample_rate": 8000, "engine": "vosk/test", "seconds": 5.0, "speech": True,
            "gate": "speech", "items": [{"item": "department", "result": "unclear", "expected": "교류협력팀",
                                         "heard": "교류 협력", "similarity": 0.8, "confidence": 0.7}],
            "words": [["안녕하세요", 0.98, 0.1, 0.9], ["교류", 0.7, 1.0, 1.4]]}


@pytest.mark.slow
def test_list_show_and_decide(tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    telmon("replay", "--database-url", db, str(TRACES / "a_inbound_1ring.ami"), str(TRACES / "g_hold.ami"))
    store = Store.open(db)
    store.set_verdict("1795574606.0", Verdict("R3", "unclear", EVIDENCE, "unclear: department, name: unclear"))
    assert telmon("review", "--database-url", db).stdout.count("R3") == 1
    shown = telmon("review", "1795574606.0", "R3", "--database-url", db).stdout
    assert "안녕하세요(0.98@0.1s)" in shown and "8000 Hz" in shown and "교류협력팀" in shown
    assert "010-****-5678" in shown and "01012345678" not in shown
    who = process_owner()     # the account running the command, whatever LOGNAME says
    done = telmon("review", "1795574606.0", "R3", "--confirm", "--note", "no name", "--database-url", db,
                  env=dict(os.environ, LOGNAME="someone-else", USER="someone-else")).stdout
    assert f"reviewed by {who}" in done and "someone-else" not in done
    (call,) = [c for c in store.load_calls() if c.record.linkedid == "1795574606.0"]
    v = call.verdicts["R3"]
    assert v.result == "fail" and v.value["review"]["by"] == who and v.value["review"]["decision"] == "confirmed"
    assert v.value["original"]["result"] == "unclear" and v.value["words"] == EVIDENCE["words"]
    assert "nothing waits" in telmon("review", "--database-url", db).stdout
    again = telmon("review", "1795574606.0", "R3", "--reject", "--database-url", db, check=False)
    assert again.returncode == 2 and "not unclear" in again.stderr
    missing = telmon("review", "nope", "R3", "--database-url", db, check=False)
    assert missing.returncode == 2
    # Measured rules are not a reviewer's to rewrite, not even with --force; --by is gone.
    r4 = telmon("review", "1795574606.0", "R4", "--confirm", "--force", "--database-url", db, check=False)
    assert r4.returncode == 2 and "only the greeting checks" in r4.stderr
    (call,) = [c for c in store.load_calls() if c.record.linkedid == "1795574606.0"]
    assert call.verdicts["R4"].result == "pass"
    assert telmon("review", "1795574606.0", "R3", "--reject", "--by", "x", "--database-url", db,
                  check=False).returncode == 2


@pytest.mark.slow
def test_outbound_greeting_names_the_staff_member_and_reaches_every_output(tmp_path):
    import json
    db = f"sqlite:///{tmp_path / 'o.db'}"
    telmon("replay", "--database-url", db, str(TRACES / "h2_outbound_pstn.ami"))
    store = Store.open(db)
    (call,) = list(store.load_calls())
    rec = call.record
    assert rec.direction == "outbound" and len(rec.answered_by or "") > 6     # the customer answered
    store.set_verdict(rec.linkedid, Verdict("R7", "unclear", dict(EVIDENCE, extension=rec.caller,
                                                                     direction="outbound"), "unclear: ask: unclear"))
    listing = telmon("review", "--database-url", db).stdout
    assert f" {rec.caller} " in listing and rec.answered_by not in listing       # the staff member, not the customer
    shown = telmon("review", rec.linkedid, "R7", "--database-url", db).stdout
    assert f"greeting of {rec.caller}" in shown and rec.answered_by not in shown
    # The speech verdict is in the JSON record and in the table.
    (obj,) = [json.loads(line) for line in telmon("calls", "--json", "--database-url", db).stdout.splitlines()]
    assert obj["verdicts"]["R7"]["result"] == "unclear" and obj["verdicts"]["R7"]["value"]["extension"] == rec.caller
    table = telmon("calls", "--database-url", db).stdout
    assert "R7" in table.splitlines()[0] and rec.answered_by not in table
