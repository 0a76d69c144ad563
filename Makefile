# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
CHROMIUM ?= /usr/bin/chromium

.PHONY: run serve test test-sqlite test-postgresql install install-dev translations translations-update browser lint bench clean

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## Compile the interface translations (Vietnamese) into .mo files.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d app/translations

## After changing interface text: refresh the catalog, then translate the new entries.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output -o app/translations/messages.pot .
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations --width 100 --no-fuzzy-matching --ignore-obsolete

## The portal on the embedded default (SQLite in instance/, files in uploads/), with the demo school.
run: $(VENV)/.installed translations
	$(FLASK) db upgrade
	PORTAL_DEMO=1 $(FLASK) demo ensure
	$(FLASK) scores refresh
	@echo "Serving http://127.0.0.1:5000 with a job worker beside it (Ctrl+C stops both)"
	$(FLASK) jobs worker & worker=$$!; trap "kill $$worker 2>/dev/null" EXIT INT TERM; \
		$(FLASK) run --host 127.0.0.1 --port 5000

## The portal for real use (a school's PC, or one app server): gunicorn with a worker per
## core and the job worker, on HOST:PORT (default 0.0.0.0:8000, every network of the
## machine); it prints the addresses phones on the school's Wi-Fi can open.
serve: $(VENV)/.installed translations
	$(FLASK) db upgrade
	$(FLASK) serve

## Debian's Chromium for the browser tests (no browser download).
browser:
	@test -x $(CHROMIUM) || { echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

## The whole suite on SQLite, then on PostgreSQL when TEST_DATABASE_URL is set, each spread
## over one pytest-xdist worker per core (TEST_WORKERS=0: one process). On PostgreSQL each
## worker uses its own database beside TEST_DATABASE_URL's (<name>_gw0, ...; see tests/conftest.py).
## Bytecode is cached even where the environment sets PYTHONDONTWRITEBYTECODE: each worker
## and each portal a test starts would otherwise compile the app, and pytest rewrite every
## test module, again (about 5 s of a core per worker).
TEST_WORKERS ?= auto
PYTEST := PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal

test: test-sqlite test-postgresql

test-sqlite: $(VENV)/.installed-dev translations browser
	$(PYTEST)

test-postgresql: $(VENV)/.installed-dev translations
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		$(PYTEST) --db=postgresql -m "not browser and not database_free"; \
	else echo "TEST_DATABASE_URL is not set: skipping the PostgreSQL run"; fi

## Speed figures (written to bench/results/); BENCH_DATABASE_URL measures on PostgreSQL.
bench: $(VENV)/.installed-dev translations
	$(BIN)/python bench/score_bench.py
	$(BIN)/python bench/import_bench.py
	$(BIN)/python bench/integrity_bench.py
	$(BIN)/python bench/evidence_bench.py
	$(BIN)/python bench/report_bench.py
	$(BIN)/python bench/package_bench.py
	$(BIN)/python bench/planner_bench.py
	$(BIN)/python bench/district_bench.py
	$(BIN)/python bench/backup_bench.py
	$(BIN)/python bench/load_bench.py

## ruff over the code, and bandit over app/ with no medium or high finding (each `# nosec` says why).
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check app tests migrations
	$(BIN)/bandit -c pyproject.toml -r app -ll -q

clean:
	rm -rf $(VENV) .pytest_cache
