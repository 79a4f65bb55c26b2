# One command per verb. `make dev` runs the platform, `make test` passes; see README.md.
SHELL := /bin/bash
# Node.js 24: the version pinned in .node-version, which `make prereqs` installs when this machine's is
# older (scripts/install-node.sh says where, and why there). Its bin goes first on PATH, exported, so
# node, npm, npx (whose `#!/usr/bin/env node` finds it), tsc, mocha and everything they start with
# process.execPath (mocha's suites, the services, the workers and their sandboxes) run on it. Where no
# pinned Node is installed (this machine's is 24 or newer), the folder does not exist and PATH is as before.
NODE_DIR := $(shell sh scripts/install-node.sh --dir)
export PATH := $(NODE_DIR)/bin:$(PATH)
FAAS := node bin/faas
# --exit: a test that leaks a handle must not hang CI; every suite still stops what it started in its hooks.
MOCHA := npx mocha --reporter spec --exit
# RUNTIME=docker|process forces the runtime of `make dev` and `make chaos-test`; unset means auto
# (Docker when an engine answers and the images exist, processes otherwise).
RUNTIME_ARG := $(if $(RUNTIME),--runtime $(RUNTIME))

.PHONY: all prereqs build dev dev-down test test-unit test-integration test-deploy test-docker lint format bench chaos-test images bake bake-clean deploy destroy clean

all: build

prereqs:
	@bash scripts/ensure-prereqs.sh

build: prereqs
	@npx tsc -p tsconfig.json

## Run the whole platform locally in the foreground; Ctrl-C stops everything.
dev: build
	@$(FAAS) dev up $(RUNTIME_ARG) $(DEV_ARGS)

dev-down:
	@$(FAAS) dev down

## Lint, then unit, integration, deploy and Docker tests. Everything they start, they stop.
test: build lint test-unit test-integration test-deploy test-docker

lint:
	@npx eslint --max-warnings 0 .
	@npx prettier --check --log-level warn .

format:
	@npx prettier --write --log-level warn .

test-unit: build
	@$(MOCHA) --timeout 20000 'dist/test/unit/**/*.test.js'

## Integration tests and the security suite (docs/isolation.md): every attack, as root and as nobody.
## Two files at a time: each mostly waits on its environment's timers and processes. Each of mocha's
## two worker processes has its own moto and Redis (test/fixtures/shared-services.ts), each file its
## own environment, ports and sandbox uids.
test-integration: build
	@$(MOCHA) --parallel --jobs 2 --timeout 120000 'dist/test/integration/**/*.test.js' 'dist/test/security/**/*.test.js'

## Two files at a time: most of a Terraform apply on moto is the provider's waiters sleeping (an SQS
## queue's attributes 25 s, ElastiCache 30 s), so two files overlap their waits. Each file has its own
## moto and names. The longest (make deploy TARGET=local) goes first, the others beside it.
DEPLOY_FIRST := dist/test/deploy/local-deploy.test.js
test-deploy: build
	@FAAS_NEED_PACKER=1 bash scripts/ensure-prereqs.sh
	@if compgen -G 'dist/test/deploy/*.test.js' >/dev/null; then \
	  $(MOCHA) --parallel --jobs 2 --timeout 300000 \
	    $$(ls $(DEPLOY_FIRST) 2>/dev/null) $$(ls dist/test/deploy/*.test.js | grep -vxF $(DEPLOY_FIRST)); fi

## The container topology: installs and starts Docker when needed (and stops what it started).
test-docker: build
	@bash scripts/with-docker.sh $(MOCHA) --timeout 300000 'dist/test/docker/**/*.test.js'

## Benchmarks print their figures; targets are in the README, not asserted.
bench: build
	@node dist/bench/run.js $(BENCH_ARGS)
	@node dist/bench/queue.js --servers queue
	@node dist/bench/sqs-client.js

chaos-test: build
	@node dist/emulator/chaos/main.js $(RUNTIME_ARG) $(CHAOS_ARGS)

## The offline images the Docker runtime and compose/ run (scripts/build-images.sh).
images: build
	@bash scripts/build-images.sh

## TARGET=aws (default: AMIs, credentials required) or local (bundle and local images); PROFILE=lean.
bake: build
	@FAAS_NEED_PACKER=1 bash scripts/ensure-prereqs.sh
	@TARGET=$(or $(TARGET),aws) PROFILE=$(or $(PROFILE),default) bash deploy/scripts/bake.sh

## Old AMIs and their snapshots: all but the KEEP (2) newest per role and the deployed ones; DRY_RUN=1 lists.
bake-clean:
	@TARGET=$(or $(TARGET),aws) KEEP=$(or $(KEEP),2) DRY_RUN=$(or $(DRY_RUN),0) bash deploy/scripts/bake-clean.sh

## TARGET=local: applies under NAME (faas-local) to the running `make dev`'s moto and boots it on EDGE_PORT (8081).
deploy: build
	@TARGET=$(or $(TARGET),aws) PROFILE=$(or $(PROFILE),default) bash deploy/scripts/deploy.sh

## TARGET=local: stops the booted deployment's processes first, then destroys its resources.
destroy:
	@TARGET=$(or $(TARGET),aws) bash deploy/scripts/destroy.sh

clean:
	rm -rf dist
