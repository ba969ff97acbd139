# qkdstack: `make run` and `make test` set everything up in .venv on a fresh machine.
PYTHON ?= python3
LINT_DIRS := $(wildcard src tests benchmarks scripts)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint typecheck clean install figures

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

# The figures of docs/img and the example record files of docs/records.md (a few minutes).
figures: $(STAMP)
	$(PY) scripts/make_attack_plots.py --out docs/img
	$(PY) scripts/make_record_examples.py --out examples/records

bench: $(STAMP)
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
