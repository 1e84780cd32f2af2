# Observatoire des stages — Normandie
# make run   : installe, construit la base si besoin, lance le tableau de bord
# make test  : installe (y compris Chromium pour les tests navigateur), construit la base, vérifie le code (ruff), lance les tests
# make test-fast : la boucle rapide, sans navigateur, sans miroir de données ni base construite (marqueurs de tests/conftest.py)

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
DB     ?= data/observatoire.duckdb
PORT   ?= 8501

.PHONY: run test test-fast lint install vendor lock browser db rebuild bench clean

run: install db
	@echo "Lancement du tableau de bord : http://localhost:$(PORT) (Ctrl+C pour arrêter)"
	$(PY) -m ui.serve --server.port $(PORT) --server.headless true

test: install browser db lint
	$(PY) -m pytest -q

# every test that needs neither the browser nor the mirror / built database (markers set by tests/conftest.py)
test-fast: $(VENV)/.installed
	$(PY) -m pytest -q -m "not browser and not mirror"

# lint rules (pyproject.toml [tool.ruff.lint], complexity limit C901 <= 10) and formatting (ruff format)
lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

install: $(VENV)/.installed vendor

# the hashed lock (every package, exact version and SHA-256) is what is installed; requirements.txt
# holds the readable tested ranges it is generated from (make lock, docs/security.md)
$(VENV)/.installed: requirements.lock
	@echo "Création de l'environnement Python ($(VENV))…"
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "Installation des paquets Python (requirements.lock, environ 2 minutes la première fois)…"
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	touch $@
	@echo "Paquets Python installés."

# JavaScript bundles too large to track (plotly.js basic, 1.1 MiB): downloaded from the npm registry
# by Python's standard library (no node), checked against the SHA-256 pinned in ui/vendor.py;
# nothing is downloaded when the file is already there with that digest
vendor: $(VENV)/.installed
	@echo "Vérification des bibliothèques JavaScript (plotly.js, static/vendor)…"
	@$(PY) -m ui.vendor

lock: install
	$(VENV)/bin/pip-compile --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links \
	  --strip-extras -o requirements.lock requirements.txt

# Debian Chromium for the browser tests (root on a fresh Debian machine; otherwise they are skipped)
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core poppler-utils >/dev/null; \
	  else echo "Chromium absent : les tests navigateur seront ignorés (apt-get install chromium)"; fi; \
	fi

db: install
	@test -f $(DB) || { echo "Construction de la base $(DB) à partir de ../shared/data (quelques minutes la première fois)…"; \
	  $(PY) -m analysis.build --db $(DB); }

rebuild: install
	@echo "Reconstruction de la base $(DB)…"
	$(PY) -m analysis.build --db $(DB)

bench: install db
	$(PY) bench/travel_times.py
	$(PY) bench/indicators.py
	$(PY) bench/report.py
	$(PY) bench/transit.py
	$(PY) bench/imports.py
	$(PY) bench/browser.py

clean:
	rm -rf $(VENV) $(DB) .pytest_cache
