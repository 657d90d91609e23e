# The two commands a new user needs (see README): `make demo` and `make test`.
# Both create the virtualenv and install everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install clean bench

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/telmon demo

test: $(STAMP)
	scripts/install-system-deps.sh sox:sox
	scripts/install-system-deps.sh prometheus:prometheus promtool:prometheus
	$(BIN)/python -m pytest -q

# Benchmarks are run by hand; figures go to docs/BENCHMARKS.md.
bench: $(STAMP)
	$(BIN)/python bench/ingest.py --events 1000000
	$(BIN)/python bench/latency.py --speed 5
	$(BIN)/python bench/greeting_eval.py

clean:
	rm -rf $(VENV) build *.egg-info
