"""The workbook's two long sheets (Calls, Violations) written as XML directly, spliced into XlsxWriter's file.

Why: XlsxWriter, even in ``constant_memory`` mode, costs ~5 µs a cell (type dispatch,
cell-reference strings, format lookup); the Calls sheet has ~29 cells a call, so a
month of 1 M calls spent ~150 s in it (``write_row`` is the same per-cell path). These
rows have no formats, so their XML is simple: each row is one string built from a
per-value cache of cell texts (the same result, date, person and value texts recur on
every row), appended to a temporary file. XlsxWriter still writes everything else
(the header row with its format, frozen pane, column widths, autofilter, the summary
sheets); after it closes, the workbook's zip is copied with those two sheets' empty
``<sheetData>`` filled from the temporary files (deflate level 1: level 6 took 3x as long
for a 10 % smaller file).

Cells: strings are inline (``t="inlineStr"``) rather than shared: a shared-string table
grows with every distinct string (linkedids, evidence) and must be held until the end,
so memory would grow with calls. Numbers are written as XlsxWriter writes them
(``%.16G``); ``None`` and ``""`` are empty ``<c/>`` cells, which openpyxl and XlsxWriter's
own output both read back as empty. Openpyxl, LibreOffice and Excel read cells without
an ``r`` attribute in order; rows keep theirs.
"""
from __future__ import annotations

import logging
import os
import posixpath
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Optional
from xml.etree import ElementTree

_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CACHE_LIMIT = 20_000    # cell texts kept; then the cache starts afresh (memory flat, see write)
EXCEL_ROWS = 1_048_576     # the most rows an Excel worksheet holds
OVERFLOW_NOTE = ("Excel holds 1,048,576 rows: the rows from here on are only in the CSV file "
                 "(telmon report --format csv)")
log = logging.getLogger("telmon")


def _escape(text: str) -> str:
    """XML text escaping; control characters as Excel's ``_xHHHH_`` (as XlsxWriter does)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CONTROL.sub(lambda m: f"_x{ord(m.group()):04X}_", text)


def cell_xml(value: Any) -> str:
    """One ``<c>`` element for a value of a streamed row."""
    if value is None or value == "":
        return "<c/>"
    if isinstance(value, str):
        if _SPECIAL.search(value):
            value = _escape(value)
        space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
        return f'<c t="inlineStr"><is><t{space}>{value}</t></is></c>'
    return f"<c><v>{value:.16G}</v></c>"


class StreamedSheet:
    """The data rows of one worksheet (below XlsxWriter's header row), kept in a temporary file."""

    def __init__(self, sheet: str, directory: Optional[Path] = None) -> None:
        """Rows for the worksheet named ``sheet``, buffered in a temporary file in ``directory``."""
        self.sheet = sheet     # the worksheet's name, as the workbook lists it (e.g. "Calls")
        fd, name = tempfile.mkstemp(prefix="telmon-sheet-", suffix=".xml", dir=directory)
        self.path = Path(name)
        self._fh = os.fdopen(fd, "w", encoding="utf-8", buffering=1 << 20)
        self.rows = 1            # rows in the sheet so far, the header included
        self.dropped = 0         # rows past Excel's limit (in the CSV only)
        self._cells: dict[Any, str] = {}

    def write(self, values: list[Any]) -> None:
        """Append one row (past Excel's last row: counted, and the sheet's last row says so)."""
        if self.dropped or self.rows + 1 >= EXCEL_ROWS:
            # A row number past Excel's limit would make the whole file unreadable.
            if not self.dropped:
                self.rows += 1
                self._fh.write(f'<row r="{self.rows}">{cell_xml(OVERFLOW_NOTE)}</row>')
            self.dropped += 1
            return
        cells, get = self._cells, self._cells.get
        parts = []
        for v in values:
            text = get(v)
            if text is None:
                text = cell_xml(v)
                if len(cells) >= _CACHE_LIMIT:
                    # Most entries are one-offs (linkedids, exact waits): start afresh rather than
                    # keep the first ones forever; the recurring texts are back within a few rows.
                    # (Keeping 200 k made a 1 M-call workbook's memory 40 % above a 100 k one's.)
                    cells.clear()
                cells[v] = text
            parts.append(text)
        self.rows += 1
        self._fh.write(f'<row r="{self.rows}">{"".join(parts)}</row>')

    def close(self) -> None:
        """Flush the rows to disk."""
        self._fh.close()
        if self.dropped:
            log.warning("%s: %d rows past Excel's %d-row limit are only in the CSV file",
                        self.sheet, self.dropped, EXCEL_ROWS)


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def sheet_members(book: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet name -> its part (zip member) in a workbook, as the file itself declares them.

    Read from ``xl/workbook.xml`` (each sheet's name and relationship id) and its
    relationships (``xl/_rels/workbook.xml.rels``: id -> part), the Office Open XML
    way any reader finds a sheet: the part names XlsxWriter happens to choose are
    not relied on.
    """
    sheets = ElementTree.fromstring(book.read("xl/workbook.xml")).iter(f"{_MAIN}sheet")
    rels = ElementTree.fromstring(book.read("xl/_rels/workbook.xml.rels")).iter(f"{_RELS}Relationship")
    targets = {r.get("Id"): r.get("Target", "") for r in rels}
    out = {}
    for sheet in sheets:
        target = targets[sheet.get(_REL_ID)]
        out[sheet.get("name", "")] = target.lstrip("/") if target.startswith("/") else \
            posixpath.normpath(posixpath.join("xl", target))
    return out


def splice(path: Path, sheets: list[StreamedSheet]) -> None:
    """Rewrite the workbook at ``path`` with each streamed sheet's rows inside its ``<sheetData>``."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with zipfile.ZipFile(path) as src, \
                zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as dst:
            members = sheet_members(src)
            missing = [s.sheet for s in sheets if s.sheet not in members]
            if missing:
                raise ValueError(f"{path.name}: no worksheet named {', '.join(missing)}")
            by_member = {members[s.sheet]: s for s in sheets}
            for info in src.infolist():
                data = src.read(info)
                sheet = by_member.get(info.filename)
                if sheet is None:
                    dst.writestr(info, data)
                    continue
                xml = data.decode("utf-8")
                # The dimension covers the streamed rows too (openpyxl's read-only mode sizes by it).
                xml = re.sub(r'(<dimension ref="[A-Z]+1:[A-Z]+)1"', rf'\g<1>{sheet.rows}"', xml, count=1)
                head, tail = xml.split("</sheetData>", 1)
                with dst.open(info.filename, "w", force_zip64=True) as out, open(sheet.path, "rb") as rows:
                    out.write(head.encode("utf-8"))
                    shutil.copyfileobj(rows, out, 1 << 20)
                    out.write(("</sheetData>" + tail).encode("utf-8"))
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        for sheet in sheets:
            sheet.path.unlink(missing_ok=True)
