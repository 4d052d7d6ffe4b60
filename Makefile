# ParkShare developer commands. Only Python 3.11+ and make are needed on the machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint fmt install migrate seed worker serve clean fuzz

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || { echo "==> creating the virtual environment $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> upgrading pip"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@echo "==> installing ParkShare and its dependencies (a few minutes the first time)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar on -e ".[dev]"
	@touch $(STAMP)

# A development .env (DEBUG on, a fresh SECRET_KEY), so manage.py works in any shell;
# written only when there is none (config/devenv.py).
.env: | $(STAMP)
	@$(BIN)/python config/devenv.py .env

install: $(STAMP) .env

migrate: install
	@echo "==> migrating the database"
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py migrate --no-input

seed: migrate
	@echo "==> loading the demo world (under a minute)"
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py seed_demo --accounts-json var/demo-accounts.json

# The main job: install, migrate, load the demo world, print the logins and serve.
run: seed
	@echo "==> collecting static files"
	@DEBUG=$${DEBUG:-true} $(BIN)/python manage.py collectstatic --no-input --verbosity 0
	@echo ""
	@echo "ParkShare is starting on http://$(HOST):$(PORT)/"
	@echo "  start here  http://$(HOST):$(PORT)/"
	@echo "  admin       http://$(HOST):$(PORT)/admin/"
	@echo "  dashboard   http://$(HOST):$(PORT)/reports/   (regulators and park operators)"
	@echo "  API         http://$(HOST):$(PORT)/api/v1/"
	@echo "  API docs    http://$(HOST):$(PORT)/api/docs/"
	@echo "  health      http://$(HOST):$(PORT)/healthz"
	@echo "  demo logins are listed above and in var/demo-accounts.json;"
	@echo "  what to try with them: $(BIN)/python manage.py demo_walkthrough"
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
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Workers and beat against Redis (CELERY_BROKER_URL): one worker for the engine's long runs
# ("matching"), one for everything else ("default", "outbox", "notifications") with beat
# embedded, so that a full rematch never delays the outbox. Ctrl-C stops both.
WORKER_QUEUES ?= default,outbox,notifications
worker: $(STAMP)
	@test -n "$$CELERY_BROKER_URL" || grep -q '^CELERY_BROKER_URL=.' .env 2>/dev/null \
		|| { echo "set CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0): without it tasks run eagerly"; exit 1; }
	trap 'trap - INT TERM EXIT; kill 0' INT TERM EXIT; \
	$(BIN)/celery -A config worker -n matching@%h -Q matching --loglevel=info & \
	$(BIN)/celery -A config worker -n main@%h -Q $(WORKER_QUEUES) --beat --loglevel=info & \
	wait

serve: $(STAMP)
	$(BIN)/gunicorn config.wsgi:application --bind $(HOST):$(PORT) --workers 2 --access-logfile -

clean:
	rm -rf $(VENV) var/*.sqlite3 staticfiles
