# The README's two commands: `make demo` and `make test`. Both set themselves up from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Meltano runs from a venv of its own (as `pipx install meltano` would), and installs each plugin into
# .meltano/ with uv, as on a user's machine.
MELTANO_VENV := .venv-meltano
MELTANO := $(MELTANO_VENV)/bin/meltano
MELTANO_VERSION := 4.4.1
PLUGINS_STAMP := .meltano/.installed
# `make bench BENCH_ARGS="--quick"` (a short check of every row) or `BENCH_ARGS="--write"` (to results.md)
BENCH_ARGS ?=

.PHONY: demo test test-real real-mautic lint bench bench-real clean meltano

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(MELTANO):
	test -x $(MELTANO_VENV)/bin/python || $(PY) -m venv $(MELTANO_VENV)
	$(MELTANO_VENV)/bin/python -m pip install -q 'meltano==$(MELTANO_VERSION)'

$(PLUGINS_STAMP): $(MELTANO) meltano.yml pyproject.toml
	MELTANO_SEND_ANONYMOUS_USAGE_STATS=false $(MELTANO) install
	touch $(PLUGINS_STAMP)

meltano: $(PLUGINS_STAMP)

demo: $(STAMP) $(PLUGINS_STAMP)
	$(BIN)/python -m scripts.demo

# ruff, and mypy as configured in pyproject.toml (strict on mautic_api, --check-untyped-defs on the rest,
# tests, benchmarks and scripts included)
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

# The whole suite at the plugins' defaults, then the tap and target suites at max_concurrency 1, in two lanes
# side by side: the end-to-end tests in one, the rest in the other (scripts/test_lanes.py says why).
test: lint $(PLUGINS_STAMP)
	$(BIN)/python -m scripts.test_lanes

# Opt-in, never in CI: the suite against a real Mautic 5.1.0 built by scripts/real_mautic.sh (README,
# "Development"). Reads MAUTIC_REAL_URL and the rest from the instance folder.
test-real: $(STAMP) $(PLUGINS_STAMP)
	eval "$$(scripts/real_mautic.sh env)" && scripts/real_mautic.sh start && $(BIN)/python -m pytest -q tests/real

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)

# Opt-in, never in CI: the tap against the raw keyset loops on the real Mautic of `make test-real`
# (reset and seeded with 3,000 and 10,000 contacts), then the target's 1,000 upserts (new, changed,
# unchanged) at 1 lane and at its defaults; BENCH_ARGS="--write" writes benchmarks/results.md.
bench-real: $(STAMP)
	eval "$$(scripts/real_mautic.sh env)" && scripts/real_mautic.sh start && $(BIN)/python -m benchmarks.real $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(MELTANO_VENV) .meltano .pytest_cache build dist *.egg-info
