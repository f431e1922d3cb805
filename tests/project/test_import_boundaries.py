"""Dependencies point one way (front ends -> governance -> fer_core), run time never imports training
code, and the run-time imports load no TensorFlow: what `pip install` of the run-time lock gives must
be enough for the app and the CLI."""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.paths import REPO

FRONT_ENDS = ("unveil", "app")


def _imports(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name (relative imports are not used here)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def _files(package: str, *, without: str | None = None) -> list[Path]:
    files = sorted((REPO / package).rglob("*.py"))
    return [f for f in files if without is None or without not in f.relative_to(REPO).parts]


def _offenders(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return [f"{f.relative_to(REPO)} imports {name}" for f in files for name in sorted(_imports(f))
            if name.split(".")[0] in forbidden or name.startswith(tuple(p + "." for p in forbidden))]


def test_fer_core_imports_neither_governance_nor_the_front_ends():
    assert _offenders(_files("fer_core"), ("governance", *FRONT_ENDS)) == []


def test_governance_does_not_import_the_front_ends():
    assert _offenders(_files("governance"), FRONT_ENDS) == []


@pytest.mark.parametrize("package", ["fer_core", "governance", "unveil"])
def test_run_time_code_never_imports_training(package):
    files = _files(package, without="training")
    assert [f"{f.relative_to(REPO)}" for f in files if any(
        name == "fer_core.training" or name.startswith("fer_core.training.") for name in _imports(f))] == []


def test_no_plain_import_of_another_packages_private_module():
    """ruff's PLC2701 (pyproject) refuses `from fer_core._paths import x` outside fer_core but does not see a
    plain `import fer_core._paths`; this covers that form."""
    offenders = []
    for path in sorted(REPO.rglob("*.py")):
        parts = path.relative_to(REPO).parts
        if parts[0].startswith(".") or "site-packages" in parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(REPO)} imports {alias.name}" for alias in node.names
                              if alias.name.split(".")[0] != parts[0]
                              and any(p.startswith("_") for p in alias.name.split(".")[1:])]
    assert offenders == []


def _run_time_modules() -> list[str]:
    """The modules the app's pages and the CLI import, plus the packages themselves."""
    pages = [REPO / "app.py", *sorted((REPO / "unveil" / "app").rglob("*.py"))]
    imported = {name for page in pages for name in _imports(page)
                if name.split(".")[0] in ("fer_core", "governance", "unveil")}
    cli = [f"unveil.cli.{f.stem}" for f in sorted((REPO / "unveil" / "cli").glob("*.py"))
           if f.stem != "__main__"]
    return sorted(imported | set(cli) | {"fer_core", "fer_core.store", "governance.explain", "governance.bias_audit"})


def test_the_app_and_the_cli_load_no_tensorflow():
    modules = _run_time_modules()
    script = ("import importlib, sys\n"
              f"for name in {modules!r}: importlib.import_module(name)\n"
              "from unveil.cli import build_parser; build_parser()\n"
              "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf2onnx', 'mtcnn')))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert len(modules) > 10  # the scan found the pages' imports


def test_the_app_and_the_cli_import_without_the_posix_only_modules():
    """Windows has no grp, pwd, fcntl, termios or resource (the README gives Windows install steps). fer_core.store
    imported grp and pwd at the top, for a check it makes on POSIX only, so nothing that opens a store imported there;
    here they are made unimportable as on Windows."""
    script = ("import importlib, sys\n"
              "for name in ('grp', 'pwd', 'fcntl', 'termios', 'resource'): sys.modules[name] = None\n"
              f"for name in {_run_time_modules()!r}: importlib.import_module(name)\n"
              "from unveil.cli import build_parser; build_parser()\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr


def test_family_list_loads_neither_fairlearn_nor_matplotlib(tmp_path):
    script = ("import sys\n"
              "from unveil.cli import main\n"
              "try:\n    main(['family', 'list'])\nexcept SystemExit:\n    pass\n"
              "print(sorted({m.split('.')[0] for m in sys.modules} & {'fairlearn', 'matplotlib', 'sklearn'}))")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "UNVEIL_DATA_DIR": str(tmp_path / "data")}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300,
                            env=env, stdin=subprocess.DEVNULL)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


# --- maintainer folders and the training package ---------------------------------------------------------

MAINTAINER_FOLDERS = ("tools", "benchmarks", "experiments")
# Calls that load code from a path or put a folder on the import path.
PATH_LOADERS = {"spec_from_file_location", "SourceFileLoader", "run_path", "import_module", "insert", "append"}


def _maintainer_module_names() -> set[str]:
    """What `import NAME` would find with one of those folders on sys.path: its folder name and its modules."""
    return set(MAINTAINER_FOLDERS) | {f.stem for folder in MAINTAINER_FOLDERS for f in (REPO / folder).glob("*.py")}


def _names_maintainer_folder(text: str) -> bool:
    parts = text.replace("\\", "/").split("/")
    return any(part in MAINTAINER_FOLDERS for part in parts) or text.split(".")[0] in MAINTAINER_FOLDERS


def _maintainer_uses(source: str, filename: str) -> list[str]:
    """Imports of tools/, benchmarks/ or experiments/ code in one file: import statements naming them or
    their modules, and path loaders (importlib, runpy, sys.path) given a path through those folders."""
    names, found = _maintainer_module_names(), []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.split(".")[0] in names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in names:
            found.append(node.module)
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in PATH_LOADERS:
                found += [f"{called}({c.value!r})" for arg in node.args for c in ast.walk(arg)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str) and _names_maintainer_folder(c.value)]
    return found


def test_the_maintainer_scan_finds_each_way_of_loading_that_code():
    planted = textwrap.dedent("""
        import bench_identity
        from benchmarks.calibrate_identity import calibrate
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("x", REPO / "tools" / "export_mtcnn.py")
        sys.path.insert(0, str(REPO / "experiments"))
        importlib.import_module("benchmarks.bench_emotion")
    """)
    assert len(_maintainer_uses(planted, "planted.py")) == 5
    clean = "import numpy\nfrom fer_core.training.quantize import quantize\nsys.path.insert(0, str(REPO))\n"
    assert _maintainer_uses(clean, "clean.py") == []


def test_no_test_imports_tools_benchmarks_or_experiments():
    """Tests exercise packages (fer_core, governance, unveil, tests.support); code a test needs lives there."""
    offenders = {str(f.relative_to(REPO)): uses for f in sorted((REPO / "tests").rglob("*.py"))
                 if (uses := _maintainer_uses(f.read_text(), str(f)))}
    assert offenders == {}


def _training_graph() -> dict[str, set[str]]:
    """fer_core.training module -> the package's modules it imports (at the top or inside functions)."""
    package = REPO / "fer_core" / "training"
    modules = {f"fer_core.training.{f.stem}" for f in package.glob("*.py") if f.stem != "__init__"}
    return {module: {name for name in _imports(package / f"{module.rsplit('.', 1)[1]}.py") if name in modules}
            for module in modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, done = [], set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            cycles.append(path[path.index(node):] + [node])
            return
        if node in done:
            return
        for target in sorted(graph.get(node, ())):
            visit(target, path + [node])
        done.add(node)

    for node in sorted(graph):
        visit(node, [])
    return cycles


def test_the_cycle_finder_finds_a_planted_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]


def test_training_modules_import_each_other_without_a_cycle():
    graph = _training_graph()
    assert "fer_core.training.runs" in graph and len(graph) > 10
    assert _cycles(graph) == []


def test_the_training_package_init_imports_nothing():
    """`import fer_core.training` must stay cheap: each module imports TensorFlow only where it is used."""
    tree = ast.parse((REPO / "fer_core" / "training" / "__init__.py").read_text())
    assert ast.get_docstring(tree)
    assert not [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]
