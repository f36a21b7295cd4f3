# Two commands on a fresh machine:  make demo   and   make test
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# nbgrader runs `alembic` as a subprocess: the virtualenv's bin must come first on PATH.
export PATH := $(BIN):$(PATH)

.PHONY: demo test test-fast corpus install release clean help

help:
	@echo "make demo       set up .venv (pinned), release the assignment, grade the sample class on Dask, summary"
	@echo "make test       set up .venv (pinned), run the whole test suite (what CI runs)"
	@echo "make test-fast  the tests that run no whole notebook (a few minutes)"
	@echo "make corpus     grade the whole corpus of 73 submissions with rnn-course grade, print the table (~12 min)"
	@echo "make install    only set up .venv (pinned versions, the rnn-course command, the sandbox kernel)"
	@echo "make release    regenerate release/ from source/ (nbgrader generate_assignment)"
	@echo "make clean      remove the virtualenv, gradebook and grading output"

# The sandboxed grading kernel needs bubblewrap (bwrap) and prlimit (util-linux).
$(VENV)/.installed: requirements.lock requirements-lti.lock pyproject.toml
	@command -v bwrap >/dev/null 2>&1 || { echo "installing bubblewrap (sandbox for student code)"; \
	  (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null || \
	  { echo "could not install bubblewrap: run 'apt-get install bubblewrap' as root"; exit 1; }; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock -r requirements-lti.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m graders.sandbox install
	touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/rnn-course demo

# The feedback-report test renders a page in headless Chromium; the PostgreSQL gradebook tests
# start a throwaway server (Debian packages). RNN_COURSE_NO_SKIP=1: a test whose real part is
# missing fails with the reason instead of skipping (tests/conftest.py).
test: $(VENV)/.installed
	@{ command -v chromium && command -v chromedriver; } >/dev/null 2>&1 || { echo "installing chromium and chromium-driver (a feedback report rendered, LTI launches in a browser)"; \
	  (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1 || \
	  { echo "could not install chromium: run 'apt-get install chromium chromium-driver' as root"; exit 1; }; }
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { echo "installing postgresql (a throwaway server for the PostgreSQL gradebook tests)"; \
	  (apt-get update -qq && apt-get install -y -qq postgresql) >/dev/null 2>&1 || \
	  { echo "could not install postgresql: run 'apt-get install postgresql' as root"; exit 1; }; }
	RNN_COURSE_NO_SKIP=1 $(BIN)/python -m pytest -p no:cacheprovider -ra

test-fast: $(VENV)/.installed
	$(BIN)/python -m pytest -p no:cacheprovider -ra -m "not slow"

corpus: $(VENV)/.installed
	$(BIN)/python tests/run_corpus.py

release: $(VENV)/.installed
	$(BIN)/rnn-course release

clean:
	rm -rf $(VENV) gradebook.db submitted autograded/*/ feedback grades.csv
