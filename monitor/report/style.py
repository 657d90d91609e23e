"""The printed report's style sheet, inline in the HTML (no external file, no web font).

The font stack names the Noto CJK families Debian's ``fonts-noto-cjk`` installs: the
browser that prints the PDF takes Korean glyphs from them. Page rules set A4
landscape for the wide tables; headers repeat on each printed page.
"""

CSS = """
@page { size: A4 landscape; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP", "NanumGothic", sans-serif;
       font-size: 10.5pt; color: #1b1b1b; margin: 0 auto; max-width: 1400px; padding: 16px;
       word-break: keep-all;   /* Korean wraps between words, not inside one */
       -webkit-print-color-adjust: exact; print-color-adjust: exact; }
h1 { font-size: 19pt; margin: 0 0 4px; }
h2 { font-size: 13.5pt; margin: 22px 0 8px; border-bottom: 2px solid #1f5fa8; padding-bottom: 3px; }
h3 { font-size: 11.5pt; margin: 14px 0 4px; }
h3 span { font-weight: normal; color: #555; font-size: 10pt; margin-left: 8px; }
.meta, footer, .legend, .more { color: #555; font-size: 9pt; }
footer { margin-top: 24px; border-top: 1px solid #ccc; padding-top: 6px; }
.kpis { display: flex; flex-wrap: wrap; gap: 8px; margin: 12px 0; }
.kpi { border: 1px solid #c9d6e8; border-radius: 6px; padding: 6px 10px; min-width: 120px; background: #f5f8fc; }
.kpi span { display: block; font-size: 8.5pt; color: #555; }
.kpi b { font-size: 13pt; }
table { border-collapse: collapse; width: 100%; font-size: 9pt; margin: 4px 0; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th, td { border: 1px solid #c8c8c8; padding: 3px 5px; text-align: right; vertical-align: top; }
thead th { background: #dde5f0; text-align: center; font-weight: bold; min-width: 3.4em; }
th small { display: block; font-weight: normal; color: #666; font-size: 7pt; }
tbody th, td[data-col="department"], td[data-col="person"], td[data-col="extension"] { text-align: left; }
tr.total th, tr.total td { font-weight: bold; background: #f0f0f0; }
td.below-goal { background: #f8cbad; color: #9c0006; font-weight: bold; }
tr.row-below-goal th { color: #9c0006; }
.swatch { display: inline-block; width: 12px; height: 10px; background: #f8cbad; border: 1px solid #9c0006; }
table.violations td { text-align: left; }
td.evidence { width: 45%; }
td.id { font-family: monospace; font-size: 8pt; color: #555; }
dl.formulas { display: grid; grid-template-columns: 140px 1fr; gap: 4px 12px; margin: 0; }
dl.formulas dt { font-weight: bold; }
dl.formulas dd { margin: 0; }
code { font-family: inherit; background: #eef2f7; padding: 1px 4px; border-radius: 3px; font-weight: bold; }
figure { margin: 6px 0; break-inside: avoid; }
figure img { width: 100%; height: auto; }
.pair { display: flex; gap: 12px; }
.pair figure { flex: 1; }
.pair figure:first-child { flex: 0.77; }
.none { padding: 8px 12px; background: #eef7ee; border-left: 4px solid #2a8a4a; }
section.trainee { break-inside: avoid-page; }
@media print { h2.break { break-before: page; } body { padding: 0; max-width: none; } }
"""
