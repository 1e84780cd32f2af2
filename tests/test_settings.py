"""analysis.settings is the one module reading the environment (issue 21): every variable is
documented there and in docs/architecture.md, a variable set after the import is seen, and no
other module of the app reads ``os.environ`` / ``os.getenv``."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from analysis import config, settings

ROOT = Path(__file__).resolve().parent.parent
#: Modules allowed to touch the environment: the settings, and the sandbox that copies it whole
#: for the check process it starts (it reads no setting).
ALLOWED = {"analysis/settings.py", "analysis/imports/sandbox.py"}


def _environment_reads(path: Path) -> list[int]:
    """Lines of ``path`` that read ``os.environ`` or call ``os.getenv``."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb"):
            if isinstance(node.value, ast.Name) and node.value.id == "os":
                lines.append(node.lineno)
    return sorted(lines)


def test_no_other_module_reads_the_environment():
    files = [
        ROOT / "app.py",
        *(ROOT / "pages").glob("*.py"),
        *(ROOT / "ui").glob("*.py"),
        *(ROOT / "analysis").rglob("*.py"),
    ]
    reads = {
        rel: lines
        for f in files
        if (rel := str(f.relative_to(ROOT))) not in ALLOWED and (lines := _environment_reads(f))
    }
    assert reads == {}


def test_the_scan_sees_a_read(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\na = os.environ.get('X')\nb = os.getenv('Y')\n", "utf-8")
    assert _environment_reads(f) == [2, 3]


def test_settings_are_read_at_call_time(monkeypatch, tmp_path):
    monkeypatch.setenv("OBSERVATOIRE_DB", str(tmp_path / "x.duckdb"))
    monkeypatch.setenv("OBSERVATOIRE_TIMING", "1")
    assert settings.current().db == str(tmp_path / "x.duckdb")
    assert config.default_db_path() == (tmp_path / "x.duckdb").resolve()
    assert settings.current().timing_on
    monkeypatch.delenv("OBSERVATOIRE_DB")
    monkeypatch.delenv("OBSERVATOIRE_TIMING")
    assert settings.current().db is None and not settings.current().timing_on
    assert config.default_db_path() == config.DATA_DIR / "observatoire.duckdb"


def test_from_env_reads_a_given_mapping():
    s = settings.Settings.from_env({"OBSERVATOIRE_MAP_SANDBOX": " 1 ", "OBSERVATOIRE_HIERARCHY": "now"})
    assert s.map_sandbox_on and s.hierarchy == "now" and s.db is None
    assert not settings.Settings.from_env({"OBSERVATOIRE_MAP_SANDBOX": "yes"}).map_sandbox_on


def test_every_variable_is_documented():
    names = set(settings.VARIABLES.values())
    assert set(settings.VARIABLES) == set(settings.Settings.__dataclass_fields__)
    doc = settings.__doc__
    arch = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    assert {n for n in names if f"``{n}``" not in doc} == set()
    assert {n for n in names if f"`{n}`" not in arch} == set()
    # and every OBSERVATOIRE_ name written in the code is one of them
    files = [ROOT / "app.py", *(ROOT / "ui").glob("*.py"), *(ROOT / "analysis").rglob("*.py")]
    written = {w for f in files for w in re.findall(r"OBSERVATOIRE_[A-Z_]*[A-Z]", f.read_text("utf-8"))}
    assert written - names == set()
