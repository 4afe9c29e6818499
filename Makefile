# Two entry points for a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run build test lint typecheck clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU wheel of torch must come first: an unpinned torch pulls CUDA packages.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

build: $(STAMP)
	$(BIN)/guideqa build corpus

# Until the HTTP service lands, `make run` ends once the index is built.
run: build
	@$(BIN)/guideqa info
	@echo
	@echo "Index ready. Ask:  $(BIN)/guideqa ask \"Should women 65 and older be screened for osteoporosis?\""
	@echo "Follow up:         $(BIN)/guideqa ask \"What about in men?\" --conversation visit.json"

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy ingest index qa api eval

clean:
	rm -rf $(VENV) .guideqa
