# Two commands do all the set-up on a fresh machine: `make book` and `make test`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
JOBS    ?= 2

.PHONY: book student test bench lab serve clean lint venv kernlab-record hub-bundle

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $(STAMP)

# The reader/instructor edition (with solutions) into _build/html.
book: $(STAMP)
	$(BIN)/python -m bookkit.build --edition instructor --out _build

# The student edition (no solutions, no answer keys) into _build/student/html.
student: $(STAMP)
	$(BIN)/python -m bookkit.build --edition student --out _build/student

# The student edition's notebooks as a folder for a class JupyterHub (nbgitpuller), into
# _build/hub-bundle (see classroom/hub.py; REPO=, HUB= and BOOK_REPO= fill in the README's link).
hub-bundle: student
	$(BIN)/python -m classroom.hub --out _build/hub-bundle $(if $(REPO),--repo $(REPO)) \
		$(if $(HUB),--hub $(HUB)) $(if $(BOOK_REPO),--book-repo $(BOOK_REPO))

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# simcore's benchmarks, the live mode's (bookkit.bench), then the cover-letter workload on this
# kernel beside simcore. The kernel side needs zram swap and a chosen mTHP size:
# `make bench KERNLAB_SETUP=1` as root lets the lab set them up (and restore them); without it
# the lab says why it skipped the kernel's timing.
KERNLAB_SETUP ?=
bench: $(STAMP)
	$(BIN)/python -m simcore.bench
	$(BIN)/python -m bookkit.bench
	$(BIN)/python -m kernlab bench $(if $(filter 1,$(KERNLAB_SETUP)),--setup --perf,)

# The live-kernel lab's records for the book (root; changes system settings and restores them):
# the chapters read _build/kernlab/*.json at build time; `make book` itself never runs the lab.
KERNLAB_RECORD := _build/kernlab
kernlab-record: $(STAMP)
	mkdir -p $(KERNLAB_RECORD)
	$(BIN)/python -m kernlab check --setup --record $(KERNLAB_RECORD)/check.json || test $$? -eq 1
	$(BIN)/python -m kernlab bench --setup --perf --repeat 5 --record $(KERNLAB_RECORD)/bench.json

lab: $(STAMP)
	$(BIN)/jupyter lab book/

serve: $(STAMP)
	@test -f _build/html/index.html || $(MAKE) book
	$(BIN)/python -m http.server --directory _build/html --bind 127.0.0.1 8000

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf _build .pytest_cache .hypothesis
