"""The printed report: one self-contained HTML file (Korean, tables, charts), also the PDF's source.

Self-contained means no network and no other file: the charts are SVG data URIs,
the style sheet is inline, there is no script. So the file can be mailed, archived
and opened years later exactly as it was produced, and printing it (``pdf.py``) needs
nothing but a browser.

Every figure comes from the same :mod:`.columns` definitions as the CSV and the
workbook; this module only chooses which columns to print and formats them.
"""
from __future__ import annotations

import datetime as dt
from html import escape
from pathlib import Path
from typing import Any, Optional

from ..core.charter import SCORE_GOAL, SPEECH_RULES
from .aggregate import MonthReport, Stats
from .charts import all_charts, cjk_font
from .columns import PRINT_COLUMNS, STAT_COLUMNS, Column
from .pdf import find_chromium
from .style import CSS

# Korean column titles of the printed tables (the English header stays as a small subtitle,
# so a reader can match a printed column with the spreadsheet's).
KOREAN = {"calls": "통화", "offered": "수신", "answered": "응답", "abandoned": "포기", "busy": "통화 중",
          "R1 pass rate": "R1 통과율", "R4 over 3 min": "3분 초과 대기", "R5 transfers": "돌려주기",
          "R5 lost": "돌려주기 끊김", "R8 within window": "기한 내 회신", "R8 late": "늦은 회신",
          "R8 never": "미회신", "SL": "서비스 수준 SL", "SL2": "SL2", "violations": "확정 위반",
          "R10 score": "R10 점수"}
SPEECH_KINDS = (("stated", "진술"), ("not stated", "미진술"), ("unclear", "불분명"), ("reviewed", "검토 완료"))
SPEECH_NAMES = {"R2": "R2 지연 사과", "R3": "R3 부서·이름", "R7": "R7 발신 인사"}
RULE_NAMES = {"R1": "R1 벨 3회 전 응답", "R2": "R2 지연 사과", "R3": "R3 부서·이름 밝히기", "R4": "R4 3분 초과 대기",
              "R5": "R5 돌려주기", "R7": "R7 발신 인사", "R8": "R8 부재중 회신"}
FORMULAS_KO = [
    ("SL (서비스 수준)", "SL = 2번째 벨 이내에 응답한 통화 ÷ 응답한 통화",
     "수신·내선 통화 중 사무실 전화가 받은 통화. 벨 횟수 = ⌊울린 초 ÷ 벨 주기 3초⌋ + 1 (1초 울림, 2초 쉼)."),
    ("SL2", "SL2 = 2번째 벨 이내에 응답한 통화 ÷ (응답한 통화 + 포기한 통화)",
     "받기 전에 끊은 발신자도 분모에 넣어, 너무 늦게 받아 놓친 통화까지 반영합니다."),
    ("R10 점수", "R10 = 100 × 통과 ÷ (통과 + 확정 위반)",
     f"R1·R2·R3·R4·R5·R7·R8의 판정된 결과 전체 기준 (대기 중·해당 없음·검토 전 불분명 제외). "
     f"목표 {SCORE_GOAL:g}점 이상, 미만은 붉게 표시합니다."),
    ("확정 위반", "확정 위반 = R1·R2·R3·R4·R5·R7·R8의 실패(fail) 판정",
     "음성 점검(R2·R3·R7)의 '불분명'은 검토자가 위반으로 확인(telmon review … --confirm)한 뒤에만 셉니다."),
    ("R9 교육 대상", "한 달 확정 위반 3건 이상인 직원", "위반마다 날짜, 시각, 규정, 측정값, 근거를 아래에 적습니다."),
    ("담당자", "응답한 내선 (발신 통화: 건 내선)",
     "아무도 받지 않은 통화는 가장 오래 울린 사무실 전화의 담당자, 2번째 벨을 넘겨 울린 다른 전화의 담당자도 "
     "R1 위반을 함께 집니다. 울린 전화가 없으면 '미상(unknown)'."),
]


def check_tools(pdf: bool = False) -> None:
    """Fail early, before reading a million calls, when the CJK font (or for PDF, Chromium) is missing."""
    cjk_font()
    if pdf:
        find_chromium()


def fmt(kind: str, value: Any) -> str:
    """A figure as printed: rates as 93.3 %, scores and seconds with one decimal, '–' for no data."""
    if value is None:
        return "–"
    if kind == "pct":
        return f"{100.0 * value:.1f}%"
    if kind in ("score", "sec"):
        return f"{value:.1f}"
    if kind == "int":
        return f"{value:,}"
    return str(value)


def _th(col: Column) -> str:
    ko = KOREAN.get(col.header, col.header)
    sub = f"<small>{escape(col.header)}</small>" if ko != col.header else ""
    return f'<th data-col="{escape(col.header)}">{escape(ko)}{sub}</th>'


def _cells(stats: Stats, cols: list[Column]) -> str:
    out = []
    for c in cols:
        value = c.get(stats)
        low = c.header == "R10 score" and value is not None and value < SCORE_GOAL
        cls = ' class="below-goal"' if low else ""
        out.append(f'<td data-col="{escape(c.header)}"{cls}>{fmt(c.kind, value)}</td>')
    return "".join(out)


def _row_class(stats: Stats) -> str:
    return ' class="row-below-goal"' if stats.score is not None and stats.score < SCORE_GOAL else ""


def department_table(report: MonthReport, cols: list[Column], table_id: str) -> str:
    """Departments (every one, even without calls) and the total, one row each."""
    head = '<th data-col="department">부서</th>' + "".join(_th(c) for c in cols)
    rows = [f'<tr{_row_class(s)}><th scope="row" data-col="department">{escape(name)}</th>{_cells(s, cols)}</tr>'
            for name, s in report.departments.items()]
    rows.append(f'<tr class="total"><th scope="row" data-col="department">합계 (total)</th>'
                f'{_cells(report.total, cols)}</tr>')
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def people_table(report: MonthReport) -> str:
    """Every person charged with a call, by department then extension."""
    head = ('<th data-col="department">부서</th><th data-col="extension">내선</th><th data-col="person">담당자</th>'
            + "".join(_th(c) for c in PRINT_COLUMNS))
    rows = []
    for key, s in report.sorted_people():
        rows.append(f'<tr{_row_class(s)}><td data-col="department">{escape(key.department)}</td>'
                    f'<td data-col="extension">{escape(key.extension)}</td>'
                    f'<td data-col="person">{escape(key.name)}</td>{_cells(s, PRINT_COLUMNS)}</tr>')
    return f'<table id="people"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def training_section(report: MonthReport) -> str:
    """R9: each trainee, then each of their violations with date, time, rule, value and evidence."""
    trainees = report.trainees()
    if not trainees:
        return '<p class="none" id="r9-none">이번 달 R9 교육 대상자는 없습니다 (확정 위반 3건 이상인 직원 없음).</p>'
    parts = []
    for key, stats, kept in trainees:
        rows = "".join(
            f'<tr><td>{v.when:%Y-%m-%d}</td><td>{v.when:%H:%M:%S}</td><td>{escape(RULE_NAMES.get(v.rule, v.rule))}</td>'
            f'<td>{escape(v.value)}</td><td class="evidence">{escape(v.evidence)}</td>'
            f'<td class="id">{escape(v.linkedid)}</td></tr>' for v in kept)
        more = stats.violations - len(kept)
        note = (f'<p class="more">외 {more:,}건: 스프레드시트의 Violations 시트에 모두 있습니다.</p>'
                if more > 0 else "")
        parts.append(
            f'<section class="trainee" data-extension="{escape(key.extension)}" data-violations="{stats.violations}">'
            f'<h3>{escape(key.name)} <span>{escape(key.department)} · 내선 {escape(key.extension)} · '
            f'확정 위반 {stats.violations:,}건</span></h3>'
            '<table class="violations"><thead><tr><th>날짜</th><th>시각</th><th>규정</th><th>측정값</th>'
            f'<th>근거</th><th>통화 ID</th></tr></thead><tbody>{rows}</tbody></table>{note}</section>')
    return "".join(parts)


def speech_table(report: MonthReport) -> str:
    """R2/R3/R7 greeting checks per department: stated, not stated, unclear, reviewed."""
    by_header = {c.header: c for c in STAT_COLUMNS}
    cols = [by_header[f"{r} {kind}"] for r in SPEECH_RULES for kind, _ in SPEECH_KINDS]
    top = "".join(f'<th colspan="{len(SPEECH_KINDS)}">{escape(SPEECH_NAMES[r])}</th>' for r in SPEECH_RULES)
    sub = "".join(f'<th data-col="{escape(r)} {k}">{ko}</th>' for r in SPEECH_RULES for k, ko in SPEECH_KINDS)
    rows = [f'<tr><th scope="row" data-col="department">{escape(n)}</th>{_cells(s, cols)}</tr>'
            for n, s in list(report.departments.items()) + [("합계 (total)", report.total)]]
    return (f'<table id="speech"><thead><tr><th rowspan="2">부서</th>{top}</tr><tr>{sub}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def _summary(report: MonthReport, unmasked: bool) -> str:
    t = report.total
    low = [n for n, s in report.departments.items() if s.score is not None and s.score < SCORE_GOAL]
    items = [("통화", f"{t.calls:,}"), ("R10 점수 (전체)", fmt("score", t.score)), ("SL", fmt("pct", t.sl)),
             ("SL2", fmt("pct", t.sl2)), ("확정 위반", f"{t.violations:,}"),
             ("R9 교육 대상", f"{len(report.trainees())}명"),
             (f"{SCORE_GOAL:g}점 미만 부서", ", ".join(low) if low else "없음"),
             ("발신자 번호", "전체 표시 (기록됨)" if unmasked else "가림 (예: 010-****-5678)")]
    cells = "".join(f'<div class="kpi"><span>{escape(k)}</span><b>{escape(v)}</b></div>' for k, v in items)
    return f'<div class="kpis" id="summary">{cells}</div>'


def render(report: MonthReport, title: str, unmasked: bool = False, now: Optional[dt.datetime] = None) -> str:
    """The whole report as one HTML document."""
    charts = all_charts(report)
    month = report.month
    made = (now or dt.datetime.now(month.tz)).strftime("%Y-%m-%d %H:%M")
    formulas = "".join(f"<dt>{escape(n)}</dt><dd><code>{escape(f)}</code><br>{escape(d)}</dd>"
                       for n, f, d in FORMULAS_KO)
    empty = ('<p class="none" id="no-calls">이 기간에 저장된 통화가 없습니다.</p>' if report.total.calls == 0 else "")
    return f"""<!DOCTYPE html>
<html lang="ko"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body><header><h1>전화 응대 서비스 기준 월간 보고서</h1>
<p class="meta">{month.year}년 {month.month}월 ({escape(month.label)}, {escape(month.tz.key)}) · 작성 {made} · telmon
 · {escape(title)}</p></header>
{empty}{_summary(report, unmasked)}
<h2>1. 부서별 결과</h2>{department_table(report, PRINT_COLUMNS, "departments")}
<p class="legend"><span class="swatch"></span> R10 점수 {SCORE_GOAL:g}점 미만. 비율은 판정된 통화 기준이며,
 '–'는 판정할 통화가 없음을 뜻합니다.</p>
<h2>2. 산식</h2><dl class="formulas">{formulas}</dl>
<h2>3. 그래프</h2>
<figure class="wide"><img alt="일별 R1 통과율과 R10 점수" src="{charts['daily']}"></figure>
<div class="pair"><figure><img alt="R1 벨 횟수 분포" src="{charts['rings']}"></figure>
<figure><img alt="부서별 R10 점수와 서비스 수준" src="{charts['departments']}"></figure></div>
<h2>4. 음성 점검 결과 (R2·R3·R7)</h2>{speech_table(report)}
<p class="legend">진술 = 통과, 미진술 = 위반, 불분명 = 검토 대기 (검토자가 위반으로 확인하면 미진술로 셉니다).</p>
<h2 class="break">5. 담당자별 결과</h2>{people_table(report)}
<h2 class="break">6. R9 교육 대상자 (확정 위반 3건 이상)</h2>{training_section(report)}
<footer>telmon {escape(month.label)} · 전체 열과 통화별 상세는 CSV·XLSX 보고서에 있습니다.</footer>
</body></html>
"""


def write_html(report: MonthReport, path: Path, title: str, unmasked: bool = False) -> Path:
    """Write the report to ``path`` (UTF-8) and return the path."""
    path.write_text(render(report, title, unmasked), encoding="utf-8")
    return path
