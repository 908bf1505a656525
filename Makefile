# fwa — every target installs what it needs into .venv first (torch's CPU wheel, then the project).
#   make reports   train the quick study (skipping complete runs) and render every paper figure into reports/
#   make test      lint, then the test suite
#   make bench     speed and size figures
PY      ?= python3
TORCH   ?= torch==2.13.0
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
JOBS    ?= 2
PROFILE ?= quick
STUDY   ?= artifacts
REPORTS ?= reports
SPECS   := $(sort $(wildcard specs/*.toml))

.PHONY: install lint test reports artifacts report bench clean-reports

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[train,dev,tensorboard]'
	touch $@

install: $(STAMP)

# lint: ruff's checks and its formatter in check mode (rules in pyproject.toml); make test runs it first
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# test: starts the Slurm test cluster (tests/slurm/cluster.sh; root, Debian's packages) unless one is up,
# runs the whole suite, and stops a cluster it started, also when tests fail or make is interrupted. Where
# it cannot start one, the Slurm tests are skipped with the reason (FWA_REQUIRE_SLURM=1 makes that a
# failure: CI). Two pytest processes run at once: tests/slurm (mostly waiting for the cluster; its output
# is printed when it ends) and the rest on TEST_JOBS pytest-xdist workers. PYTEST_ARGS (options such as
# -x or --durations=20) go to both; to run chosen tests, call .venv/bin/python -m pytest yourself.
SLURM_DIR ?= /tmp/fwa-slurm
TEST_JOBS ?= 2

test: lint
	@export FWA_SLURM_DIR=$(SLURM_DIR) SLURM_CONF=$(SLURM_DIR)/slurm.conf; \
	if tests/slurm/cluster.sh status >/dev/null 2>&1; then \
	  echo "== Slurm test cluster already up ($$SLURM_CONF): using it, leaving it up"; \
	else \
	  echo "== starting the Slurm test cluster (tests/slurm/cluster.sh start)"; \
	  if why=$$(tests/slurm/cluster.sh start 2>&1 >/dev/null); then \
	    trap 'echo "== stopping the Slurm test cluster"; tests/slurm/cluster.sh stop' EXIT; trap 'exit 130' INT TERM; \
	  else \
	    export FWA_SLURM_DOWN="$$(echo "$$why" | tail -n 1 | sed 's/^cluster.sh: error: //')"; \
	    echo "== no Slurm test cluster ($$FWA_SLURM_DOWN): the Slurm tests will be skipped"; \
	  fi; \
	fi; \
	slurm_log=$$(mktemp); failed=0; \
	$(BIN)/python -m pytest tests/slurm -p no:xdist $(PYTEST_ARGS) > $$slurm_log 2>&1 & slurm=$$!; \
	$(BIN)/python -m pytest --ignore=tests/slurm -n $(TEST_JOBS) --dist load $(PYTEST_ARGS) || failed=1; \
	wait $$slurm || failed=1; \
	echo "== tests/slurm (run beside the rest)"; cat $$slurm_log; rm -f $$slurm_log; \
	exit $$failed

# artifacts: every spec with the profile, as one sweep (one pool of JOBS workers for all their runs)
artifacts: $(STAMP)
	@specs=""; for spec in $(SPECS); do \
	  if grep -q '^\[profiles\.$(PROFILE)\]' $$spec; then specs="$$specs $$spec"; else echo "== $$spec has no profile $(PROFILE): skipped"; fi; \
	done; \
	echo "== fw-train sweep$$specs --profile $(PROFILE) --out $(STUDY) --jobs $(JOBS)"; \
	$(BIN)/fw-train sweep $$specs --profile $(PROFILE) --out $(STUDY) --jobs $(JOBS)
	$(BIN)/fwa validate $(STUDY) --format table > /dev/null

report: $(STAMP)
	$(BIN)/fw-train tables --out $(REPORTS)
	$(BIN)/fwa report $(STUDY) --out $(REPORTS) --profile $(PROFILE)

reports: artifacts report

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

clean-reports:
	rm -f $(REPORTS)/fig* $(REPORTS)/table* $(REPORTS)/index.md $(REPORTS)/index.html $(REPORTS)/provenance.md $(REPORTS)/claims.md $(REPORTS)/.fwa-written.json
