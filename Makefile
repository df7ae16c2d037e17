# fangkong: `make demo` runs the platform with the demo city; `make test` runs the whole suite.
SHELL := /bin/bash
UV := $(shell tools/ensure-uv.sh)
export UV_LINK_MODE := copy

.PHONY: demo serve test test-fast lint bench i18n deps deps-dev assets clean

PORT ?= 8000

demo: deps assets ## Build the demo city (Lanzhou) into var/ and serve it at http://127.0.0.1:$(PORT)
	$(UV) run --no-dev fangkong demo --port $(PORT)

serve: deps assets
	$(UV) run --no-dev fangkong serve --port $(PORT)

test: deps-dev assets ## The whole suite, on SQLite and PostgreSQL, with the browser tests (both cores)
	$(UV) run pytest -q -n 2

test-fast: deps-dev ## Without the browser and Spark tests
	$(UV) run pytest -q -m "not browser and not spark"

lint: deps-dev
	$(UV) run ruff check src tests bench tools
	$(UV) run lint-imports
	$(UV) run mypy

bench: deps-dev ## Benchmarks: printed figures and ratios against baselines run in the same process
	$(UV) run python bench/run.py

i18n: deps-dev ## Extract new strings into the catalogues (then translate the empty msgstr entries)
	mkdir -p var
	$(UV) run pybabel extract -F babel.cfg -k N_ -o var/messages.pot src
	$(UV) run python tools/update_catalogue.py

deps:
	$(UV) sync --frozen --no-dev

deps-dev:
	$(UV) sync --frozen

assets:
	tools/vendor-assets.sh

clean:
	rm -rf var .pytest_cache .ruff_cache node_modules src/fangkong/core/web/static/vendor
