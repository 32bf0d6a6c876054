# The whole set-up: `make run` (install, index the seeds, serve) and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test lint format browser bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned: 2.13.0 is the CPU build; an unpinned torch pulls CUDA (GBs).
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[st,dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/qa serve --host $(HOST) --port $(PORT)

# Debian's Chromium and ChromeDriver for the browser test (nothing downloads a browser).
browser:
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq chromium chromium-driver >/dev/null) \
		|| echo "chromium could not be installed: the browser test will be skipped"; \
	else echo "chromium not installed and not root: the browser test will be skipped"; fi

test: install browser
	$(BIN)/python -m pytest -q

lint: install
	$(BIN)/ruff check qa embeddings api cli tests bench
	$(BIN)/ruff format --check qa embeddings api cli tests bench

format: install
	$(BIN)/ruff format qa embeddings api cli tests bench
	$(BIN)/ruff check --fix qa embeddings api cli tests bench

clean:
	rm -rf $(VENV) data .pytest_cache test-artifacts
