"""The lock files the README's commands install (requirements/*.txt, from tools/lock_requirements.sh)
pin every dependency pyproject.toml names, within its range, with hashes; the run-time lock holds no
TensorFlow."""
from __future__ import annotations

import re
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
