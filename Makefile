# Two commands: `make run` and `make test`. Everything else is a helper for those two.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit install lock clean bench screenshots faults

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The sandbox page is served on port 8300; `make run SANDBOX_PORT=8301` picks another.
run: $(STAMP)
	$(BIN)/handinger-slack run --or-sandbox

lint: $(STAMP)
	$(BIN)/ruff check bot emulators tests scripts bench
	$(BIN)/ruff format --check bot emulators tests scripts bench

typecheck: $(STAMP)
	$(BIN)/mypy --strict bot emulators tests bench

unit: $(STAMP)
	$(BIN)/pytest -q

test: lint typecheck unit

# Refresh the README's screenshots (docs/*.png) from the sandbox page's browser tests.
screenshots: $(STAMP)
	SANDBOX_SCREENSHOTS=docs $(BIN)/pytest -q tests/test_sandbox_page.py

bench: $(STAMP)
	$(BIN)/python -m bench

# Every fault try (tests/faults; `make test` runs about one per category). Prints a table of
# tries per category and writes it to faults-table.md for RELIABILITY.md.
faults: $(STAMP)
	FAULTS=full $(BIN)/pytest -q tests/faults

# Re-pin the Docker image's runtime dependencies after changing them in pyproject.toml.
lock: $(STAMP)
	$(BIN)/python scripts/lock_requirements.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache test-artifacts
