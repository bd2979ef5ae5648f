# Every target does its own set-up: npm packages (including the Node 24 runtime
# from the npm registry, see docs/toolchain.md) and the cached control plane.
SHELL := /bin/bash
.DEFAULT_GOAL := help

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: help setup demo test test-unit test-e2e generate verify controlplane kind-e2e
help:
	@echo "make demo      run the local control plane, operator, webhook and gateway with examples/ applied"
	@echo "make test      run the whole test suite (unit + e2e against a real kube-apiserver)"
	@echo "make test-unit unit tests only (no cluster)"
	@echo "make generate  regenerate CRDs from api/ (the one schema source)"

setup: node_modules/.installed

demo: setup
	npm run -s demo

test: setup
	@hack/optional-tools.sh
	npm test

test-unit: setup
	npm run -s test:unit

test-e2e: setup
	npm run -s test:e2e

generate: setup
	npm run -s generate

controlplane:
	test/controlplane/build.sh

# Packaging (charts/, Dockerfile; see docs/testing.md "The Helm chart, the image and kind").
.PHONY: chart-check
chart-check: setup
	$(CURDIR)/node_modules/.bin/node hack/sync-chart.ts --check
	hack/helm.sh lint --strict charts/crossgate
	hack/helm.sh template crossgate charts/crossgate --namespace crossgate-system >/dev/null
	hack/hadolint.sh

# Needs Docker: kind cluster, image, helm install, smoke test, then the e2e suite against it.
kind-e2e: setup
	hack/kind-e2e.sh
