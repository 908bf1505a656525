# fwa — every target installs what it needs into .venv first (torch's CPU wheel, then the project).
#   make reports   train the quick study (skipping complete runs) and render every paper figure into reports/
#   make test      the test suite
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

.PHONY: install test reports artifacts report bench clean-reports

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check "$(TORCH)"
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[train,dev]'
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest

artifacts: $(STAMP)
	@for spec in $(SPECS); do \
	  grep -q '^\[profiles\.$(PROFILE)\]' $$spec || { echo "== $$spec has no profile $(PROFILE): skipped"; continue; }; \
	  echo "== fw-train sweep $$spec --profile $(PROFILE)"; \
	  $(BIN)/fw-train sweep $$spec --profile $(PROFILE) --out $(STUDY) --jobs $(JOBS) || exit 1; \
	done
	$(BIN)/fwa validate $(STUDY) --format table > /dev/null

report: $(STAMP)
	$(BIN)/fw-train tables --out $(REPORTS)
	$(BIN)/fwa report $(STUDY) --out $(REPORTS) --profile $(PROFILE)

reports: artifacts report

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(BENCH)

clean-reports:
	rm -rf reports/fig* reports/table* reports/index.md
