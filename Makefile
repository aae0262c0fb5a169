# Two commands: `make demo` (install + run the demo) and `make test` (install + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: venv install demo test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

venv: $(BIN)/python

install: venv
	$(BIN)/pip install -q -e .

demo: install
	$(BIN)/revival demo -o revival-demo

test: venv
	$(BIN)/pip install -q -e ".[test]"
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/pip install -q -e ".[test,fast,vmaf]"
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf revival-demo .pytest_cache
