"""The greeting job file: one type written by the hook and read by the worker, old files still read."""
from __future__ import annotations

import json

import pytest

from monitor.speech.job import GreetingJob, JobError
from monitor.speech.spool import Spool, read_claim

JOB = GreetingJob(linkedid="1795574606.0", uniqueid="1795574606.1", extension="6831",
                  answering_audio="/spool/1795574606.0-1795574606.1-answering.wav16", channel="PJSIP/6831-00000001",
                  department="교류협력팀", person="정하늘", started=1795574610.25, direction="inbound")


def test_a_job_survives_its_file():
    text = JOB.to_json()
    assert json.loads(text)["version"] == 1 and "교류협력팀" in text       # readable, not \\u-escaped
    assert GreetingJob.from_json(text) == JOB
    assert GreetingJob.from_json(text.encode()) == JOB


def test_a_job_written_by_the_previous_telmon_is_read():
    # Exactly the keys GreetingJob's asdict() wrote before the type had a version (and an older mixed_audio).
    old = {"linkedid": "1.0", "uniqueid": "1.1", "channel": "PJSIP/6831-00000001", "extension": "6831",
           "department": None, "person": None, "started": 0, "answering_audio": "/spool/1.0-1.1-answering.wav",
           "direction": "outbound", "mixed_audio": "/spool/1.0-1.1-mixed.wav"}
    job = GreetingJob.from_json(json.dumps(old))
    assert (job.extension, job.direction, job.started, job.department) == ("6831", "outbound", 0.0, None)
    older = {k: v for k, v in old.items() if k not in ("direction", "channel", "department", "person", "started")}
    assert GreetingJob.from_json(json.dumps(older)).direction == "inbound"


@pytest.mark.parametrize("change, why", [
    ({"version": 2}, "unknown job version 2"), ({"version": "1"}, "unknown job version '1'"),
    ({"version": True}, "unknown job version True"),
    ({"linkedid": None}, "'linkedid' is NoneType, not str"), ({"extension": 6831}, "'extension' is int, not str"),
    ({"answering_audio": ["/etc/passwd"]}, "'answering_audio' is list"),
    ({"started": "yesterday"}, "'started' is 'yesterday', not a time"), ({"started": True}, "not a time"),
    ({"direction": "sideways"}, "not one of inbound, outbound"), ({"person": 5}, "'person' is int"),
])
def test_a_malformed_job_says_what_is_wrong(change, why):
    with pytest.raises(JobError, match=why):
        GreetingJob.from_dict({**JOB.to_dict(), **change})


@pytest.mark.parametrize("text, why", [
    ("", "not JSON"), ("{", "not JSON"), (b"\xff\xfe", "not JSON"), ("[1, 2]", "not a JSON object but list"),
    ('{"linkedid": "1.0", "uniqueid": "1.1", "extension": "6831"}', "'answering_audio' missing"),
])
def test_a_file_that_is_not_a_job(text, why):
    with pytest.raises(JobError, match=why):
        GreetingJob.from_json(text)


def test_a_claim_keeps_the_job_and_the_notes_and_a_bad_one_is_set_aside(tmp_path, caplog):
    job = GreetingJob(linkedid="7.0", uniqueid="7.1", extension="6831",
                      answering_audio=str(tmp_path / "7.0-7.1-answering.wav16"))
    (tmp_path / "7.0-7.1.json").write_text(job.to_json(), encoding="utf-8")
    (tmp_path / "7.0-7.2.json").write_text(json.dumps({**job.to_dict(), "uniqueid": 72}), encoding="utf-8")
    spool = Spool(tmp_path)
    (claim,) = spool.claim("7.0")
    assert claim.job == job and claim.rules is None
    assert "7.0-7.2.json unreadable ('uniqueid' is int" in caplog.text.replace("field ", "")
    assert (tmp_path / "7.0-7.2.bad").exists()
    spool.note(claim, rules=["R3", "R2"], expected={"department": "교류협력팀"})
    again = read_claim(claim.path)
    assert (again.job, again.rules, again.expected) == (job, ["R3", "R2"], {"department": "교류협력팀"})
    # A claim left by the previous telmon (the job's keys plus its notes) is what a restart resumes.
    old = {**{k: v for k, v in job.to_dict().items() if k != "version"}, "rules": ["R7"], "expected": None}
    claim.path.write_text(json.dumps(old), encoding="utf-8")
    (resumed,) = spool.unfinished()
    assert resumed.rules == ["R7"] and resumed.job == job
    claim.path.write_text(json.dumps({**old, "rules": "R7"}), encoding="utf-8")
    assert spool.unfinished() == [] and not claim.path.exists()     # unreadable claims are removed (as before)
