# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench fuzz clean

CORE   := $(VENV)/.core-installed

# demo needs only the core (NumPy); test installs every extra so that every backend,
# the web page and the browser tests run.
$(CORE): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(CORE)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,compile,web,jax,torch,dask]"
	touch $(STAMP) $(CORE)

demo: $(CORE)
	$(BIN)/matgrad

test: $(STAMP)
	$(BIN)/python -m pytest -q tests src/matgrad

# Benchmarks: derivation speed, the size of the steps, Hessians, compiled code against JAX/PyTorch/SymPy.
# Comparison libraries come from benchmarks/requirements.txt, never from matgrad's deps.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -r benchmarks/requirements.txt
	$(BIN)/python benchmarks/bench_derive.py
	$(BIN)/python benchmarks/bench_steps.py
	$(BIN)/python benchmarks/bench_hessian.py
	$(BIN)/python benchmarks/bench_compile.py

fuzz: $(STAMP)
	$(BIN)/python fuzz/run_fuzz.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
