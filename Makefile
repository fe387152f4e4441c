# The two commands of the README: `make test` and `make run` (PROFILE=quick|default|full).
PY := .venv/bin/python
PROFILE ?= default

.PHONY: venv test run notebook lint written bench clean

# A venv with the package installed editable and every extra; redone when pyproject.toml changes.
.venv/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[notebook,dev]'
	touch $@

venv: .venv/.installed

test: venv
	$(PY) -m pytest -q

# Execute the notebook on a fresh kernel and build the submission bundle (placeholder name) in submission/.
run: venv
	$(PY) -m asgn2 submit --last Lastname --first Firstname --execute --profile $(PROFILE)

# Re-execute the committed notebook in place (what is committed: the default profile).
notebook: venv
	$(PY) -m asgn2 notebook --profile $(PROFILE)

lint: venv
	$(PY) -m ruff check .

written: venv
	$(MAKE) -C written PY=$(abspath $(PY))

clean:
	rm -rf written/build written/figures results submission .pytest_cache
