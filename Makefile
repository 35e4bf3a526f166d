# nmcompiler: two entry points on a fresh machine with only Python.
#   make demo   simulate the embedded default network (examples/cuba.yaml), plot it, and compare
#               float against the bit-accurate fixed-point simulation of the fpga-lif format
#   make test   install the dev extra and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-bench

.PHONY: demo test docs fuzz bench bench-quick clean clean-cache venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	# PyNN's system-test scenarios and examples ship only in its source distribution
	rm -rf $(VENV)/pynn-src && mkdir -p $(VENV)/pynn-src
	$(BIN)/python -m pip download --quiet --no-deps --no-binary :all: --dest $(VENV)/pynn-src \
		"pyNN==$$($(BIN)/python -c 'import pyNN; print(pyNN.__version__)')"
	tar xzf $(VENV)/pynn-src/*.tar.gz -C $(VENV)/pynn-src
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/nmc simulate examples/cuba.yaml --duration 1s -o out/demo
	$(BIN)/nmc compare examples/cuba.yaml --target fpga-lif --duration 1s -o out/demo

# test files spread over the cores (one file per worker at a time: module fixtures run once)
test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto --maxprocesses 4 --dist loadfile --durations=25

# the documentation site in site/ (mkdocs-material, API reference from the docstrings)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# many seeded fuzz cases per entrance (tests/test_fuzz_entrances.py; make test runs 200)
N ?= 10000
SEED ?= 1
KILLS ?= 50
fuzz: $(STAMP)
	rm -f fuzz-report.jsonl
	NMC_FUZZ_CASES=$(N) NMC_FUZZ_SEED=$(SEED) NMC_KILL_RUNS=$(KILLS) NMC_FUZZ_REPORT=$(CURDIR)/fuzz-report.jsonl \
		$(BIN)/python -m pytest -q tests/test_fuzz_entrances.py tests/test_cli_fuzz.py \
		"tests/test_reliability.py::test_a_killed_run_leaves_a_whole_set_or_none"
	cat fuzz-report.jsonl

# the benchmark suite runs in its own venv with the bench extra (Brian2 needs numpy < 2.4)
$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

# every case, our simulators and Brian2 side by side: benchmarks/results/latest.{json,md}
bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/suite.py

# small sizes, a smoke run of the harness: benchmarks/results/quick.{json,md}
bench-quick: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/suite.py --quick

# numba's on-disk caches (nmcompiler/**/__pycache__/*.nbi, *.nbc) are not invalidated when an
# njit function that another module calls changes: after editing one, `make clean-cache`
clean: clean-cache
	rm -rf $(VENV) $(BENCH_VENV) out build site *.egg-info

clean-cache:
	find nmcompiler -name '*.nbi' -delete -o -name '*.nbc' -delete
	rm -rf build/numba-bench
