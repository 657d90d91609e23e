# The two commands a new user needs (see README): `make demo` and `make test`.
# Both create the virtualenv and install everything on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-core lint install clean bench

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/telmon demo

test: $(STAMP)
	scripts/install-system-deps.sh sox:sox systemd-analyze:systemd
	scripts/install-system-deps.sh prometheus:prometheus promtool:prometheus
	scripts/install-system-deps.sh chromium:chromium pdftoppm:poppler-utils pdftotext:poppler-utils
	scripts/install-system-deps.sh file:/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc:fonts-noto-cjk
	@# The real Asterisk kit (../shared/asterisk or TELMON_PBX_KIT): install the libraries it needs.
	@kit="$${TELMON_PBX_KIT:-../shared/asterisk}"; if [ -f "$$kit/pbx.sh" ]; then \
	    bash "$$kit/pbx.sh" deps --install-deps >/dev/null || echo "Asterisk kit: missing libraries (see above)"; \
	else echo "Asterisk kit not found ($$kit): the real-PBX tests will be skipped"; fi
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -q

# Style and types, run by `make test`: ruff on everything (pyproject.toml [tool.ruff]); mypy --strict on
# the pure core, the AMI codec, the pipeline and the metrics package (setup.cfg [mypy]).
STRICT := monitor/core monitor/ami monitor/pipeline.py monitor/metrics
lint: $(STAMP)
	$(BIN)/ruff check monitor tests bench
	$(BIN)/mypy --strict $(STRICT)

# The fast core while developing (~20 s on 2 cores): every test but those needing PostgreSQL, Chromium,
# Prometheus, the speech models or corpus, the Asterisk kit, or many seconds (markers: pyproject.toml).
CORE := not pg and not browser and not prometheus and not speech and not pbx and not slow
test-core: $(STAMP)
	$(BIN)/python -m pytest -q -m "$(CORE)"

# Benchmarks (issue 7), run by hand: every bench/ script, then docs/BENCHMARKS.md is
# rewritten from the results (~20 min on 2 cores). bench/run_all.py --quick checks the plumbing.
bench: $(STAMP)
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
