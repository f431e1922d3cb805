"""The lock files the README's commands install (requirements/*.txt, from tools/lock_requirements.sh)
pin every dependency pyproject.toml names, within its range, with hashes; the run-time lock holds no
TensorFlow, and every package the app and the CLI import is in it."""
from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO

PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$", re.MULTILINE)


def _pins(name: str) -> dict[str, str]:
    text = (REPO / "requirements" / name).read_text()
    pins = {canonicalize_name(package): version for package, version in PIN.findall(text)}
    assert text.count("--hash=sha256:") >= len(pins) > 0
    return pins


def _project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _requirements(extra: str | None) -> list[Requirement]:
    project = _project()
    if extra is None:
        return [Requirement(r) for r in project["dependencies"]]
    out = []
    for line in project["optional-dependencies"][extra]:
        requirement = Requirement(line)
        if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
            for nested in requirement.extras:
                out += _requirements(nested)
        else:
            out.append(requirement)
    return out


@pytest.mark.parametrize(("lock", "requirements"), [
    ("runtime.txt", _requirements(None)),
    ("test.txt", _requirements(None) + _requirements("test")),
])
def test_every_dependency_is_pinned_within_its_range(lock, requirements):
    pins = _pins(lock)
    for requirement in requirements:
        version = pins.get(canonicalize_name(requirement.name))
        assert version is not None, f"{requirement.name} is not in requirements/{lock}"
        assert requirement.specifier.contains(version, prereleases=True), f"{requirement} but {lock} pins {version}"


def test_the_runtime_lock_has_no_tensorflow():
    assert not {p for p in _pins("runtime.txt") if p.startswith(("tensorflow", "keras", "tf2onnx"))}


# --- what the run-time code imports is what the run-time lock installs ---------------------------------------

FIRST_PARTY = {"fer_core", "governance", "unveil", "app", "tests"}


def _run_time_files() -> list:
    """app.py and every module of the packages the app and the CLI run, training code left out."""
    return [REPO / "app.py", *(path for package in ("fer_core", "governance", "unveil")
                               for path in sorted((REPO / package).rglob("*.py")) if "training" not in path.parts)]


def _third_party_imports(source: str, filename: str) -> set[str]:
    """The top-level names of the modules a file imports from outside the standard library and the project,
    at the top or inside a function (a lazy import runs too, when its branch does)."""
    names = set()
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name not in FIRST_PARTY}


def _not_in_the_runtime_lock(modules: set[str]) -> dict[str, list[str]]:
    """Each module whose distribution (as installed here, with the test extras) requirements/runtime.txt does not
    pin, with the distributions that provide it (none: not installed at all)."""
    pinned = set(_pins("runtime.txt"))
    providers = importlib.metadata.packages_distributions()
    return {module: sorted(providers.get(module, [])) for module in sorted(modules)
            if not {canonicalize_name(dist) for dist in providers.get(module, [])} & pinned}


def test_the_import_scan_flags_a_module_only_the_test_extras_install():
    planted = "import numpy\ndef later():\n    import httpx\n    from pytest import approx\n    from . import sibling\n"
    modules = _third_party_imports(planted, "planted.py")
    assert modules == {"numpy", "httpx", "pytest"}
    assert set(_not_in_the_runtime_lock(modules)) == {"httpx", "pytest"}


def test_every_module_the_run_time_code_imports_is_in_the_runtime_lock():
    """A fresh install from requirements/runtime.txt (the README's first Quick start command) has no test
    extras: an import of a package only requirements/test.txt brings (a page, a CLI verb, a lazy import) is a
    ModuleNotFoundError for every household. Fix: the package in pyproject's dependencies, then
    tools/lock_requirements.sh."""
    modules = set().union(*(_third_party_imports(path.read_text(), str(path)) for path in _run_time_files()))
    assert {"numpy", "onnxruntime", "streamlit", "fastapi", "streamlit_webrtc"} <= modules  # the scan works
    assert _not_in_the_runtime_lock(modules) == {}


def _undeclared(modules: set[str], requirements: list[Requirement]) -> dict[str, list[str]]:
    """Each module that no distribution in `requirements` provides (as installed here), with those that do."""
    declared = {canonicalize_name(requirement.name) for requirement in requirements}
    providers = importlib.metadata.packages_distributions()
    return {module: sorted(providers.get(module, [])) for module in sorted(modules)
            if not {canonicalize_name(dist) for dist in providers.get(module, [])} & declared}


def test_the_declaration_scan_flags_a_module_that_only_comes_with_another_dependency():
    assert _undeclared({"numpy", "scipy"}, [Requirement("numpy>=2")]) == {"scipy": ["scipy"]}


@pytest.mark.parametrize(("files", "requirements"), [
    (_run_time_files(), _requirements(None)),
    (sorted((REPO / "tests").rglob("*.py")), _requirements(None) + _requirements("test")),
], ids=["run time", "tests"])
def test_every_module_the_code_imports_is_a_dependency_pyproject_names(files, requirements):
    """A package the code imports that only comes with another dependency (scipy with scikit-learn, starlette
    with FastAPI, av with aiortc) has no range of its own: a `pip install .` beside an older copy keeps that copy,
    whatever API or fix the code needs, and the lock's pin is only there while the other package wants it."""
    modules = set().union(*(_third_party_imports(path.read_text(), str(path)) for path in files))
    assert _undeclared(modules, requirements) == {}


def test_the_run_time_modules_import_and_analyze_a_photo_with_only_the_runtime_lock(tmp_path):
    """A fresh process where every module that only a distribution outside requirements/runtime.txt provides
    (the test and training extras) cannot be imported, as in a household's runtime-only install: every
    run-time module imports, the CLI's parser builds and `unveil analyze` reads a photo. A library's optional
    import of such a module (psutil, rich, lz4 when installed) then takes its own fallback, as it would there."""
    pinned = set(_pins("runtime.txt"))
    blocked = sorted(module for module, dists in importlib.metadata.packages_distributions().items()
                     if module not in FIRST_PARTY and not {canonicalize_name(d) for d in dists} & pinned)
    assert {"pytest", "tensorflow", "httpx", "playwright"} <= set(blocked)
    modules = sorted(".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
                     for path in _run_time_files()[1:]
                     if "pages" not in path.parts and path.stem not in ("__main__", "streamlit_app"))
    script = ("import importlib, importlib.abc, sys\n"
              f"BLOCKED = set({blocked!r})\n"
              "class OnlyTheRuntimeLock(importlib.abc.MetaPathFinder):\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              "        if name.split('.')[0] in BLOCKED:\n"
              "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
              "sys.meta_path.insert(0, OnlyTheRuntimeLock())\n"
              f"for name in {modules!r}: importlib.import_module(name)\n"
              "from unveil.cli import main\n"
              "sys.exit(main(sys.argv[1:]))")
    photo = REPO / "tests" / "fixtures" / "public_domain" / "grace_hopper.jpg"
    result = subprocess.run([sys.executable, "-c", script, "analyze", "--no-progress", str(photo)], cwd=REPO,
                            capture_output=True, text=True, timeout=300,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "UNVEIL_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["faces"]
