# Make targets are the interface: CI calls the same ones a person types.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# The Pythons the project runs on (pyproject.toml's requires-python; a test holds the two together).
PY_RANGE := 3.11-3.13
PY_SUPPORTED := import sys; sys.exit(not (3, 11) <= sys.version_info[:2] <= (3, 13))
# The first supported Python that runs, to offer when the one named does not: on PATH, else one pyenv
# installed (a pyenv shim of a version not selected is on PATH and fails when run: it does not count).
PY_FIND_SUPPORTED := { which -a python3.13 python3.12 python3.11; ls -d "$${PYENV_ROOT:-$$HOME/.pyenv}"/versions/3.1[123]*/bin/python3.1[123]; } \
	2>/dev/null | while IFS= read -r candidate; do "$$candidate" -c '$(PY_SUPPORTED)' 2>/dev/null && { echo "$$candidate"; break; }; done
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 3000
STACK ?= webhook-intake-$(or $(ENV),dev)
# SAM CLI asks before sending usage data; never from here.
export SAM_CLI_TELEMETRY := 0
# Bytecode caches (__pycache__/, git-ignored) are written even where the environment turns them
# off: the tests start dozens of Python processes that import the same code (pytest workers, the
# local stack, the CLI), and compiling it all again in each was a tenth of `make test`. The layer
# build removes them and compiles its own for python3.13.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup demo serve test test-fast lint build python3.13 validate bench soak load deploy env-vars clean

help: ## list the targets
	@grep -E '^[a-z0-9.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# checkov lives in a virtual environment of its own: its pinned dependencies would fight ours.
# It is made by .venv/'s Python, the one make setup checked (python3 may be one outside the range).
CHECKOV_VENV := $(VENV)/tools/checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov

$(CHECKOV): | $(STAMP)
	$(BIN)/python -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet "checkov>=3.2,<4"

# The stamp holds the directory .venv/ was made in: its scripts and its install of the project name that
# directory, so a .venv/ carried along when the clone is moved or copied runs nothing, or the other clone's code.
VENV_MADE_IN := $(shell cat $(STAMP) 2>/dev/null)
ifneq ($(VENV_MADE_IN),)
ifneq ($(VENV_MADE_IN),$(CURDIR))
.PHONY: $(STAMP)
endif
endif

# The first install takes a minute or two: say what happens, a line per step and per package
# pip collects (its whole output goes to .venv/pip.log; its errors still reach the terminal).
# The runtime dependencies at the Lambda layer's pins (pip's constraints): the tests run with what ships.
$(STAMP): pyproject.toml layers/shared/requirements.txt
	@if test -n "$(VENV_MADE_IN)" && test "$(VENV_MADE_IN)" != "$(CURDIR)"; then echo "error: $(VENV)/ was made in" \
		"$(VENV_MADE_IN), and its commands run from there (the clone was moved or copied since): remove it" \
		"(rm -rf $(VENV)) and run make setup again" >&2; exit 1; fi
	@# A Python outside the range is named before anything is made, and a .venv/ one made is not reused.
	@# (-L too: a .venv/ whose Python was removed holds a link to nothing, which test -x calls absent.)
	@# Its version is read from both streams: a Python 2 prints it on stderr.
	@# A .venv/ without pip is one whose creation was stopped (Ctrl-C while venv ran ensurepip, a Debian/Ubuntu
	@# Python without its venv package, a full TMPDIR): pip is put in, or what to do is said. venv stopping there
	@# says only that ensurepip failed, so its .venv/ goes on to that step too, where the reason is seen.
	@if test -L $(BIN)/python || test -x $(BIN)/python; then \
		$(BIN)/python -c '$(PY_SUPPORTED)' 2>/dev/null || { echo "error: $(VENV)/ was made with" \
			"$$($(BIN)/python --version 2>&1 | grep "^Python " || echo a Python that no longer runs), and webhook-intake needs" \
			"Python $(PY_RANGE): remove it (rm -rf $(VENV)) and run make setup again (PYTHON=… names the Python)" >&2; \
			exit 1; }; \
	else \
		$(PYTHON) -c '$(PY_SUPPORTED)' 2>/dev/null || { found=$$($(PY_FIND_SUPPORTED)); echo "error: $(PYTHON) is" \
			"$$($(PYTHON) --version 2>&1 | grep "^Python " || echo no Python that runs here), and webhook-intake needs" \
			"Python $(PY_RANGE): $$(if test -n "$$found"; then echo "make setup PYTHON=$$(printf %q "$$found")" \
			"names one found here"; else echo "install one and name it, e.g. make setup PYTHON=python3.12 (a pyenv" \
			"version not selected runs only by its path: ~/.pyenv/versions/3.12.<n>/bin/python3.12)"; fi)" >&2; exit 1; }; \
		echo "==> creating $(VENV)/ with $$($(PYTHON) --version)"; \
		$(PYTHON) -m venv $(VENV) || test -x $(BIN)/python || exit 1; \
	fi; \
	$(BIN)/python -m pip --version >/dev/null 2>&1 || { echo "==> $(VENV)/ has no pip (its creation did not" \
		"finish): installing it"; $(BIN)/python -m ensurepip --upgrade --default-pip >/dev/null || { echo "error:" \
		"pip could not be put in $(VENV)/ (above: why; a Debian or Ubuntu Python without its venv package has no" \
		"ensurepip: apt install python3-venv, or python3.N-venv for a Python 3.N), then remove $(VENV)/" \
		"(rm -rf $(VENV)) and run make setup again" >&2; exit 1; }; }
	@echo "==> upgrading pip"
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> installing webhook-intake and its development tools (a minute or two the first time)"
	@set -o pipefail; $(BIN)/python -m pip install --progress-bar off -e '.[dev]' -c layers/shared/requirements.txt | tee $(VENV)/pip.log \
		| grep --line-buffered -E '^(Collecting|Successfully installed)' | cut -c1-100 | sed -u 's/^/    /'
	@printf '%s\n' "$(CURDIR)" > $(STAMP)
	@echo "==> ready: $(BIN)/intake --help"

setup: $(STAMP) ## create .venv/ and install the project with its development tools

demo: $(STAMP) ## run every sample through the local stack and show what was stored
	$(BIN)/intake demo

serve: $(STAMP) ## run the local stack until Ctrl-C (PORT=3000)
	$(BIN)/intake serve --port $(PORT)

# Three workers on two cores: the end-to-end tests spend most of their time waiting on the stack
# they started in another process, and a third worker uses that time; worksteal evens out the end.
test: $(STAMP) ## run the test suites
	$(BIN)/python -m pytest -n 3 --dist worksteal -q

test-fast: $(STAMP) ## every suite but the end-to-end one (no local stack started)
	$(BIN)/python -m pytest -n 2 --dist worksteal -q --ignore=tests/e2e

# One linter per concern. ruff lints the Python (its S rules are the security checks) and mypy
# types it. For the template: `sam validate --lint` runs SAM's own validation and cfn-lint's errors
# and warnings; cfn-lint on its own runs only its informational checks (the I rules), which sam
# validate leaves out; checkov checks security settings. checkov reads the expanded template
# because it does not expand Fn::ForEach and would skip every resource a loop makes.
lint: $(STAMP) ## ruff, mypy, then the template checks (make validate)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/shared/webhook_intake src/intake_cli
	@$(MAKE) --no-print-directory validate

EXPANDED := .aws-sam/template.expanded.json
TRANSLATED := .aws-sam/template.translated.json
# The modes the defaults leave off (provisioned capacity, no active tracing, the silence alarm,
# retention, an alarm address): cfn-lint resolves the template's conditions with these values too.
OTHER_MODES := TableBillingMode=PROVISIONED TracingMode=PassThrough SilentVendorHours=24 RetentionDays=30 \
	AlarmEmail=ops@news.example

validate: $(STAMP) $(CHECKOV) ## the template checks: sam validate --lint, cfn-lint (informational), checkov, cfn-lint of SAM's output
	$(BIN)/sam validate --lint --template template.yaml
	$(BIN)/cfn-lint --include-checks I --ignore-checks E W -- template.yaml
	@mkdir -p $(dir $(EXPANDED))
	$(BIN)/python -m intake_cli.template > $(EXPANDED)
	@# By its Python: pip writes checkov's script with that Python's path as its first line, which the kernel
	@# cuts at a space (a clone under "my projects/") and at its length limit (255 bytes; 127 before Linux 5.1).
	$(CHECKOV_VENV)/bin/python $(CHECKOV) --config-file .checkov.yaml --file $(EXPANDED)
	$(BIN)/python -m tests.infrastructure.translated > $(TRANSLATED)
	$(BIN)/cfn-lint --ignore-checks W -- $(TRANSLATED)
	$(BIN)/cfn-lint --ignore-checks W --parameters $(OTHER_MODES) -- $(TRANSLATED)

# A python3.13 compiles the layer's bytecode (layers/shared/Makefile); without one the build still
# works, and says what the layer lacks.
PY313_DIR := $(VENV)/tools/python3.13
PY313_SOURCE := http://deb.debian.org/debian/pool/main/p/python3.13/python3.13_3.13.5.orig.tar.xz
PY313_SHA256 := 93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640

build: $(STAMP) ## sam build for python3.13 on arm64 (no Docker; bytecode when a python3.13 is found)
	PATH="$(CURDIR)/$(BIN):$(CURDIR)/$(PY313_DIR)/bin:$$PATH" $(BIN)/sam build --parallel

python3.13: $(PY313_DIR)/bin/python3.13 ## build CPython 3.13 from Debian's source package into .venv/tools (5-10 minutes)

$(PY313_DIR)/bin/python3.13:
	@mkdir -p $(VENV)/tools/src
	@echo "Downloading CPython 3.13 source from Debian's archive…"
	curl -fsSL -o $(VENV)/tools/src/python3.13.tar.xz $(PY313_SOURCE)
	echo "$(PY313_SHA256)  $(VENV)/tools/src/python3.13.tar.xz" | sha256sum -c --quiet
	tar -xJf $(VENV)/tools/src/python3.13.tar.xz -C $(VENV)/tools/src
	@echo "Building CPython 3.13 (a few minutes; progress in $(VENV)/tools/src/python3.13.log)…"
	@# CPython's install names its prefix unquoted, so a clone under "my projects/" installs through a link
	@# without a space; the prefix built in (where the interpreter finds its library) is the real one.
	@mkdir -p "$(CURDIR)/$(PY313_DIR)"
	cd $(VENV)/tools/src/Python-3.13.* && ./configure --prefix="$(CURDIR)/$(PY313_DIR)" --without-ensurepip \
		> ../python3.13.log 2>&1 && $(MAKE) -j"$$(nproc)" >> ../python3.13.log 2>&1 \
		&& link=$$(mktemp -d /tmp/python3.13.XXXXXX) && ln -s "$(CURDIR)/$(PY313_DIR)" "$$link/prefix" \
		&& { $(MAKE) altinstall prefix="$$link/prefix" >> ../python3.13.log 2>&1; done=$$?; rm -rf "$$link"; exit $$done; }
	@echo "python3.13 is $(PY313_DIR)/bin/python3.13: make build compiles the layer's bytecode with it"

soak: $(STAMP) ## the property tests through the local stack with 25 times the examples (not part of make test)
	HYPOTHESIS_PROFILE=soak $(BIN)/python -m pytest -n 2 -q tests/integration/test_hostile_input.py tests/integration/test_mixed_batches.py tests/property

bench: $(STAMP) ## benchmarks: benchmarks/results.json and docs/performance.md (not part of make test)
	$(BIN)/python -m benchmarks --write

load: $(STAMP) ## bounded flood test on the local stack (not part of make test)
	$(BIN)/python -m benchmarks.load

# The region and credentials are your AWS configuration's (AWS_PROFILE,
# AWS_DEFAULT_REGION, ~/.aws/config); REGION=… overrides the region for this deploy only.
deploy: $(STAMP) ## make build, then sam deploy: ENV=dev|prod (samconfig.toml), your AWS profile and region (REGION=… to override)
	@# Checked before anything is built: the environment, its parameters, the region, credentials and the stack it
	@# deploys (a STACK=… given or exported must be that one). One line a step: make -n deploy runs none.
	@mkdir -p .aws-sam && $(BIN)/python -m intake_cli.parameters --config-env $(or $(ENV),dev) \
		$(if $(REGION),--region "$(REGION)") $(if $(filter command line environment environment override,$(origin STACK)),--stack "$(STACK)") \
		$(if $(filter command line,$(origin PROFILE)),--profile "$(PROFILE)") > .aws-sam/deploy-target
	$(MAKE) --no-print-directory build
	@read -r region stack < .aws-sam/deploy-target && echo "==> deploying $$stack (ENV=$(or $(ENV),dev)) to $$region" && \
		$(BIN)/sam deploy --config-env $(or $(ENV),dev) --region "$$region"

env-vars: $(STAMP) ## write .aws-sam/env-vars.json for sam local invoke, from a deployed stack (STACK=…, REGION=…)
	@mkdir -p .aws-sam
	@# Written whole or not at all: a stack that cannot be read leaves the last file as it was.
	$(BIN)/python -m intake_cli.env_vars --stack $(STACK) $(if $(REGION),--region $(REGION)) > .aws-sam/env-vars.json.tmp \
		&& mv .aws-sam/env-vars.json.tmp .aws-sam/env-vars.json || { rm -f .aws-sam/env-vars.json.tmp; exit 1; }
	@echo "wrote .aws-sam/env-vars.json for stack $(STACK)"

clean: ## remove build output and local state (keeps .venv)
	rm -rf .aws-sam .intake .pytest_cache .mypy_cache .ruff_cache .hypothesis
