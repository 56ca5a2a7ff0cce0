# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data

.PHONY: run test lint venv mail-packages bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# Runs the daemon on the embedded Maildir transport: no mail server needed.
run: venv
	MINUTESD_DATA_DIR=$(DATA) $(VENV)/bin/minutesd run

# Debian's postfix + dovecot for the end-to-end tests (the suite starts its own instances).
mail-packages: venv
	$(PY) -m tests.mailstack --install

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: venv mail-packages lint
	$(PY) -m pytest -q -p no:cacheprovider

bench: venv mail-packages
	$(PY) -m bench.ingest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
