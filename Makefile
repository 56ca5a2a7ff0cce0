# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
DATA ?= data

.PHONY: run test test-wheel lint venv mail-packages bench clean

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
	$(MAKE) test-wheel
	$(PY) -m pytest -q -p no:cacheprovider

# What users install: the wheel, in a venv outside the checkout, runs the demo and one
# confirmation end to end on the suite's own Dovecot + Postfix.
WHEEL_DIR ?= /tmp/minutesd-wheel
test-wheel: venv mail-packages
	rm -rf $(WHEEL_DIR) && mkdir -p $(WHEEL_DIR)
	$(PY) -m pip wheel -q . --no-deps -w $(WHEEL_DIR)/dist
	python3 -m venv $(WHEEL_DIR)/venv
	$(WHEEL_DIR)/venv/bin/pip install -q $(WHEEL_DIR)/dist/*.whl
	cd $(WHEEL_DIR) && $(WHEEL_DIR)/venv/bin/minutesd --version
	cd $(WHEEL_DIR) && $(WHEEL_DIR)/venv/bin/minutesd demo | grep -q "on-time rate"
	MINUTESD_TEST_CLI=$(WHEEL_DIR)/venv/bin/minutesd $(PY) -m pytest -q -p no:cacheprovider \
		tests/service/minutes/test_confirmation_e2e.py::test_objection_then_revision_then_everyone_confirms \
		tests/service/minutes/test_reading_e2e.py::test_the_recorders_quoted_confirmation_confirms

bench: venv mail-packages
	$(PY) -m bench.ingest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache

# The container image, built with podman on this machine and checked from the outside (demo, check,
# run --once against the suite's Dovecot + Postfix, the health check): root, about two minutes.
# Not part of `make test`. BASE=python:3.11.11-slim-bookworm where a registry answers.
.PHONY: image
image: venv mail-packages
	container/try-image.sh
