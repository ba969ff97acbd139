# qkdstack: `make run` and `make test` set everything up in .venv on a fresh machine.
PYTHON ?= python3
LINT_DIRS := $(wildcard src tests benchmarks scripts)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test test-slow bench lint typecheck clean install figures vectors codes

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q src
	$(VENV)/bin/qkd warmup
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/qkd run

lint: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test: $(STAMP)
	$(VENV)/bin/ruff check $(LINT_DIRS)
	$(VENV)/bin/ruff format --check $(LINT_DIRS)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

# The tests behind @pytest.mark.slow (large blocks, 10^9 pulses; `make test` leaves them out).
test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# The known-answer vectors of tests/vectors (seconds; the scripts import nothing from qkdstack).
# Byte for byte the committed files with the numpy they record; `git diff tests/vectors` shows any
# change. tests/golden is not regenerated here: it pins the reports a refactor must keep.
vectors: $(STAMP)
	$(PY) scripts/make_theory_vectors.py

# The LDPC mother codes shipped in src/qkdstack/processing/reconciliation/codes (27 files, under
# a minute on two cores): 65536-bit PEG codes, 2^18- and 2^20-bit quasi-cyclic codes.
codes: $(STAMP)
	$(PY) scripts/make_ldpc_codes.py
	$(PY) scripts/make_ldpc_codes.py qc
	$(PY) scripts/make_ldpc_codes.py qc20

# The figures of docs/img and the example record files of docs/records.md (a few minutes).
figures: $(STAMP)
	$(PY) scripts/make_attack_plots.py --out docs/img
	$(PY) scripts/make_record_examples.py --out examples/records

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
