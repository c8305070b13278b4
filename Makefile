# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# PyTorch at the version tested, installed on its own before the extras, so that the
# torch extra's range is already met and pip fetches no other build of it.
TORCH  ?= 2.13.0

.PHONY: demo test dist dist-build docs bench fuzz clean

CORE   := $(VENV)/.core-installed

# demo needs only the core (NumPy, array_api_compat); test installs every extra so that
# every backend, the web page and the browser tests run, and `build` for `make dist`.
$(CORE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(CORE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "torch==$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,browser,web,jax,torch,dask,docs]" "build>=1"
	touch $(STAMP) $(CORE)

demo: $(CORE)
	$(BIN)/matgrad

# The distributions as users get them: `python -m build` writes the sdist and the wheel
# (built from the sdist) to dist/, and the wheel is installed in two fresh virtual
# environments, build/smoke/core (the core alone) and build/smoke/web (with the web
# extra). The tests in tests/test_packaging.py run the installed copies: the demo, a
# compiled gradient against evaluate, `matgrad serve` and one request to it.
DIST    := dist
SMOKE   := build/smoke
# pip of .venv installs into an environment made without pip (--python), with no
# byte-compiling: it is run once, and NumPy's files are many
INSTALL = $(BIN)/python -m pip --python $(1) install --quiet --no-compile
SMOKE_ENV := MATGRAD_DIST=$(abspath $(DIST)) \
	MATGRAD_SMOKE_CORE=$(abspath $(SMOKE))/core/bin/python \
	MATGRAD_SMOKE_WEB=$(abspath $(SMOKE))/web/bin/python

dist-build: $(STAMP)
	rm -rf $(DIST) $(SMOKE)
	mkdir -p $(SMOKE)
	$(BIN)/python -m build --outdir $(DIST) . >$(SMOKE)/build.log 2>&1 \
		|| { cat $(SMOKE)/build.log; exit 1; }
	ls -l $(DIST)
	$(PYTHON) -m venv --without-pip $(SMOKE)/core
	$(PYTHON) -m venv --without-pip $(SMOKE)/web
	$(call INSTALL,$(SMOKE)/core/bin/python) $(DIST)/matgrad-*-py3-none-any.whl
	$(call INSTALL,$(SMOKE)/web/bin/python) "$$(ls $(DIST)/matgrad-*-py3-none-any.whl)[web]"

dist: dist-build
	$(SMOKE_ENV) $(BIN)/python -m pytest -q tests/test_packaging.py

test: dist-build
	$(SMOKE_ENV) $(BIN)/python -m pytest -q tests src/matgrad

# The documentation site: the pages of docs/ (mkdocs.yml), the README as the home page and
# the API reference generated from the docstrings, built offline into build/site/ (open
# build/site/index.html; nothing is fetched from a network). --strict fails the build on
# any warning: a broken link, a page left out of the navigation, a name not found.
docs: $(STAMP)
	$(BIN)/python -m mkdocs build --strict --site-dir build/site

# Benchmarks: derivation speed, the size of the steps, Hessians, compiled code against JAX/PyTorch/SymPy.
# Comparison libraries come from benchmarks/requirements.txt, never from matgrad's deps.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/bench_derive.py
	$(BIN)/python benchmarks/bench_steps.py
	$(BIN)/python benchmarks/bench_compactness.py
	$(BIN)/python benchmarks/bench_hessian.py
	$(BIN)/python benchmarks/bench_compile.py

fuzz: $(STAMP)
	$(BIN)/python fuzz/run_fuzz.py

clean:
	rm -rf $(VENV) build dist *.egg-info src/*.egg-info .pytest_cache
