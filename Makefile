# leasewatch: `make demo` and `make test` work on a fresh Debian machine (as root):
# they install the Debian packages and the virtualenv they need themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEB_PACKAGES := isc-dhcp-server isc-dhcp-client kea-dhcp4-server kea-ctrl-agent iproute2 \
                libvirt-dev pkg-config dhcpd-pools procps libvirt-clients virtinst \
                dnsmasq-base dnsmasq-utils libvirt-daemon
KIND ?= isc

.PHONY: all deps venv promtool lint format test demo bench check-deploy clean

all: test

# Debian packages: installed only when one is missing, so a warm machine pays nothing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "need root to install:$$missing" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# promtool (rule checks and unit tests) from Debian's prometheus package, unpacked into the
# venv, never installed: that package is a server with a service.
PROMTOOL := $(VENV)/opt/prometheus/usr/bin/promtool
promtool: $(PROMTOOL)

$(PROMTOOL): | venv
	$(BIN)/python -c "import sys; from deploy.check import find_promtool; sys.exit(find_promtool(fetch=True) is None)"

lint: venv
	$(BIN)/ruff check leasewatch tests lab bench deploy
	$(BIN)/ruff format --check leasewatch tests lab bench deploy
	$(BIN)/mypy --strict leasewatch tests lab bench

format: venv
	$(BIN)/ruff format leasewatch tests lab bench deploy
	$(BIN)/ruff check --fix leasewatch tests lab bench deploy

# A skipped test fails the run (tests/conftest.py turns skips into a failing exit status).
test: deps venv promtool lint
	$(BIN)/pytest -p no:cacheprovider $(PYTEST_ARGS)

demo: deps venv
	$(BIN)/python -m lab.demo --kind $(KIND)

bench: deps venv
	$(BIN)/python -m bench $(BENCH_ARGS)

check-deploy: deps venv promtool
	$(BIN)/python -m deploy.check

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
