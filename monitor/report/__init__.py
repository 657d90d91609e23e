"""The compliance officer's monthly report (``telmon report``): aggregation, then one writer per format.

* :mod:`.period`: the month in the foundation's local time, as epoch bounds.
* :mod:`.reader`: the month's calls streamed with SQLAlchemy Core (no ORM objects).
* :mod:`.aggregate`: folds stored calls one at a time into per-department and
  per-person tallies (memory grows with departments x people, never with calls).
* :mod:`.columns`: the summary and call-level columns every format shares, so
  the figures cannot drift apart between CSV, XLSX, HTML and PDF.
* :mod:`.evidence`: a verdict's value and evidence as short texts.
* :mod:`.tabular` (CSV, XLSX), :mod:`.charts`, :mod:`.html` + :mod:`.style` (HTML), :mod:`.pdf` (Chromium).
* :mod:`.command`: the ``telmon report`` subcommand.
"""
