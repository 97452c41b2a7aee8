# shortstack: the template repository's own commands. `make help` lists them.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# uv runs every tool here. When it is not on PATH, it is installed into .tools/ with
# nothing but Python, so a new machine needs only python3 (and Go for the Go flavour).
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --no-sync
# The tests run uv themselves (scratch environments, renders): they use this one, so a machine
# without uv on PATH runs them as well as one with it.
export SHORTSTACK_UV := $(UV)
PYTEST_ARGS ?=
# Tests run in parallel, one worker per core (the renders mostly wait on subprocesses); tests
# that share a rendered service stay in one worker (tests/conftest.py). TEST_JOBS=0: serial.
TEST_JOBS ?= auto

.PHONY: help setup demo scenarios test lint format locks docs setup-panic-handler clean

help: ## list the commands
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# Quiet, and on stderr: `make setup-panic-handler DRY_RUN=1` prints the diff alone on stdout,
# the first time too.
$(CURDIR)/.tools/bin/uv:
	@echo "uv is not on PATH: installing it into .tools/" >&2
	@python3 -m venv .tools >&2
	@.tools/bin/python -m pip install --quiet --disable-pip-version-check uv >&2

setup: $(UV) ## install the template's dev tools into .venv
	$(UV) sync --quiet

demo: setup ## render a demo service into demo/, set it up, and show it answering and crashing
	$(RUN) python -m shortstack.demo demo

scenarios: setup ## measure the before/after table (default output vs ours) on a fresh demo
	$(RUN) python -m shortstack.scenarios --dest demo-scenarios

test: setup ## the whole test suite: render the template, run each output's make setup/lint/test
	$(RUN) pytest -n $(TEST_JOBS) --dist loadgroup $(PYTEST_ARGS)

# errutil's tests are plain Python in the template too (only _subject.py.jinja names the package
# errutil is in): ruff checks them here with the generated project's rules (its pyproject.toml).
ERRUTIL_TESTS := template/python/{{tests_dir}}/{{errutil_module}}
ERRUTIL_TESTS_RULES := --extend-select N,PL,PT \
	--ignore N999,PLR0911,PLR0912,PLR0913,PLR2004,PLC0415

lint: setup ## ruff and mypy on the template's own tooling and errutil's tests; go vet and gofmt on gowire
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) ruff check $(ERRUTIL_TESTS_RULES) '$(ERRUTIL_TESTS)'
	$(RUN) ruff format --check '$(ERRUTIL_TESTS)'
	$(RUN) mypy
	go -C gowire vet ./...
	@test -z "$$(gofmt -l gowire)" || { gofmt -l gowire; echo "gofmt: the files above need formatting" >&2; exit 1; }

format: setup ## apply ruff's formatting and safe fixes
	$(RUN) ruff format . '$(ERRUTIL_TESTS)'
	$(RUN) ruff check --fix .
	$(RUN) ruff check --fix $(ERRUTIL_TESTS_RULES) '$(ERRUTIL_TESTS)'

locks: setup ## re-resolve the generated service's dependencies (template/shared/locks, copier.yml)
	$(RUN) python -m shortstack.locks

docs: setup ## build the documentation site (strict)
	NO_MKDOCS_2_WARNING=1 $(RUN) mkdocs build --strict

# Only the setup-panic-handler target reads these: see `python -m shortstack.inject --help`.
# DEST, PACKAGE and LOGGER reach the tool through the environment, as raw text ($(value ...)):
# a path holding `$`, a quote or a backtick is neither expanded by make nor run by the shell.
SETUP_PANIC_HANDLER_FLAGS = $(if $(filter-out 0,$(DRY_RUN)),--dry-run) \
	$(if $(filter-out 0,$(FORCE)),--force) $(if $(filter-out 0,$(CHECK)),--check)
setup-panic-handler: export SHORTSTACK_DEST := $(value DEST)
setup-panic-handler: export SHORTSTACK_PACKAGE := $(value PACKAGE)
setup-panic-handler: export SHORTSTACK_LOGGER := $(value LOGGER)

# Syncs quietly itself (not through `setup`), so DRY_RUN=1 prints the diff and nothing else.
setup-panic-handler: $(UV) ## add errutil to a repo: DEST=../repo [DRY_RUN=1] [FORCE=1] [PACKAGE=name] [CHECK=1] [LOGGER=zap]
	$(if $(value DEST),,@echo "usage: make setup-panic-handler DEST=../their-repo [DRY_RUN=1] [FORCE=1] [PACKAGE=name] [CHECK=1] [LOGGER=slog|zap|logrus]" >&2; exit 2)
	@$(UV) sync --quiet
	@$(RUN) python -m shortstack.inject $(SETUP_PANIC_HANDLER_FLAGS)

clean: ## remove the environment, caches and the demo
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache site demo demo-scenarios
