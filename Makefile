# The two commands of the README: `make demo` and `make test`. Both set up
# everything a fresh machine lacks (virtual environment, Python packages,
# the Debian font package) before they run.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
DEBIAN_PACKAGES := fonts-ipafont-mincho fonts-ipafont-gothic chromium haproxy postgresql

.PHONY: setup debian-packages demo demo-cluster test pki lint clean

setup: $(STAMP) debian-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

debian-packages:
	@scripts/ensure-debian-packages $(DEBIAN_PACKAGES)

## Run every service on the ports of API.md with the personas loaded; Ctrl-C stops all.
demo: setup
	$(PY) -m konbini.demo

## The same demo with several workers: HAProxy on :8443 in front of 2 center
## workers, 2 workers for 千代田区 (README, "Several workers"); Ctrl-C stops all.
demo-cluster: setup
	$(PY) -m konbini.demo --cluster

## Run the test suite (real services on loopback, real mutual TLS).
test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

## Create the dev PKI under var/pki (make demo does this on first run).
pki: $(STAMP)
	$(PY) -m konbini.devpki --dir var/pki

lint: $(STAMP)
	$(PY) -m ruff check .

clean:
	rm -rf var
