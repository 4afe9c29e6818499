# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run build test lint tree docs clean chromium redis

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel of torch must come first: an unpinned torch pulls CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	# Exact tested versions (constraints.txt); the package itself declares ranges.
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(BIN)/guideqa build corpus

run: build
	@$(BIN)/guideqa info
	$(BIN)/guideqa serve

# The browser test drives Debian's chromium (installed once; needs root, as on CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { echo "Installing Debian chromium for the browser test"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# The conversation-store and replica tests start a real redis-server (Debian's) on a free port.
redis:
	@command -v redis-server >/dev/null 2>&1 || { echo "Installing Debian redis-server for the replica tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

test: $(STAMP) chromium redis
	$(BIN)/python -m pytest

# mypy and the API reference read the installed layout (guideqa.ingest, ...): a tree of links
tree:
	rm -rf .typecheck && mkdir -p .typecheck/guideqa
	for d in ingest index qa api eval; do ln -s ../../$$d .typecheck/guideqa/$$d; done
	ln -s ../../guideqa/__init__.py ../../guideqa/py.typed .typecheck/guideqa/

lint: $(STAMP) tree
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd .typecheck && ../$(BIN)/mypy -p guideqa --config-file ../pyproject.toml

docs: $(STAMP) tree
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .guideqa
