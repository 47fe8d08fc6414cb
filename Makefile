# The two commands of the README: `make run` and `make test`. Both set up .venv on their own.
PYTHON ?= python3
# An active virtualenv (VIRTUAL_ENV) is used as it is; otherwise the project's own .venv.
VENV := $(or $(VIRTUAL_ENV),.venv)
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint serve bench client-types

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The JS client's dependencies, exactly as its committed lockfile says.
JS := clients/js
$(JS)/node_modules/.installed: $(JS)/package-lock.json
	@scripts/ensure-node
	cd $(JS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Development server on the embedded SQLite database (or DATABASE_URL), with demo data: uvicorn over
# databiz/asgi.py, so the dashboard gets the stream as in production, reloading when the code changes.
# `make run LIVE_DEMO=1` also plays the imports service, so the dashboard at / moves.
RUN_SERVER = $(BIN)/uvicorn databiz.asgi:application --host $(HOST) --port $(PORT) --reload \
  --reload-dir databiz --reload-dir jobs --timeout-graceful-shutdown 5
run: export DJANGO_DEBUG ?= 1
run: export DATABIZ_DEMO ?= 1
run: $(VENV)/.runtime
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py prepare_demo
	@TOKEN=$$($(BIN)/python manage.py issue_token alice) && \
	  echo "" && \
	  echo "Serving on http://$(HOST):$(PORT)/  (admin: http://$(HOST):$(PORT)/admin/)" && \
	  echo "An access token for alice (valid 15 minutes; renew with: DJANGO_DEBUG=1 DATABIZ_DEMO=1 $(BIN)/python manage.py issue_token alice):" && \
	  echo "" && \
	  echo "curl -s -H 'Authorization: Bearer $$TOKEN' http://$(HOST):$(PORT)/api/v2/jobs/active" && \
	  echo "curl -sN -H 'Authorization: Bearer $$TOKEN' http://$(HOST):$(PORT)/api/v2/jobs/stream" && \
	  echo "curl -s -H 'Authorization: Bearer $$TOKEN' 'http://$(HOST):$(PORT)/api/v2/jobs/history?page_size=3'" && \
	  echo ""
	@if [ -n "$(LIVE_DEMO)" ]; then \
	  echo "Live demo: uploads start, finish and fail every few seconds (log: play_demo.log)"; \
	  $(BIN)/python manage.py play_demo > play_demo.log 2>&1 & DEMO=$$!; trap "kill $$DEMO" EXIT INT TERM; \
	  $(RUN_SERVER); \
	else \
	  $(RUN_SERVER); \
	fi

# The whole suite, on SQLite by default or on the database DATABASE_URL names: the JS client's type check, unit tests
# and size budget, its build (the package, the dashboard's script, the browser tests' example page), then pytest.
# Tests speak plain HTTP to the test client, as a pod behind the TLS proxy does.
test: export DJANGO_SECRET_KEY ?= insecure-key-for-the-test-suite-only-0123456789
test: export DJANGO_SECURE_SSL_REDIRECT ?= 0
test: export DATABIZ_DEMO ?= 1
test: $(VENV)/.dev $(JS)/node_modules/.installed
	@scripts/ensure-chromium
	@scripts/ensure-node
	cd $(JS) && npm test --silent && npm run --silent size && npm run --silent build
	$(BIN)/pytest $(PYTEST_ARGS)

# After a change of the API: the OpenAPI schema the JS client is typed from, and its types (both committed).
client-types: $(VENV)/.runtime $(JS)/node_modules/.installed
	DJANGO_SECRET_KEY=schema-only $(BIN)/python manage.py spectacular --format openapi-json --file $(JS)/openapi.json
	cd $(JS) && npm run --silent generate

lint: $(VENV)/.dev
	$(BIN)/flake8
	$(BIN)/isort --check-only --diff .

# Production server, DEBUG off, WORKERS processes on PORT (docs/performance.md: the measured choices).
# INTERFACE=wsgi (default): granian over Django's WSGI application, the fastest polling; the stream answers 503, so
# clients poll. INTERFACE=asgi: uvicorn over databiz/asgi.py, the stream too on the same port, at a cost to polling;
# uvicorn holds an open stream in 10 KiB where granian takes 21-30 KiB, and an open stream is what an ASGI server
# holds most of. Prometheus counts of every worker are summed from PROMETHEUS_MULTIPROC_DIR, whose Prometheus files
# (and nothing else) are removed at each start.
WORKERS ?= 2
INTERFACE ?= wsgi
PROMETHEUS_MULTIPROC_DIR ?= $(CURDIR)/.prometheus
# The service caps the open streams itself (JOBS_STREAM_MAX_PER_PROCESS, a JSON 503), so uvicorn sets no cap of its
# own; its graceful stop comes after databiz/asgi.py has ended every stream with a `retry:` hint. h11 reads request
# heads of up to 64 KiB here (16 KiB by default), so that large cookies poll as they do under granian's WSGI server.
SERVER.asgi = $(BIN)/uvicorn databiz.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) \
  --backlog 2048 --http h11 --h11-max-incomplete-event-size 65536 --no-proxy-headers --no-access-log \
  --timeout-graceful-shutdown 4 --log-level warning
SERVER.wsgi = $(BIN)/granian --interface wsgi --host $(HOST) --port $(PORT) --workers $(WORKERS) \
  --blocking-threads 1 --backlog 2048 --no-ws --workers-kill-timeout 4 --log-level warning databiz.wsgi:application
serve: $(VENV)/.runtime
	@test -n "$$DJANGO_SECRET_KEY" || { echo "make serve runs in production mode: set DJANGO_SECRET_KEY."; exit 1; }
	@test -n "$(SERVER.$(INTERFACE))" || { echo "INTERFACE is wsgi or asgi, not '$(INTERFACE)'."; exit 1; }
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput -v0
	mkdir -p "$(PROMETHEUS_MULTIPROC_DIR)" && find "$(PROMETHEUS_MULTIPROC_DIR)" -maxdepth 1 -type f \( -name 'counter_*.db' \
	  -o -name 'gauge_*.db' -o -name 'histogram_*.db' -o -name 'summary_*.db' \) -delete
	DJANGO_DEBUG=0 PROMETHEUS_MULTIPROC_DIR="$(PROMETHEUS_MULTIPROC_DIR)" exec $(SERVER.$(INTERFACE))

# The polling benchmark (PostgreSQL and wrk required; see docs/performance.md).
bench: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/databiz_bench
bench: $(VENV)/.runtime
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -q wrk >/dev/null; } || \
	  { echo "make bench needs wrk (Debian package wrk): apt-get install wrk"; exit 1; }
	$(BIN)/python bench/run.py
