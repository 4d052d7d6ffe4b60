# ParkShare developer commands. Only Python 3.11+ and make are needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt install migrate seed worker serve clean fuzz

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input

seed: migrate
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --accounts-json var/demo-accounts.json

# The main job: install, migrate, load the demo world, print the logins and serve.
run: seed
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo ""
	@echo "ParkShare is starting on http://$(HOST):$(PORT)/"
	@echo "  admin       http://$(HOST):$(PORT)/admin/"
	@echo "  API         http://$(HOST):$(PORT)/api/v1/"
	@echo "  API docs    http://$(HOST):$(PORT)/api/docs/"
	@echo "  health      http://$(HOST):$(PORT)/healthz"
	@echo "  demo logins are listed above and in var/demo-accounts.json"
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py runserver $(HOST):$(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

# The API against its own schema: schemathesis fuzzes a live gunicorn on a fresh database
# with the demo world (tests/contract/fuzz.sh; DATABASE_URL=postgres://... for PostgreSQL).
fuzz: $(STAMP)
	BIN=$(BIN) bash tests/contract/fuzz.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(STAMP)
	$(BIN)/celery -A config worker --loglevel=info --beat

serve: $(STAMP)
	$(BIN)/gunicorn config.wsgi:application --bind $(HOST):$(PORT) --workers 2 --access-logfile -

clean:
	rm -rf $(VENV) var/*.sqlite3 staticfiles
