# gradzoo: two commands on a fresh machine.
#   make demo   create .venv, install gradzoo (+ dev tools, Graphviz's dot), run the main lesson
#               (gradzoo compare: why transformers replaced recurrent networks)
#   make test   the same set-up (quick when already done), lint, the whole test suite, doctests
#   make lint   ruff check and the formatter's check (autopep8: see pyproject.toml)
#   make bench  speed and memory against PyTorch (installs the bench extra); bench-gpu on a GPU

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test test-fast doctest lint format docs bench bench-gpu graphviz clean

setup: $(STAMP) graphviz

# Reinstall only when the project's metadata changed (or .venv is new).
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || \
	  { echo "gradzoo needs Python >= 3.10; found $$($(PYTHON) --version)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Graphviz's `dot` program draws the computation graphs. Install it with the
# system package manager when we can; otherwise say how (gradzoo still works,
# and writes .dot files instead of pictures).
graphviz:
	@command -v dot >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "installing Graphviz (dot) with apt-get"; \
	    (apt-get install -y -qq graphviz >/dev/null 2>&1 || \
	     (apt-get update -qq >/dev/null && apt-get install -y -qq graphviz >/dev/null)) || \
	    echo "could not install Graphviz; install it by hand (apt install graphviz)"; \
	  elif command -v brew >/dev/null 2>&1; then \
	    brew install graphviz || echo "could not install Graphviz; try: brew install graphviz"; \
	  else \
	    echo "Graphviz's 'dot' is missing: install it (apt install graphviz / brew install graphviz / conda install graphviz); graphs are written as .dot files until then"; \
	  fi; }

# The main lesson: rnn, lstm and transformer on `remember` over growing distance.
demo: setup
	$(BIN)/gradzoo compare --jobs 2

test: setup lint
	$(BIN)/python -m pytest -q
	$(MAKE) --no-print-directory doctest

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

# The examples in the package's docstrings run as tests too.
doctest: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider --doctest-modules gradzoo

# docs/cli.md is generated from the click commands (a test fails when it is stale).
docs: setup
	$(BIN)/python docs/make_cli_reference.py

# The formatter is autopep8 (pycodestyle's rules): it mends what PEP 8 asks and leaves the
# aligned comments beside the formulas alone, which a black-style formatter would undo.
LINTED := gradzoo tests examples benchmarks docs

lint: setup
	$(BIN)/ruff check $(LINTED)
	$(BIN)/autopep8 --diff --exit-code --recursive $(LINTED) >/dev/null || \
	  { $(BIN)/autopep8 --diff --recursive $(LINTED); echo "run: make format"; exit 1; }

format: setup
	$(BIN)/autopep8 --in-place --recursive $(LINTED)

# Speed and memory against PyTorch (CPU); docs/performance.md says what each workload is.
bench: setup
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python -m benchmarks

# The same on an NVIDIA GPU (needs CuPy and a CUDA build of PyTorch).
bench-gpu: setup
	$(BIN)/python -m benchmarks --gpu

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache build *.egg-info
