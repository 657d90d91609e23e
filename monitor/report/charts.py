"""The printed report's charts (matplotlib), as self-contained SVG data URIs.

Charts are drawn with matplotlib's object API (``Figure``), never ``pyplot``: no
global state, no GUI backend, nothing that needs a display.

Korean labels need a CJK font. matplotlib silently draws missing glyphs as empty
boxes, so the font is looked up explicitly (Debian's ``fonts-noto-cjk``) and its
absence is an error that names the package, never a report full of boxes.

Each SVG keeps its text as outlines (``svg.fonttype = 'path'``), so the browser
and the PDF need no font for the charts, and is embedded as ``<img src="data:...">``
so the ids matplotlib writes inside one SVG cannot collide with another's.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any, Optional

from ..core.charter import SCORE_GOAL
from .aggregate import RING_BUCKETS, MonthReport
from .period import ReportError

# Preferred faces: Korean-first Noto, then any other CJK face that has Hangul.
_FAMILIES = ("Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP", "Noto Serif CJK KR", "NanumGothic",
             "UnDotum")
_FILES = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
          "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc")
FONT_PACKAGE = "fonts-noto-cjk"
_font: Optional[str] = None


def cjk_font() -> str:
    """The family name of an installed CJK font, registered with matplotlib; ReportError when none is."""
    global _font
    if _font is not None:
        return _font
    from matplotlib import font_manager
    for path in _FILES:
        if Path(path).exists():
            # Registering the file makes its faces known even if the font cache predates the install.
            font_manager.fontManager.addfont(path)
    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in _FAMILIES:
        if family in names:
            _font = family
            return family
    raise ReportError(f"no CJK font found: Korean text would print as boxes. "
                      f"Install the Debian package {FONT_PACKAGE} (apt-get install {FONT_PACKAGE})")


def _figure(width: float, height: float) -> Any:
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    return fig


def _style(ax: Any) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)


def _data_uri(fig: Any) -> str:
    import matplotlib
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": "telmon",
                                "font.family": [cjk_font(), "DejaVu Sans"], "axes.unicode_minus": False}):
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _pct(v: Optional[float]) -> float:
    return float("nan") if v is None else 100.0 * v


def daily_chart(report: MonthReport) -> str:
    """Per day: calls (bars) and the R1 pass rate and R10 score (lines, 0-100, with the 90 goal)."""
    import matplotlib
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        days = list(report.daily)
        stats = [report.daily[d] for d in days]
        fig = _figure(10, 3.4)
        ax = fig.add_subplot()
        x = [d.day for d in days]
        bars = ax.twinx()
        bars.bar(x, [s.calls for s in stats], color="#c9d6e8", width=0.7, label="통화 수")
        bars.set_ylabel("통화 수")
        bars.spines["top"].set_visible(False)
        ax.set_zorder(bars.get_zorder() + 1)   # lines above the bars
        ax.patch.set_visible(False)
        ax.plot(x, [_pct(s.rules["R1"].rate) for s in stats], marker="o", ms=3, color="#1f5fa8",
                label="R1 통과율 (%)")
        ax.plot(x, [float("nan") if s.score is None else s.score for s in stats], marker="s", ms=3,
                color="#2a8a4a", label="R10 점수")
        ax.axhline(SCORE_GOAL, color="#c0392b", linestyle="--", linewidth=1, label=f"목표 {SCORE_GOAL:g}")
        ax.set_ylim(0, 105)
        ax.set_xlim(0.3, len(days) + 0.7)
        ax.set_xticks(x)
        ax.tick_params(axis="x", labelsize=7)
        ax.set_xlabel(f"{report.month.label} 일자")
        ax.set_ylabel("%, 점수")
        ax.grid(axis="y", color="#dddddd", linewidth=0.6)
        ax.set_title("일별 R1 통과율과 R10 점수 (막대: 통화 수)")
        handles = ax.get_legend_handles_labels()[0] + bars.get_legend_handles_labels()[0]
        ax.legend(handles=handles, loc="lower left", fontsize=8, ncols=4, framealpha=0.9)
        return _data_uri(fig)


def rings_chart(report: MonthReport) -> str:
    """The R1 ring-count histogram of the month (rings 1 .. 6+), the limit marked."""
    import matplotlib
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        fig = _figure(5, 3.4)
        ax = fig.add_subplot()
        _style(ax)
        labels = [f"{n}+" if n == RING_BUCKETS[-1] else str(n) for n in RING_BUCKETS]
        counts = [report.total.ring_bucket(n) for n in RING_BUCKETS]
        colors = ["#2a8a4a" if n <= report.limits.max_rings else "#c0392b" for n in RING_BUCKETS]
        bars = ax.bar(labels, counts, color=colors)
        ax.bar_label(bars, fontsize=8)
        ax.set_xlabel("벨 횟수 (초록: 기준 이내, 빨강: 위반)")
        ax.set_ylabel("통화 수")
        ax.set_title("R1 벨 횟수 분포")
        return _data_uri(fig)


def departments_chart(report: MonthReport) -> str:
    """Per department: R10 score and SL (%) side by side, the 90 goal marked, scores under it in red."""
    import matplotlib
    with matplotlib.rc_context({"font.family": [cjk_font(), "DejaVu Sans"]}):
        names = list(report.departments)
        stats = [report.departments[n] for n in names]
        fig = _figure(6.5, 3.4)
        ax = fig.add_subplot()
        _style(ax)
        pos = list(range(len(names)))
        scores = [float("nan") if s.score is None else s.score for s in stats]
        colors = ["#c0392b" if s.score is not None and s.score < SCORE_GOAL else "#2a8a4a" for s in stats]
        b1 = ax.bar([p - 0.2 for p in pos], scores, width=0.4, color=colors, label="R10 점수")
        ax.bar([p + 0.2 for p in pos], [_pct(s.sl) for s in stats], width=0.4, color="#7fa7d6", label="SL (%)")
        ax.bar_label(b1, labels=["–" if s.score is None else f"{s.score:.1f}" for s in stats], fontsize=8)
        ax.axhline(SCORE_GOAL, color="#c0392b", linestyle="--", linewidth=1, label=f"목표 {SCORE_GOAL:g}")
        ax.set_xticks(pos, names, fontsize=8, rotation=15)
        ax.set_ylim(0, 110)
        ax.set_title("부서별 R10 점수와 서비스 수준")
        ax.legend(fontsize=8, loc="lower right", framealpha=0.9)
        return _data_uri(fig)


def all_charts(report: MonthReport) -> dict[str, str]:
    """Every chart of the printed report, by name, as data URIs."""
    return {"daily": daily_chart(report), "rings": rings_chart(report), "departments": departments_chart(report)}
