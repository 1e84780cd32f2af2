"""Architecture rules checked on the source (ast): no import loop among analysis/ and ui/, SQL
only in analysis/, analysis/ free of Streamlit.

House rules (docs/architecture.md): analysis/ holds all logic and is the only package that
talks to the database; ui/ and the pages are thin layers over it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("analysis", "ui")


def _module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            out[_module_name(path)] = path
    return out


def imported_modules(path: Path, known: set[str], type_only_too: bool = False, root: Path = ROOT) -> set[str]:
    """Modules of ``known`` imported anywhere in ``path`` (a file under ``root``; top level or
    inside functions), and under ``if TYPE_CHECKING:`` too when ``type_only_too``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path, root)
    pkg = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: set[str] = set()
    type_only = set()
    if not type_only_too:
        type_only = {
            id(n) for block in ast.walk(tree) if _is_type_checking(block) for stmt in block.body for n in ast.walk(stmt)
        }
    for node in ast.walk(tree):
        if id(node) in type_only:  # annotations only, never imported at run time
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = pkg.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            # "from analysis import db" imports analysis.db; "import analysis.db" too
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != me and name not in PACKAGES:
                found.add(name)
    return found


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and (
        (isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
        or (isinstance(node.test, ast.Attribute) and node.test.attr == "TYPE_CHECKING")
    )


def import_graph(type_only_too: bool = False) -> dict[str, set[str]]:
    """Who imports whom among analysis/ and ui/ (``type_only_too``: ``if TYPE_CHECKING:`` imports too)."""
    mods = _modules()
    known = set(mods)
    return {m: imported_modules(p, known, type_only_too) for m, p in mods.items()}


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (networkx), sorted."""
    g = nx.DiGraph()
    g.add_nodes_from(graph)
    g.add_edges_from((v, w) for v, ws in graph.items() for w in ws)
    return sorted(sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1)


def test_cycle_finder_sees_a_loop():
    """The checker itself: a hand-made two-module loop and a three-module loop are found."""
    assert find_cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_import_graph_reads_function_level_imports(tmp_path):
    """Imports inside functions count (they were how the loops were hidden)."""
    graph = import_graph()
    assert "analysis.db" in graph["analysis.build"]
    assert "analysis.db" in graph["analysis.report.cli"]  # imported inside main() only
    assert "analysis.report.render" in graph["analysis.report"]  # a package sees its submodules


def test_no_import_loop_in_analysis_and_ui():
    cycles = find_cycles(import_graph())
    assert cycles == [], f"import loops: {cycles}"


def test_import_graph_sees_type_only_imports_when_asked(tmp_path):
    """A module importing another only under ``if TYPE_CHECKING:`` (either spelling) depends on it
    for the type-only graph and not for the run-time one."""
    (tmp_path / "pkg").mkdir()
    a = tmp_path / "pkg" / "a.py"
    a.write_text("import typing\nif typing.TYPE_CHECKING:\n    from pkg import b\n", encoding="utf-8")
    b = tmp_path / "pkg" / "b.py"
    b.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.a\n", encoding="utf-8")
    known = {"pkg.a", "pkg.b"}
    assert imported_modules(a, known, type_only_too=True, root=tmp_path) == {"pkg.b"}
    assert imported_modules(a, known, type_only_too=False, root=tmp_path) == set()
    for type_only_too, loops in ((True, [["pkg.a", "pkg.b"]]), (False, [])):
        graph = {m: imported_modules(tmp_path / "pkg" / f"{m[4:]}.py", known, type_only_too, tmp_path) for m in known}
        assert find_cycles(graph) == loops


def test_no_import_loop_even_through_type_only_imports():
    """Type-only imports (``if TYPE_CHECKING:``) make no loop either: a lower layer does not
    name the types of a higher one (issue 21: ``config`` named ``TravelTimeSettings``)."""
    cycles = find_cycles(import_graph(type_only_too=True))
    assert cycles == [], f"import loops through type-only imports: {cycles}"


def _ui_files() -> list[Path]:
    return [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").rglob("*.py"))]


@pytest.mark.parametrize("path", _ui_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_database_access_outside_analysis(path):
    """app.py, pages/ and ui/ never import duckdb nor call ``.execute``/``.sql``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "duckdb" for a in node.names):
            bad.append(f"line {node.lineno}: import duckdb")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "duckdb":
            bad.append(f"line {node.lineno}: from duckdb import")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"execute", "sql", "executemany"}
        ):
            bad.append(f"line {node.lineno}: .{node.func.attr}(...)")
    assert bad == [], f"{path.relative_to(ROOT)} talks to the database: {bad}"


def test_analysis_never_imports_streamlit():
    bad = []
    for path in sorted((ROOT / "analysis").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n.split(".")[0] == "streamlit" for n in names):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == []


MAP_BUILDERS = ("analysis/outputs/maps.py", "ui/mapping.py")


def test_map_builders_take_their_options_by_keyword():
    """The trailing options of the map builders are keyword-only, and no call in the project
    passes more positional arguments than they accept (checked statically: a merge that brings
    back a positional call fails here rather than when the page is opened)."""
    signatures = {}
    for mod in MAP_BUILDERS:
        for node in ast.parse((ROOT / mod).read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                signatures[(Path(mod).stem, node.name)] = node
    optional = [name for (_, name), fn in signatures.items() if len(fn.args.defaults) > 1 and not fn.args.kwonlyargs]
    assert optional == [], f"several positional options: {optional}"
    files = [
        ROOT / "app.py",
        *sorted((ROOT / "pages").glob("*.py")),
        *sorted((ROOT / "analysis").glob("*.py")),
        *sorted((ROOT / "ui").glob("*.py")),
        *sorted((ROOT / "tests").glob("*.py")),
        *sorted((ROOT / "bench").glob("*.py")),
    ]
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
                key = (f.value.id, f.attr)
            elif isinstance(f, ast.Name) and path.stem in ("maps", "mapping"):
                key = (path.stem, f.id)
            else:
                continue
            fn = signatures.get(key)
            if (
                fn is not None
                and fn.args.kwonlyargs
                and (len(node.args) > len(fn.args.args) or any(isinstance(a, ast.Starred) for a in node.args))
            ):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {key[0]}.{key[1]}")
    assert bad == []


def test_table_existence_is_asked_in_one_place():
    """« Does this table (or column) exist? » has one answer, analysis.db.has_relation /
    relations / columns_of: no other module reads the catalog for it (the Données page's schema
    listing, analysis.outputs.datadict, lists every column and is the one other reader)."""
    needles = ("information_schema.tables", "information_schema.columns", "duckdb_tables()")
    allowed = {"analysis/db.py"}
    bad = []
    for path in sorted((ROOT / "analysis").rglob("*.py")) + sorted((ROOT / "ui").rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if rel not in allowed and any(n in text for n in needles):
            bad.append(rel)
    assert bad == []


#: Longest module of analysis/ and ui/ (lines) that needs no reason; a longer one gives it in a
#: line of its module docstring starting with "Size:" (issue 13).
MAX_MODULE_LINES = 600


def oversized_modules(root: Path, packages=PACKAGES, limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """Modules of ``packages`` over ``limit`` lines whose docstring gives no "Size:" reason."""
    out = {}
    for pkg in packages:
        for path in sorted((root / pkg).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            n = len(text.splitlines())
            if n <= limit:
                continue
            doc = ast.get_docstring(ast.parse(text)) or ""
            if any(line.strip().startswith("Size:") and line.strip()[5:].strip() for line in doc.splitlines()):
                continue
            out[path.relative_to(root).as_posix()] = n
    return out


def test_size_checker_sees_a_long_module_and_its_reason(tmp_path):
    """The checker itself, on hand-made modules: 601 lines is too long, 600 is not, and a
    "Size:" line with a reason (not an empty one) in the docstring excuses the length."""
    pkg = tmp_path / "analysis"
    pkg.mkdir()
    (pkg / "long.py").write_text('"""A module."""\n' + "x = 1\n" * 600)
    (pkg / "fits.py").write_text('"""A module."""\n' + "x = 1\n" * 599)
    (pkg / "said.py").write_text('"""A module.\n\nSize: one table of constants.\n"""\n' + "x = 1\n" * 700)
    (pkg / "empty.py").write_text('"""A module.\n\nSize:\n"""\n' + "x = 1\n" * 700)
    (pkg / "comment.py").write_text('# Size: not in the docstring\n"""A module."""\n' + "x = 1\n" * 700)
    got = oversized_modules(tmp_path, packages=("analysis",))
    assert got == {"analysis/comment.py": 702, "analysis/empty.py": 704, "analysis/long.py": 601}


def test_no_module_over_600_lines_without_a_reason():
    """« No module over ~600 lines without a reason in its docstring » (issue 13)."""
    over = oversized_modules(ROOT)
    assert over == {}, (
        f"modules over {MAX_MODULE_LINES} lines (split them, or add a 'Size: <reason>' docstring line): {over}"
    )


MAX_FUNCTION_LINES = 100
#: where the function-length rule holds (issue 21): the product's code, not tests or bench scripts
FUNCTION_ROOTS = ("analysis", "ui", "pages", "app.py")


def long_functions(root: Path, roots=FUNCTION_ROOTS, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """Functions and methods (nested ones included) of ``roots`` longer than ``limit`` lines,
    decorators excluded, as ``{"path:line name": lines}``."""
    out = {}
    for name in roots:
        base = root / name
        paths = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    n = node.end_lineno - node.lineno + 1
                    if n > limit:
                        out[f"{path.relative_to(root).as_posix()}:{node.lineno} {node.name}"] = n
    return out


def test_function_length_checker_sees_a_long_function(tmp_path):
    """The checker itself: a 101-line function is too long, 100 lines is not, a long nested
    function or method is seen, and files outside the roots are not read."""
    (tmp_path / "analysis").mkdir()
    body, deep = "    x = 1\n", "        x = 1\n"
    (tmp_path / "analysis" / "m.py").write_text(
        "def fits():\n" + body * 99 + "\n\ndef long():\n" + body * 100 + "\n\nclass C:\n    def meth(self):\n"
        + deep * 100 + "\n\ndef outer():\n    def inner():\n" + deep * 100 + "    return inner\n"
    )  # fmt: skip
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text("def long():\n" + body * 200)
    got = long_functions(tmp_path, roots=("analysis",))
    assert got == {"analysis/m.py:103 long": 101, "analysis/m.py:207 meth": 101,
                   "analysis/m.py:310 outer": 103, "analysis/m.py:311 inner": 101}  # fmt: skip


def test_no_function_over_100_lines():
    """« No function over 100 lines in analysis/, ui/, pages/, app.py » (issue 21)."""
    over = long_functions(ROOT)
    assert over == {}, f"functions over {MAX_FUNCTION_LINES} lines (split them): {over}"


def private_imports(root: Path, roots=("analysis", "ui", "pages", "app.py")) -> list[str]:
    """``from analysis.x import _name`` / ``from ui.x import _name`` (a private name used by another
    module) in ``roots``, as ``"path:line name"``. ``__future__`` and dunder names are not private."""
    out = []
    for name in roots:
        base = root / name
        paths = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.ImportFrom) or not node.module:
                    continue
                if node.module.split(".")[0] not in ("analysis", "ui"):
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        out.append(f"{path.relative_to(root).as_posix()}:{node.lineno} {alias.name}")
    return out


def test_private_import_checker_sees_one(tmp_path):
    """The checker itself: a private name imported from analysis is seen; a public one, a
    private name of a third-party package and ``__version__`` are not."""
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "m.py").write_text(
        "from analysis.access.pairs import _tables_fresh, build_pairs\n"
        "from osmnx.routing import _clean_maxspeed\nfrom analysis import __version__\n"
    )
    assert private_imports(tmp_path, roots=("ui",)) == ["ui/m.py:1 _tables_fresh"]


def test_no_private_name_imported_across_modules():
    """« Public names for what another module reuses » (issue 21): no module imports another
    module's ``_private`` name."""
    found = private_imports(ROOT)
    assert found == [], f"private names imported from another module (make them public): {found}"


def private_attributes(root: Path, roots=("analysis", "ui", "pages", "app.py")) -> list[str]:
    """``module._name`` where ``module`` was imported from analysis/ or ui/ (a private name used
    through the module object), as ``"path:line module._name"``."""
    out = []
    for name in roots:
        base = root / name
        paths = [base] if base.is_file() else sorted(base.rglob("*.py"))
        for path in paths:
            tree = ast.parse(path.read_text(encoding="utf-8"))
            modules = set()
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("analysis", "ui"):
                    modules.update(a.asname or a.name for a in node.names)
                elif isinstance(node, ast.Import):
                    modules.update(
                        (a.asname or a.name).split(".")[0]
                        for a in node.names
                        if a.name.split(".")[0] in ("analysis", "ui")
                    )
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                ):
                    continue
                head = node.value
                while isinstance(head, ast.Attribute):
                    head = head.value
                if isinstance(head, ast.Name) and head.id in modules:
                    out.append(f"{path.relative_to(root).as_posix()}:{node.lineno} {ast.unparse(node)}")
    return out


def test_private_attribute_checker_sees_one(tmp_path):
    """The checker itself: ``access._x`` and ``reach.output._y`` are seen; ``self._z``, a
    third-party module's private name and a dunder are not."""
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "m.py").write_text(
        "import osmnx\nfrom analysis import access, reach\n"
        "class C:\n    def f(self):\n        return self._z\n"
        "a = access._x\nb = reach.output._y\nc = osmnx._private\nd = access.__doc__\n"
    )
    assert private_attributes(tmp_path, roots=("ui",)) == ["ui/m.py:6 access._x", "ui/m.py:7 reach.output._y"]


def test_no_private_name_used_through_another_module():
    """The same rule through the module object (``access._offer_filter`` was used by report/)."""
    found = private_attributes(ROOT)
    assert found == [], f"private names used through another module (make them public): {found}"
