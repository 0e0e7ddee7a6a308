# The one door for humans and CI. `make demo` and `make test` install what they need first
# (Debian packages, the virtualenv, the prompts, the Asterisk chroot): run them as root.
SHELL := /bin/bash
VENV := .venv
TAWASUL := $(VENV)/bin/tawasul
PYTHON ?= python3

.PHONY: demo test bench setup system venv prompts lint clean

demo: setup
	$(TAWASUL) demo

test: setup
	scripts/test.sh

# Benchmarks (not part of the tests): rewrites BENCHMARKS.md. See bench/common.py.
bench: setup
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[bench]'
	scripts/bench.sh

setup: system venv prompts

system:
	scripts/setup-system.sh

venv: $(VENV)/.installed

# Reinstalled only when the packaging changes; the stamp records that the install finished.
$(VENV)/.installed: setup.cfg pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --upgrade pip
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

prompts: venv
	$(TAWASUL) prompts build

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	scripts/lint-dialplan.sh

clean:
	-$(TAWASUL) asterisk down
	-TAWASUL_VAR_DIR=var/test $(TAWASUL) asterisk down
	rm -rf var audio/build
