# The two commands of the README. Each sets up what it needs; nothing is assumed installed
# beyond Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
MUTATION_STAMP := $(VENV)/.installed-mutation-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-faults lint format browser mutation mutation-report clean

# `make run SIMULATE=1` brings the demo to life (`recoup simulate`; SIMULATE_AGENTS=20 ...).
run: $(STAMP)
	$(BIN)/recoup dev $(if $(filter-out 0,$(SIMULATE)),--simulate)

test: $(DEV_STAMP) browser
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# The fault suite in full (docs/faults.md): every scenario, more load, 2,000 sockets; it
# prints the table of bench/README.md. `make test` runs its short form.
test-faults: $(DEV_STAMP)
	RECOUP_FAULTS=full $(BIN)/pytest tests/faults

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Mutation testing (docs/testing.md); not part of `make test`. It takes hours over every
# target: MUTANTS='domain.money.*' narrows it to the mutants matching those globs.
mutation: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py run $(MUTANTS)

mutation-report: $(MUTATION_STAMP)
	$(BIN)/python tools/mutation.py report --diff

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Recoup needs Python 3.11 or newer (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

$(DEV_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@ $(STAMP)

$(MUTATION_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/python -m pip install --quiet -e '.[dev,mutation]'
	@rm -f $(VENV)/.installed-*
	@touch $@ $(DEV_STAMP) $(STAMP)

# The browser tests drive Chromium. Debian's package where apt works (Playwright cannot
# download its own browsers everywhere); otherwise Playwright's own download. The
# scale-out tests (tests/scaleout) want Debian's redis-server (7, for a Redis Cluster),
# nginx and iproute2 (network namespaces) as well.
browser: $(DEV_STAMP)
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/bin/redis-server ] || missing="$$missing redis-server"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	if [ -z "$$missing" ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian's$$missing for the browser and scale-out tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	elif [ ! -x /usr/bin/chromium ]; then \
		$(BIN)/playwright install chromium; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants
