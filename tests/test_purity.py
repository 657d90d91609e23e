"""The core is pure: importing it pulls in no I/O library (sockets, databases, files, clocks)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

PURE = ["monitor.core", "monitor.core.tracker", "monitor.core.rules", "monitor.core.callback",
        "monitor.core.export", "monitor.core.calls", "monitor.core.channels", "monitor.core.cadence",
        "monitor.core.record", "monitor.core.features", "monitor.core.dialing", "monitor.core.liveview",
        "monitor.core.charter", "monitor.core.judged", "monitor.core.masking", "monitor.ami.codec"]
FORBIDDEN = ["socket", "asyncio", "selectors", "ssl", "sqlite3", "sqlalchemy", "psycopg", "alembic",
             "prometheus_client", "vosk", "pydub", "asterisk", "http", "urllib.request",
             "subprocess", "threading", "multiprocessing", "yaml", "tomllib", "wave", "time"]


def test_pure_modules_import_no_io_library():
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        f"for m in {PURE!r}: __import__(m)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    bad = sorted(m for m in loaded for f in FORBIDDEN if m == f or m.startswith(f + "."))
    assert not bad, f"pure core imported I/O modules: {bad}"


def test_pure_sources_do_not_call_open_or_clocks():
    """No file or clock access hides behind builtins either."""
    import re
    for mod in PURE:
        path = REPO / (mod.replace(".", "/") + ".py")
        if not path.exists():
            path = REPO / mod.replace(".", "/") / "__init__.py"
        src = path.read_text()
        assert not re.search(r"\bopen\(|time\.time|datetime\.now|os\.", src), path


# The report's vocabulary and figures, its shared columns and its writers: no database library. Only the
# reading of the month (fastread, fast) and the command touch storage.
PURE_REPORT = ["monitor.report.aggregate", "monitor.report.columns", "monitor.report.evidence",
               "monitor.report.period", "monitor.report.tabular", "monitor.report.html",
               "monitor.report.charts", "monitor.report.xlsxstream"]
DATABASE = ["sqlalchemy", "alembic", "psycopg", "sqlite3", "monitor.storage"]


def test_pure_report_modules_import_no_database_library():
    code = (
        "import sys, json\n"
        "before = set(sys.modules)\n"
        f"for m in {PURE_REPORT!r}: __import__(m)\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert {"monitor.report.aggregate", "monitor.core.charter"} <= loaded   # the check ran on the real modules
    bad = sorted(m for m in loaded for f in DATABASE if m == f or m.startswith(f + "."))
    assert not bad, f"pure report modules imported database modules: {bad}"
