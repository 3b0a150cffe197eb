# spawnflow: `make demo` builds an instance on the embedded default;
# `make test` sets everything up and runs the tests.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_DIR ?= .demo

# Debian packages: qemu-img for disks, libvirt headers to build
# libvirt-python, graphviz for flow diagrams, chromium and its driver for
# the dashboard's browser tests, tmux for the terminal progress test.
DEBIAN_PACKAGES := qemu-utils libvirt-dev libvirt-clients pkg-config graphviz \
	chromium chromium-driver tmux

# The tiny test guest (a kernel, busybox and syslinux from Debian's
# packages), booted by the real-guest tests and the demo.
TINY_GUEST_DIR ?= build/tiny-guest

# Real Glance and Cinder for the functional tests, each in its own
# virtualenv (their pinned libraries must not meet spawnflow's).
OPENSTACK_VENVS ?= .venv-openstack

.PHONY: demo test bench sample-config system-packages venv openstack-services libvirt-qemu tiny-guest clean

system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    echo "Installing Debian packages:" $$missing; \
	    if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/.installed: requirements.txt test-requirements.txt upper-constraints.txt setup.cfg | system-packages
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c upper-constraints.txt -r requirements.txt \
	    -r test-requirements.txt
	$(BIN)/pip install -q --no-deps -e .
	touch $@

venv: system-packages $(BIN)/.installed

# The demo boots the tiny guest where QEMU can be had (it says why not
# otherwise, and builds on libvirt's test driver).
demo: venv
	@tools/libvirt-qemu/setup.sh && tools/tiny-guest/build.sh $(TINY_GUEST_DIR) \
	    || echo "(the demo's real guest needs the steps above)"
	DEMO_DIR=$(DEMO_DIR) BIN=$(BIN) TINY_GUEST=$(TINY_GUEST_DIR)/tiny-guest.qcow2 tools/demo.sh

openstack-services:
	tools/openstack-services/install.sh $(OPENSTACK_VENVS)

libvirt-qemu:
	tools/libvirt-qemu/setup.sh

tiny-guest:
	tools/tiny-guest/build.sh $(TINY_GUEST_DIR)

test: venv openstack-services libvirt-qemu tiny-guest
	SPAWNFLOW_OPENSTACK_VENVS=$(abspath $(OPENSTACK_VENVS)) $(BIN)/python -m pytest tests

# bench/run.py: every speed and scale case in one run, interleaved round
# by round, one table; then the conductors', the dashboard's and the real
# guest's benchmarks, each in its own script.
bench: venv openstack-services tiny-guest
	SPAWNFLOW_OPENSTACK_VENVS=$(abspath $(OPENSTACK_VENVS)) $(BIN)/python bench/run.py
	$(BIN)/python bench/conductors.py
	$(BIN)/python bench/dashboard.py
	tools/libvirt-qemu/setup.sh && $(BIN)/python bench/boot.py

sample-config: venv
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator/spawnflow.conf

# The demo's servers are deleted first: its guest may still run.
clean:
	@if [ -f $(DEMO_DIR)/spawnflow.conf ] && [ -x $(BIN)/spawnflow ]; then \
	    for server in $$($(BIN)/spawnflow --config-file $(DEMO_DIR)/spawnflow.conf server list -f value -c ID 2>/dev/null); do \
	        $(BIN)/spawnflow --config-file $(DEMO_DIR)/spawnflow.conf server delete $$server; done; fi
	rm -rf $(VENV) $(DEMO_DIR) $(OPENSTACK_VENVS)
