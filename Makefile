# Everything a fresh machine needs comes from here: `make test` and `make demo` build the virtualenv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# GitHub's REST description and webhook examples, which the GitHub emulator's tests check answers against,
# and Flux's API schemas (validators generated from Flux's CRDs), which the Kubernetes install is checked
# against. Needs npm (Node.js); the stamp names the major versions, so bumping one reinstalls (~5 s, once).
NPM_CACHE := .cache/npm
OCTOKIT_OPENAPI := 23
OCTOKIT_WEBHOOKS_EXAMPLES := 7
FLUX_MODELS := 4
NPM_STAMP := $(NPM_CACHE)/.installed-openapi$(OCTOKIT_OPENAPI)-webhooks-examples$(OCTOKIT_WEBHOOKS_EXAMPLES)-flux$(FLUX_MODELS)

.PHONY: test lint unit bench demo clean haproxy kubectl

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv>=0.4,<1"
	$(BIN)/uv pip install --quiet --python $(BIN)/python -e '.[dev,postgres,ha,kubernetes]'
	touch $(STAMP)

$(NPM_STAMP):
	mkdir -p $(NPM_CACHE)
	rm -f $(NPM_CACHE)/.installed-*
	npm install --prefix $(NPM_CACHE) --no-audit --no-fund --silent \
		"@octokit/openapi@^$(OCTOKIT_OPENAPI)" "@octokit/webhooks-examples@^$(OCTOKIT_WEBHOOKS_EXAMPLES)" \
		"@kubernetes-models/flux-cd@^$(FLUX_MODELS)"
	touch $(NPM_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Two workers (pytest-xdist): much of the suite waits on servers and subprocesses. `loadgroup` keeps the
# tests on the Prefect server on one worker (one server to start) and the demo's tests together (one run).
# The slowest 25 are listed at the end, so a slower suite shows where.
PYTEST_ARGS ?= -n 2 --dist loadgroup --durations=25
# PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) are on every machine, CI's too: tests needing
# them fail rather than skip here. Without them, `make test FLUXGATE_REQUIRE_SERVICES=0` skips those
# tests with one line each.
FLUXGATE_REQUIRE_SERVICES ?= 1
export FLUXGATE_REQUIRE_SERVICES
unit: $(STAMP) $(NPM_STAMP) haproxy kubectl
	$(BIN)/pytest $(PYTEST_ARGS)

# Debian packages some tests need, installed when missing and this user may (as root, like CI);
# otherwise those tests skip, or fail with the services required. $(call debian,command,package,test)
debian = command -v $(1) >/dev/null || test -x /usr/sbin/$(1) || \
	{ [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq $(2) >/dev/null) ; } || \
	echo "$(1) not installed: $(3) will not pass here"

# HAProxy balances the Prefect API servers of the HA test.
haproxy:
	@$(call debian,haproxy,haproxy,the Prefect HA test)

# kubectl (its built-in kustomize) renders deploy/kubernetes for its test.
kubectl:
	@$(call debian,kubectl,kubernetes-client,the Kubernetes install test)

test: lint unit

bench: $(STAMP)
	$(BIN)/python bench/render.py
	$(BIN)/python bench/github_calls.py
	$(BIN)/python bench/sources.py
	$(BIN)/python bench/connector.py
	$(BIN)/python bench/connector.py --real-github
	$(BIN)/python bench/resume.py
	$(BIN)/python bench/idle.py
	$(BIN)/python bench/crash.py

demo: $(STAMP)
	$(BIN)/fluxgate demo $(DEMO_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .cache
