# The two commands a newcomer runs: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed

.PHONY: install relink test test-fast test-slow lint format typecheck demo bench clean

# The venv and every dependency: `.[dev]` is every extra of amber (capture, replay, fixtures,
# cli, postgres) plus the tools; `pip install amber` alone is only the test runtime
# (docs/testing.md). Re-run when pyproject.toml changes.
# PIP_QUIET: `make demo` empties it, so a first run shows pip's progress, not silence.
PIP_QUIET ?= -q
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install $(PIP_QUIET) --upgrade pip
	$(PIP) install $(PIP_QUIET) -e '.[dev]' --config-settings editable_mode=strict
	touch $(STAMP)

install: $(STAMP)

# The strict editable install links each file: re-link so new modules are importable.
# (Run mypy from build/: in the repository root, ./amber would shadow the installed
# namespace, which maps capture/, replay/ and fixtures/ into amber.)
relink: $(STAMP)
	$(PIP) install -q --no-deps -e . --config-settings editable_mode=strict

SOURCES := amber capture replay fixtures testing tests benchmarks realapps $(wildcard examples)

lint: relink
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check .  # sources and the Python in docs/*.md
	cd build && ../$(VENV)/bin/mypy --config-file ../pyproject.toml -p amber

typecheck: lint

# Apply the formatting `make test` checks.
format: $(STAMP)
	$(VENV)/bin/ruff format .

# The whole suite: lint, types, unit and integration tests, then the slow marker, each on
# WORKERS pytest-xdist workers (`make test WORKERS=1` for one process, e.g. to read a failure
# in order).
WORKERS ?= 2
test: relink
	$(VENV)/bin/ruff check $(SOURCES)
	$(VENV)/bin/ruff format --check .  # sources and the Python in docs/*.md
	cd build && ../$(VENV)/bin/mypy --config-file ../pyproject.toml -p amber
	$(VENV)/bin/pytest -q -n $(WORKERS)
	$(VENV)/bin/pytest -q -m slow -n $(WORKERS)

test-fast: relink
	$(VENV)/bin/pytest -q -x

# A first run installs .venv (1-3 minutes, pip's progress shown), then the demo runs.
demo:
	@test -f $(STAMP) || echo "make demo: first run, installing amber and its dependencies into $(VENV) (1-3 minutes)"
	@$(MAKE) --no-print-directory relink PIP_QUIET=
	$(VENV)/bin/amber demo

bench: relink
	$(PY) benchmarks/bench_store.py

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
