# leasewatch: `make demo` and `make test` work on a fresh Debian machine (as root):
# they install the Debian packages and the virtualenv they need themselves, and leave no
# DHCP server running or enabled at boot (scripts/install-debs).
# `make install` / `make uninstall`: see scripts/install-leasewatch and README "Install".

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# python3-libvirt: the libvirt SDK prebuilt (the venv sees it), so no compiler is needed;
# systemd: only for systemd-analyze (the unit's check); nothing is enabled.
DEB_PACKAGES := isc-dhcp-server isc-dhcp-client kea-dhcp4-server kea-dhcp6-server kea-ctrl-agent iproute2 \
                python3-libvirt dhcpd-pools procps systemd libvirt-clients virtinst \
                dnsmasq-base dnsmasq-utils libvirt-daemon
KIND ?= isc

# make install: where things go (DESTDIR prefixes them all, for staging and tests)
PREFIX     ?= /usr/local
OPT        ?= /opt/leasewatch
SYSCONFDIR ?= /etc
UNITDIR    ?= /etc/systemd/system
DESTDIR    ?=
INSTALL_VARS = DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" OPT="$(OPT)" SYSCONFDIR="$(SYSCONFDIR)" \
               UNITDIR="$(UNITDIR)" PYTHON="$(PYTHON)"

.PHONY: all deps venv promtool lint format test demo bench check-deploy clean install uninstall

all: test

# Debian packages: installed only when one is missing, so a warm machine pays nothing; no
# DHCP server they bring is started or enabled at boot.
deps:
	@sh scripts/install-debs $(DEB_PACKAGES)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml | deps
	test -x $(BIN)/python || $(PYTHON) -m venv --system-site-packages $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

# promtool (rule checks and unit tests) and amtool (Alertmanager config and routes) from
# Debian's prometheus and prometheus-alertmanager packages, unpacked into the venv, never
# installed: those packages are servers with a service.
PROMTOOL := $(VENV)/opt/prometheus/usr/bin/promtool
AMTOOL := $(VENV)/opt/prometheus-alertmanager/usr/bin/amtool
promtool: $(PROMTOOL) $(AMTOOL)

$(PROMTOOL): | venv
	$(BIN)/python -c "import sys; from deploy.check import find_promtool; sys.exit(find_promtool(fetch=True) is None)"

$(AMTOOL): | venv
	$(BIN)/python -c "import sys; from deploy.check import find_amtool; sys.exit(find_amtool(fetch=True) is None)"

lint: venv
	$(BIN)/python -m ruff check leasewatch tests lab bench deploy
	$(BIN)/python -m ruff format --check leasewatch tests lab bench deploy
	$(BIN)/python -m mypy --strict leasewatch tests lab bench

format: venv
	$(BIN)/python -m ruff format leasewatch tests lab bench deploy
	$(BIN)/python -m ruff check --fix leasewatch tests lab bench deploy

# A skipped test fails the run (tests/conftest.py turns skips into a failing exit status).
test: deps venv promtool lint
	$(BIN)/python -m pytest -p no:cacheprovider $(PYTEST_ARGS)

demo: deps venv
	$(BIN)/python -m lab.demo --kind $(KIND)

bench: deps venv
	$(BIN)/python -m bench $(BENCH_ARGS)

check-deploy: deps venv promtool
	$(BIN)/python -m deploy.check

install:
	@$(INSTALL_VARS) sh scripts/install-leasewatch install

uninstall:
	@$(INSTALL_VARS) sh scripts/install-leasewatch uninstall

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
