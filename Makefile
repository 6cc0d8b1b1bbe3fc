# The two Quick-start commands.  Each creates/refreshes .venv first (tools/bootstrap.sh).
PY := .venv/bin/python
export PATH := $(CURDIR)/.venv/bin:$(PATH)
JOBS ?= 2

.PHONY: demo test venv clean
venv:
	@bash tools/bootstrap.sh

demo: venv
	@$(PY) -m neurohw.cli demo

# the report's browser test needs Debian's chromium + chromedriver (installed when missing)
test: venv
	@bash tools/ensure_chromium.sh
	@$(PY) -m pytest -n $(JOBS) --dist loadgroup -q

clean:
	rm -rf .venv build *.egg-info .pytest_cache
