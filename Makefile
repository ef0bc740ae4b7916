# hsprefs developer tasks. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck pytest conformance bench soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: plan and apply the example config against the local emulator
demo: $(STAMP)
	$(BIN)/python examples/demo.py

## test: lint, type-check and run the test suite (what CI runs)
test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -n auto -p no:cacheprovider -m "not slow"

## soak: long runs: every property test with the soak hypothesis profile, plus the tests
## marked slow (applies against an emulator answering 30% of calls with faults)
soak: $(STAMP)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -n auto -p no:cacheprovider

## conformance: the emulator against HubSpot's OpenAPI files, schemathesis and the official SDK
## (part of pytest too; the spec-based tests skip when ../shared/hubspot-openapi is absent)
conformance: $(STAMP)
	$(BIN)/pytest -p no:cacheprovider -rs tests/conformance

## bench: throughput benchmarks (they print rates and ratios; one script per line)
bench: $(STAMP)
	$(BIN)/python bench/bench_emulator.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_client.py
	$(BIN)/python bench/bench_plan.py
	$(BIN)/python bench/bench_validate.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hsprefs
