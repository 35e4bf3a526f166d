# nmcompiler: two entry points on a fresh machine with only Python.
#   make demo   simulate the embedded default network (examples/cuba.yaml), plot it, and compare
#               float against the bit-accurate fixed-point simulation of the fpga-lif format
#   make test   install the dev extra and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: demo test bench clean venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/nmc simulate examples/cuba.yaml --duration 1s -o out/demo
	$(BIN)/nmc compare examples/cuba.yaml --target fpga-lif --duration 1s -o out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/float_sim.py
	$(BIN)/python benchmarks/bit_sim.py
	$(BIN)/python benchmarks/mapping.py
	$(BIN)/python benchmarks/ring.py
	$(BIN)/python benchmarks/rtl_core.py

clean:
	rm -rf $(VENV) out build *.egg-info
