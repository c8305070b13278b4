# Set-up is part of every target: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,web]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/matgrad

test: $(STAMP)
	$(BIN)/python -m pytest -q tests src/matgrad

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_derive.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
