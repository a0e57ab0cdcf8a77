# Quick start: `make run` opens the designer, `make test` runs the tests. Both set up .venv themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
SAMPLE ?= sample_pipelines/diabetes_linear_regression.pipeline.json


.PHONY: run test bench clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/pipeline-designer open $(SAMPLE)

# pytest exits 5 when it collects no test: that is not a failure of the suite.
test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then echo "no tests collected"; exit 0; fi; exit $$rc

bench: $(STAMP)
	$(PY) bench/bench_pipeline.py
	$(PY) bench/bench_run_w1.py
	$(PY) bench/bench_score.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
