# Quick start: `make run` opens the designer, `make test` runs the tests. Both set up .venv themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SAMPLE ?= sample_pipelines/diabetes_linear_regression.pipeline.json
PLUGIN := examples/plugin-log-transform


.PHONY: run test check bench clean venv

venv: $(STAMP)

# The example plugin is installed too, so the conformance suite and its own tests see it as a real plugin.
$(STAMP): pyproject.toml $(PLUGIN)/pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q -e $(PLUGIN) --no-deps
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pipeline-designer open $(SAMPLE)

# Static checks first (ruff, import-linter contracts, mypy), then the suite.
# pytest exits 5 when it collects no test: that is not a failure of the suite.
test: $(STAMP) check
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

check: $(STAMP)
	$(VENV)/bin/ruff check designer nodes tests bench examples
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) bench/bench_pipeline.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/bench_gui.py
	$(PY) bench/bench_rerun.py
	$(PY) bench/bench_datasets.py
	$(PY) bench/bench_run_w1.py
	$(PY) bench/bench_score.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
