# The two commands a newcomer runs: `make course` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
NBVAL_DIR := build/nbval

.PHONY: setup course test lint clean-notebooks

setup: $(STAMP)

# (Re)install when the dependencies change; creates the virtual environment if it is missing.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# Re-execute the series and write runs/PROFILE/report.md. Pass options with COURSE_ARGS,
# e.g. make course COURSE_ARGS="--profile full --only 01 02".
course: setup
	$(BIN)/course run $(COURSE_ARGS)

# Unit tests, lint and notebook hygiene, then every notebook executed by nbval in the smoke
# profile (papermill-prepared copies), comparing only the outputs marked NBVAL_CHECK_OUTPUT.
test: setup
	rm -rf $(NBVAL_DIR)
	$(BIN)/course prepare --profile smoke --output $(NBVAL_DIR)
	$(BIN)/python -m pytest tests $(NBVAL_DIR) --nbval-lax --nbval-current-env -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .

# Strip notebook outputs (except the nbval-checked cells) before committing.
clean-notebooks: setup
	$(BIN)/python tools/clean_notebooks.py notebooks/*.ipynb
