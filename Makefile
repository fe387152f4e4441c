# The two commands of the README: `make test` and `make run` (PROFILE=quick|default|full).
PY := .venv/bin/python
PROFILE ?= default

.PHONY: venv test run lint written bench clean

# A venv with the package installed editable and every extra; redone when pyproject.toml changes.
.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[notebook,dev]'
	touch $@

venv: .venv/.installed

test: venv
	$(PY) -m pytest -q

run: venv
	$(PY) -m asgn2 run --profile $(PROFILE)

lint: venv
	$(PY) -m ruff check .

written: venv
	$(MAKE) -C written PY=$(abspath $(PY))

clean:
	rm -rf written/build written/figures results submission .pytest_cache
