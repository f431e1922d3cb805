"""The lock files the README's commands install (requirements/*.txt, from tools/lock_requirements.sh)
pin every dependency pyproject.toml names, within its range, with hashes, and every dependency a pinned
package declares on each platform the README names; the run-time lock holds no TensorFlow, and every package
the app and the CLI import is in it."""
from __future__ import annotations

import ast
import importlib.metadata
import json
import re
import subprocess
import sys
import tomllib

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.support.paths import REPO

# "name==version \" or, for a package only some platforms need, "name==version ; marker \"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)(?: ; ([^\\\n]+))? \\$", re.MULTILINE)


def _lock(name: str) -> dict[str, tuple[str, Marker | None]]:
    """The lock's pins by canonical name: the version and the marker that says where it is installed."""
    text = (REPO / "requirements" / name).read_text()
    pins = {canonicalize_name(package): (version, Marker(marker) if marker else None)
            for package, version, marker in PIN.findall(text)}
    assert text.count("--hash=sha256:") >= len(pins) > 0
    assert len(pins) == len(re.findall(r"^\w", text, re.MULTILINE)), "a requirement line PIN does not read"
    return pins


def _pins(name: str) -> dict[str, str]:
    return {package: version for package, (version, _) in _lock(name).items()}


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


# --- every platform the README says the Quick start installs on gets every dependency pinned -----------------

CPYTHON_3_11 = {"python_version": "3.11", "python_full_version": "3.11.9", "implementation_name": "cpython",
                "implementation_version": "3.11.9", "platform_python_implementation": "CPython",
                "platform_release": "", "platform_version": ""}
PLATFORMS = {
    "Linux x86-64": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                     "platform_machine": "x86_64"},
    "Linux aarch64": {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix",
                      "platform_machine": "aarch64"},
    "macOS arm64": {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                    "platform_machine": "arm64"},
    "Windows x86-64": {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                       "platform_machine": "AMD64"},
}


def _holds(marker: Marker | None, environment: dict[str, str], extras: set[str]) -> bool:
    return marker is None or any(marker.evaluate({**environment, "extra": extra}) for extra in extras | {""})


def _not_pinned_on(platform: dict[str, str], lock: dict[str, tuple[str, Marker | None]],
                   requirements: list[Requirement]) -> dict[str, list[str]]:
    """Each dependency that `requirements`, and the pinned packages they reach, declare on a platform and that the
    lock does not install there, with the packages that need it. The declarations are read from the releases
    installed here; a package installed at another version than the lock's (or not at all: a Windows-only one)
    is not followed further, which tools/check_lock_platforms.py does from the platform's own wheels."""
    environment = {**CPYTHON_3_11, **platform}
    installed_there = {name for name, (_, marker) in lock.items() if _holds(marker, environment, set())}
    missing: dict[str, set[str]] = {}
    followed: dict[str, set[str]] = {}
    pending = [(requirement, "pyproject.toml") for requirement in requirements
               if _holds(requirement.marker, environment, set())]
    while pending:
        requirement, needed_by = pending.pop()
        name = canonicalize_name(requirement.name)
        if name not in installed_there:
            missing.setdefault(name, set()).add(needed_by)
            continue
        extras = followed.get(name, set()) | set(requirement.extras)
        try:
            same_release = importlib.metadata.version(name) == lock[name][0]
        except importlib.metadata.PackageNotFoundError:
            same_release = False
        if not same_release or followed.get(name) == extras:
            continue
        followed[name] = extras
        pending += [(dependency, name) for dependency in map(Requirement, importlib.metadata.requires(name) or [])
                    if _holds(dependency.marker, environment, extras)]
    return {name: sorted(by) for name, by in missing.items()}


def test_the_platform_scan_flags_a_dependency_only_windows_needs():
    tqdm_only = {"tqdm": (importlib.metadata.version("tqdm"), None)}
    assert _not_pinned_on(PLATFORMS["Windows x86-64"], tqdm_only, [Requirement("tqdm")]) == {"colorama": ["tqdm"]}
    assert _not_pinned_on(PLATFORMS["Linux aarch64"], tqdm_only, [Requirement("tqdm")]) == {}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize(("lock", "requirements"), [
    ("runtime.txt", _requirements(None)),
    ("test.txt", _requirements(None) + _requirements("test")),
])
def test_every_dependency_a_platform_needs_is_pinned_for_it(lock, requirements, platform):
    """pip installs a lock with hashes in hash-checking mode, which refuses a dependency the lock does not pin:
    a lock resolved for Linux alone misses tqdm's colorama on Windows, and the Quick start's install stops there.
    Fix: tools/lock_requirements.sh (uv's --universal pins it with its marker)."""
    assert _not_pinned_on(PLATFORMS[platform], _lock(lock), requirements) == {}


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
