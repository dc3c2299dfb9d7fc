# The two commands of the README, and a few helpers.
PYTHON ?= python3

.PHONY: setup demo test lint stop reset status

setup:            ## install packages, Python requirements and service jars
	bash scripts/setup.sh

demo:             ## the whole pipeline on the exchange simulator
	bash scripts/demo.sh $(ARGS)

test:             ## lint, start the stack and run every test against it
	bash scripts/test.sh

lint:             ## ruff and mypy as configured in pyproject.toml (no service needed)
	bash scripts/lint.sh

stop:             ## stop every service the launcher started
	$(PYTHON) -m binance_cdc stop

reset:            ## stop everything and delete all service data
	$(PYTHON) -m binance_cdc stack reset

status:
	$(PYTHON) -m binance_cdc stack status
