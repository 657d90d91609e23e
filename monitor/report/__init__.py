"""The compliance officer's monthly report (``telmon report``): aggregation, then one writer per format.

* :mod:`.period`: the month in the foundation's local time, as epoch bounds.
* :mod:`.fastread`: the month's ``call_facts`` rows, one range scan; :mod:`.fast` counts them
  into :mod:`.aggregate`'s per-department, per-person and per-day tallies (memory grows
  with departments x people, never with calls). The only implementation: a test oracle
  folding whole stored calls lives in ``tests/report_oracle.py``.
* :mod:`.columns`: the summary and call-level columns every format shares, so
  the figures cannot drift apart between CSV, XLSX, HTML and PDF.
* :mod:`.evidence`: a verdict's value and evidence as short texts.
* :mod:`.tabular` (CSV, XLSX), :mod:`.charts`, :mod:`.html` + :mod:`.style` (HTML), :mod:`.pdf` (Chromium).
* :mod:`.command`: the ``telmon report`` subcommand.
"""
