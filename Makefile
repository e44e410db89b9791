# Every target installs what it needs (scripts/setup.sh); see README.md.
SHELL := /bin/bash
EVENT ?= create-secret
# Where `make stack` writes the environment `make watch` and `make invoke` read (mode 0600,
# git-ignored: it holds the local stack's admin key), and the port the function serves on.
STACK_ENV ?= .local/stack.env
WATCH_PORT ?= 9000
LOAD_STACK_ENV = if [ -f "$(STACK_ENV)" ]; then source "$(STACK_ENV)"; else echo "no $(STACK_ENV): run make stack first (using this shell's AWS_* variables)" >&2; fi
DEPTH ?=

.PHONY: help demo fleet-demo test build release sam-build deploy watch invoke setup mutants stack reliability bench fleet-bench model
.DEFAULT_GOAL := help

## Every target, and what it does (from the ## lines above each).
help:
	@awk '/^## /{doc = doc (doc ? " " : "") substr($$0, 4); next} /^[a-z-]+:/{split($$0, t, ":"); if (doc) printf "  make %-13s %s\n", t[1], doc} {doc = ""}' $(MAKEFILE_LIST)

## The demo: the local AWS stack, the function, real rotations through RotateSecret, the old key retired by its use, refusals.
demo: setup
	source scripts/env.sh && "$$VENV/bin/python" scripts/demo.py

## The fleet command on a small estate in the local stack: scan, enable, rotate, scan again.
fleet-demo: setup
	source scripts/env.sh && "$$VENV/bin/python" scripts/fleet_demo.py

## The local AWS stack with the fixtures' world (events/*.json), and .local/stack.env for watch and invoke (Ctrl-C stops it).
stack: setup
	source scripts/env.sh && "$$VENV/bin/python" -m stack.local up --env "$(STACK_ENV)"

## The one test command: fmt, clippy, every Rust test, the lifecycle model, the template and end-to-end tests.
test:
	scripts/test.sh

## The Lambda bootstrap, release, x86_64 (cargo lambda build).
build:
	scripts/build.sh

## From a clean tree: the Lambda zip and the iam-key-fleet binary (x86_64), with SHA-256 sums, in dist/.
release: setup
	scripts/release.sh

## `sam build` with the project's tools (cargo-lambda from .venv, SAM CLI from .venv-sam): x86_64.
sam-build:
	scripts/sam.sh build

## `sam build`, then `sam deploy --guided` (capabilities and stack name: samconfig.toml).
deploy: sam-build
	scripts/sam.sh deploy --guided

## The function under cargo lambda watch, against the stack `make stack` started (.local/stack.env).
watch: setup
	source scripts/env.sh && $(LOAD_STACK_ENV) && cargo lambda watch --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --timeout 300

## Feed a fixture to the function `make watch` runs, then show what changed: make invoke EVENT=create-secret
invoke: setup
	source scripts/env.sh && cargo lambda invoke iam-key-rotator --invoke-address 127.0.0.1 --invoke-port $(WATCH_PORT) --data-file events/$(EVENT).json
	@source scripts/env.sh && "$$VENV/bin/python" -m stack.local changed --env "$(STACK_ENV)" --event "$(EVENT)"

## The lifecycle model (§18): every world explored exhaustively, states, depth and each property's
## result printed; DEPTH=14 explores deeper (minutes). Exits 1 when a property breaks.
model:
	source scripts/env.sh && cargo run --quiet -p iam-key-lifecycle-model -- $(DEPTH)

## Reliability figures: crash-retry matrix, bad inputs, parser properties, transient faults, load.
reliability:
	scripts/reliability.sh

## Benchmarks against the floor (a hello-world lambda_runtime function, same profile): one table.
## The function as `make build` makes it; scripts/bench.py builds the floor the same way.
bench: setup
	source scripts/env.sh && scripts/build.sh >/dev/null && "$$VENV/bin/python" scripts/bench.py

## The fleet scan over 3 accounts x 2 Regions x 500 secrets, 40 ms a call: at once, one target at a time, the floors.
fleet-bench: setup
	source scripts/env.sh && "$$VENV/bin/python" scripts/fleet_bench.py

## Prove each rule of the contract has a test that fails without it (one build per rule: minutes).
mutants:
	source scripts/env.sh && scripts/mutation_check.py

## Install the project's Python tools into .venv (every target that needs them does it first).
setup:
	scripts/setup.sh
