# The two commands a newcomer runs: `make course` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Keras on JAX with no TensorFlow at all: how students on GPUs without TensorFlow's support
# run the course, checked on every `make test`.
JAX_VENV := .venv-jax
JAX_BIN := $(JAX_VENV)/bin
JAX_STAMP := $(JAX_VENV)/.installed-stamp
# Keras on PyTorch with neither TensorFlow nor JAX: the third leg of `make test`.
TORCH_VENV := .venv-torch
TORCH_BIN := $(TORCH_VENV)/bin
TORCH_STAMP := $(TORCH_VENV)/.installed-stamp
# The PyTorch installed before the course. torch==2.13.0 because its CPU build lies on the disk
# of the machines this course is built and tested on (pip finds it through its find-links), so
# the leg downloads no CUDA libraries; the `torch` extra's range is then met and adds nothing.
# Elsewhere name your own, e.g. TORCH_SPEC="torch --index-url https://download.pytorch.org/whl/cpu"
# (CPU only), or the build for your GPU from pytorch.org.
TORCH_SPEC ?= torch==2.13.0
SMOKE_RUN := build/smoke-run
SITE_DIR := build/site
NBVAL_JAX_DIR := build/nbval-jax
NBVAL_TORCH_DIR := build/nbval-torch
# JAX's persistent compilation cache: the JAX leg compiles the same models again and again
# (Model 3 in 05 to 07, ResNet-9 in 08 to 11); reusing them took a fifth off 05 and 07 on CPU.
JAX_CACHE_DIR := build/jax-cache
PYTEST := -m pytest --nbval-lax --nbval-current-env -p no:cacheprovider

.PHONY: setup setup-jax setup-torch setup-browser course site lab test test-tensorflow test-jax \
	test-torch lint clean-notebooks

setup: $(STAMP)

# (Re)install when the dependencies change; creates the virtual environment if it is missing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[tensorflow,runner,lab,dev,serve,site,onnx]"
	touch $(STAMP)

setup-jax: $(JAX_STAMP)

$(JAX_STAMP): pyproject.toml
	test -x $(JAX_BIN)/python || $(PYTHON) -m venv $(JAX_VENV)
	$(JAX_BIN)/python -m pip install --quiet --upgrade pip
	$(JAX_BIN)/python -m pip install --quiet -e ".[jax,runner,dev,serve,onnx-jax]"
	@$(JAX_BIN)/python -c "import importlib.util, sys; \
	sys.exit('TensorFlow got into $(JAX_VENV), which must not have it') \
	if importlib.util.find_spec('tensorflow') else None"
	touch $(JAX_STAMP)

setup-torch: $(TORCH_STAMP)

$(TORCH_STAMP): pyproject.toml
	test -x $(TORCH_BIN)/python || $(PYTHON) -m venv $(TORCH_VENV)
	$(TORCH_BIN)/python -m pip install --quiet --upgrade pip
	$(TORCH_BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(TORCH_BIN)/python -m pip install --quiet -e ".[torch,runner,dev,serve,onnx-torch]"
	@$(TORCH_BIN)/python -c "import importlib.util, sys; \
	found = [name for name in ('tensorflow', 'jax') if importlib.util.find_spec(name)]; \
	sys.exit(f'{found} got into $(TORCH_VENV), which must have neither') if found else None"
	touch $(TORCH_STAMP)

# Debian's Chromium and ChromeDriver, for the browser tests of the web app and the website
# (tests/chromium.py; skipped with their reason where missing). Needs root or sudo, and apt.
# A machine with Google Chrome and its driver (GitHub's runners) uses those.
setup-browser:
	@if (command -v chromium || command -v google-chrome) >/dev/null \
		&& command -v chromedriver >/dev/null; then \
		echo "a Chromium browser and chromedriver are installed"; \
	else \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			$$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# Re-execute the series and write runs/PROFILE/report.md. Pass options with COURSE_ARGS,
# e.g. make course COURSE_ARGS="--profile full --only 01 02".
course: setup
	$(BIN)/course run $(COURSE_ARGS)

# The course's website in $(SITE_DIR), from the run `make course` wrote last (offline; open
# $(SITE_DIR)/index.html). Pass options with SITE_ARGS, e.g. SITE_ARGS="--run runs/full".
site: setup
	$(BIN)/course site --output $(SITE_DIR) $(SITE_ARGS)

# JupyterLab on the course's environment, opened on the notebooks.
lab: setup
	$(BIN)/jupyter lab notebooks

# Everything, under the three backends: unit tests, lint, notebook hygiene, the Colab install
# check, and every notebook executed in the smoke profile. The TensorFlow leg executes the series
# with `course run` (as an instructor does), builds the website from that run and checks it in
# headless Chromium, and compares the outputs marked NBVAL_CHECK_OUTPUT with the committed ones
# (tests/repository/test_executed_notebooks.py); the JAX and PyTorch legs execute
# papermill-prepared copies with nbval, which compares the same cells. Timings: runs'
# results.csv, and build/junit-*.xml (tools/notebook_times.py sums them per notebook).
# The legs run at once, to shorten the wall time on a two-core machine (much of a leg's time
# is compiling and Python, on one thread); each leg's output appears, whole, when it ends.
test:
	@echo "make test: the TensorFlow, JAX and PyTorch legs run side by side; each prints when it ends"
	$(MAKE) --no-print-directory --output-sync=target -j3 test-tensorflow test-jax test-torch

# A notebook that fails does not stop the leg here: tests/repository/test_executed_notebooks.py
# reports it with its error, beside everything else.
test-tensorflow: setup
	rm -rf $(SMOKE_RUN) $(SITE_DIR) $(dir $(SITE_DIR))site-screenshots
	-$(BIN)/course run --profile smoke --output $(SMOKE_RUN)
	-$(BIN)/course site --run $(SMOKE_RUN) --output $(SITE_DIR)
	COURSE_SMOKE_RUN=$(SMOKE_RUN) COURSE_SITE_DIR=$(SITE_DIR) $(BIN)/python $(PYTEST) \
		--junitxml=build/junit-tensorflow.xml tests

# The same notebooks and the tests marked `backend` (all of tests/helpers, and the course tests
# that load a model: see conftest.py) on KERAS_BACKEND=jax, with no TensorFlow installed.
# The solutions' training, plain Keras checked once above, is left out to keep CI short.
test-jax: setup-jax
	rm -rf $(NBVAL_JAX_DIR)
	KERAS_BACKEND=jax $(JAX_BIN)/course prepare --profile smoke --set RUN_SOLUTIONS=False \
		--output $(NBVAL_JAX_DIR)
	KERAS_BACKEND=jax JAX_COMPILATION_CACHE_DIR=$(JAX_CACHE_DIR) \
		JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS=0.5 \
		$(JAX_BIN)/python $(PYTEST) --junitxml=build/junit-jax.xml -m backend tests $(NBVAL_JAX_DIR)

# The same on KERAS_BACKEND=torch, with neither TensorFlow nor JAX installed. Keras runs PyTorch
# eagerly (jit_compile="auto" is off on torch), so there is no compilation cache to keep.
# OMP_WAIT_POLICY=PASSIVE: PyTorch's OpenMP threads otherwise spin while they wait, which on a
# two-core machine shared with the other legs made one epoch of Model 3 (1,000 images) take
# 31-35 s instead of 5 (measured 2026-12-07 at a load average of 5; 4.5-5.2 s passive).
test-torch: setup-torch
	rm -rf $(NBVAL_TORCH_DIR)
	KERAS_BACKEND=torch $(TORCH_BIN)/course prepare --profile smoke --set RUN_SOLUTIONS=False \
		--output $(NBVAL_TORCH_DIR)
	KERAS_BACKEND=torch OMP_WAIT_POLICY=PASSIVE $(TORCH_BIN)/python $(PYTEST) \
		--junitxml=build/junit-torch.xml -m backend tests $(NBVAL_TORCH_DIR)

lint: setup
	$(BIN)/ruff check .

# Strip notebook outputs (except the nbval-checked cells) before committing.
clean-notebooks: setup
	$(BIN)/python tools/clean_notebooks.py notebooks/*.ipynb
