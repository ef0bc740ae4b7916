# hsprefs developer tasks. Every target creates .venv when it is missing.
#
# .venv holds exactly what requirements/dev.lock names (every package pinned and hashed,
# installed with --require-hashes), so a fresh machine runs what CI tested. The venv is
# made anew whenever the lock or pyproject.toml changes. `make lock` regenerates the lock;
# `make test-latest` and `make test-lowest` run the suite against the newest releases and
# against the lowest versions pyproject.toml allows, in venvs of their own.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements/dev.lock
TOOLS_LOCK := requirements/tools.lock
# What the check targets need first: the locked venv. test-latest and test-lowest install
# their own venv and then run the checks with INSTALL= (nothing more to install).
INSTALL ?= $(STAMP)
UV := .venv-tools/bin/uv

.PHONY: audit-browser demo test lint typecheck pytest conformance bench bench-quick bench-components soak clean lock test-latest test-lowest

$(STAMP): pyproject.toml $(LOCK) $(TOOLS_LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TOOLS_LOCK)
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

$(UV): $(TOOLS_LOCK)
	test -x .venv-tools/bin/python || $(PYTHON) -m venv .venv-tools
	.venv-tools/bin/python -m pip install --quiet --require-hashes -r $(TOOLS_LOCK)
	touch $(UV)

## lock: regenerate the hashed locks from pyproject.toml and requirements/tools.in
## (newest releases that pyproject.toml allows; the tools agree with the dev lock where
## they share a package; commit the result)
lock: $(UV)
	$(UV) pip compile --quiet --upgrade --universal --custom-compile-command "make lock" --python-version 3.11 --generate-hashes \
		pyproject.toml --extra dev -o $(LOCK)
	$(UV) pip compile --quiet --upgrade --universal --custom-compile-command "make lock" --python-version 3.11 --generate-hashes \
		requirements/tools.in -c $(LOCK) -o $(TOOLS_LOCK)

## test-latest: the whole suite against the newest release of every dependency (no lock)
test-latest:
	rm -rf .venv-latest
	$(PYTHON) -m venv .venv-latest
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade --upgrade-strategy eager -e '.[dev]'
	.venv-latest/bin/python -m pip list --format=freeze > .venv-latest/versions.txt
	$(MAKE) --no-print-directory test VENV=.venv-latest INSTALL=

## test-lowest: the test suite against the lowest versions pyproject.toml allows for the
## direct dependencies (uv's --resolution lowest-direct)
test-lowest: $(UV)
	rm -rf .venv-lowest
	$(UV) venv --quiet --seed --python $(PYTHON) .venv-lowest
	$(UV) pip install --quiet --python .venv-lowest/bin/python --resolution lowest-direct -e '.[dev]'
	$(UV) pip freeze --python .venv-lowest/bin/python > .venv-lowest/versions.txt
	$(MAKE) --no-print-directory pytest VENV=.venv-lowest INSTALL=

## demo: plan and apply the example config against the local emulator
demo: $(INSTALL)
	$(BIN)/python examples/demo.py

## test: lint, type-check and run the test suite (what CI runs)
test: lint typecheck pytest

lint: $(INSTALL)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(INSTALL)
	$(BIN)/mypy

pytest: $(INSTALL)
	$(BIN)/pytest -n auto -p no:cacheprovider -m "not slow"

## soak: long runs: every property test with the soak hypothesis profile, plus the tests
## marked slow (applies against an emulator answering 30% of calls with faults)
soak: $(INSTALL)
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -n auto -p no:cacheprovider

## audit-browser: the audit report in headless Chromium (Debian's chromium package):
## its script, its layout at 1,280 px (no column cut off) and a screenshot in
## .hsprefs/screenshots/; skips, saying how to install Chromium, where there is none
audit-browser: $(INSTALL)
	$(BIN)/pytest -p no:cacheprovider -rs -m browser tests/browser

## conformance: the emulator against HubSpot's OpenAPI files, schemathesis and the official SDK
## (part of pytest too; the spec-based tests skip when ../shared/hubspot-openapi is absent)
conformance: $(INSTALL)
	$(BIN)/pytest -p no:cacheprovider -rs tests/conformance

## bench: the scale suite (1k, 10k, 100k subscribers; the CLI as processes against the
## emulator, with and without HubSpot's rate limit, and the SDK baseline at 10k); writes
## bench/RESULTS.md. BENCH_FLAGS=--include-1m adds 1,000,000 subscribers.
bench: $(INSTALL)
	$(BIN)/python bench/suite.py $(BENCH_FLAGS)

## bench-quick: 10k subscribers, local cost and calls; fails when calls exceed the minimum
## or CPU or memory grew more than 50 % over bench/baseline.json (what .ci/run runs)
bench-quick: $(INSTALL)
	$(BIN)/python bench/suite.py --quick --check-baseline bench/baseline.json

## bench-components: the per-component benchmarks (emulator, export, client, plan, validate,
## history)
bench-components: $(INSTALL)
	$(BIN)/python bench/bench_emulator.py
	$(BIN)/python bench/bench_export.py
	$(BIN)/python bench/bench_client.py
	$(BIN)/python bench/bench_plan.py
	$(BIN)/python bench/bench_validate.py
	$(BIN)/python bench/bench_history.py

clean:
	rm -rf .venv .venv-tools .venv-latest .venv-lowest build dist .pytest_cache .mypy_cache .ruff_cache .hsprefs

## workflows: action.yml and examples/github/ against GitHub's schemas and zizmor (offline)
.PHONY: workflows
workflows: $(INSTALL)
	$(BIN)/check-jsonschema --builtin-schema vendor.github-actions action.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows examples/github/*.yml examples/github/*/*.yml
	$(BIN)/zizmor --offline --min-severity medium action.yml examples/github/*.yml examples/github/*/*.yml
