# Bookbridge: `make run` serves the app (with the sandbox when Zoho is not configured),
# `make test` runs the whole suite on SQLite, then again on PostgreSQL when a server answers at
# BOOKBRIDGE_TEST_POSTGRES (default the local one; BOOKBRIDGE_REQUIRE_POSTGRES=1 requires it).
# Both set up .venv from the pinned requirements first; `make test` also installs axe-core
# (pinned in package-lock.json, for the browser tests' accessibility checks) with npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
AXE := node_modules/axe-core/axe.min.js

.PHONY: run test lint bench sandbox clean translations screenshots

$(STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

$(AXE): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $(AXE)

run: $(STAMP)
	$(BIN)/python scripts/run.py

test: $(STAMP) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadgroup $(PYTEST_ARGS)
	$(BIN)/python scripts/test_on_postgres.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# New or changed messages into the French catalogue (then translate them in
# translations/fr/LC_MESSAGES/messages.po; the app compiles it on start).
translations: $(STAMP)
	$(BIN)/python scripts/translations.py update

# Every page at 375 and 1280 px in English and French, into docs/screenshots (the browser
# tests' own walk, after their flows have filled the lists), shrunk for git.
screenshots: $(STAMP) $(AXE)
	rm -rf docs/screenshots
	BOOKBRIDGE_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q tests/browser
	$(BIN)/python scripts/screenshots_index.py docs/screenshots

bench: $(STAMP)
	$(BIN)/python -m bench.refresh_lists

sandbox: $(STAMP)
	$(BIN)/python -m sandbox

clean:
	rm -rf $(VENV) .pytest_cache
