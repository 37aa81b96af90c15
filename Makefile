# Two commands on a fresh machine: `make run` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test lint install install-test browser mail-tools smtp-tools torch migrate sample-day clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

install: $(BIN)/activate torch
	$(PY) -m pip install --quiet -e ".[dev,semantic]"

install-test: $(BIN)/activate browser mail-tools smtp-tools torch
	$(PY) -m pip install --quiet -e ".[dev,test,semantic]"

# The semantic extra needs torch. A CPU-only build, installed first so the extra does not pull
# CUDA (several GB): `make install TORCH_INDEX=<a CPU-only wheel index>` where one can be reached.
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
torch: $(BIN)/activate
	$(PY) -m pip install --quiet "$(TORCH)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))

# Debian packages for the tests; on a fresh machine the package lists are fetched first.
APT_INSTALL = sh -c 'apt-get install -y --no-install-recommends "$$@" || { apt-get update -q && apt-get install -y --no-install-recommends "$$@"; }' apt-install

# Browser tests drive Debian's Chromium (Playwright's own browser download cannot work offline).
browser:
	@test -x /usr/bin/chromium || $(APT_INSTALL) chromium chromium-driver \
		|| echo "Chromium could not be installed: browser tests will be skipped"

# The bounce and spam-score tests run Debian's Dovecot (the bounce mailbox, started by the test
# itself, never as a service) and SpamAssassin.
mail-tools:
	@test -x /usr/sbin/dovecot -a -x /usr/bin/spamassassin || $(APT_INSTALL) dovecot-imapd spamassassin \
		|| echo "Dovecot or SpamAssassin could not be installed: the bounce-mailbox and spam-score tests will be skipped"

# Postfix's smtp-sink and smtp-source: a real pipelining SMTP server for the tests, and the raw
# SMTP rate benchmark_digest compares itself with. Only the tools are used: Postfix's own daemon
# is never started (Debian's package does not start it where no init system runs).
smtp-tools:
	@test -x /usr/sbin/smtp-sink -a -x /usr/sbin/smtp-source || DEBIAN_FRONTEND=noninteractive $(APT_INSTALL) postfix \
		|| echo "Postfix could not be installed: the smtp-sink test and the raw SMTP rate are skipped"

migrate: install
	$(PY) manage.py migrate --noinput

# Today's papers, or the bundled sample day when the sources cannot be reached (it says so).
sample-day: migrate
	$(PY) manage.py ingest_papers --sample-if-offline
	$(PY) manage.py seed_dev

run: sample-day
	@echo "Paperboy: http://localhost:8000  admin: http://localhost:8000/admin/ (admin / admin)  mail: http://localhost:8000/dev/mail/"
	$(BIN)/honcho -f Procfile.dev start

test: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(PY) manage.py makemigrations --check --dry-run
	$(BIN)/pytest

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/ruff format --check .

clean:
	rm -rf var/ staticfiles/
