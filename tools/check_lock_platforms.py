"""Check that a lock file installs, as the README's Quick start runs it, on each platform it is meant for.

For every platform: each pinned package whose marker holds there has a wheel on PyPI for CPython 3.11 whose
SHA-256 is in the lock (pip download, one package at a time, so every failure is listed), and every
dependency those wheels declare for that platform (tqdm's colorama on Windows, say) is pinned too: pip's
hash-checking mode refuses to install a dependency the lock does not pin. Needs the network and a few
hundred MB in a temporary folder per platform; a maintainer runs it after tools/lock_requirements.sh:

    .venv/bin/python tools/check_lock_platforms.py [--lock requirements/runtime.txt] [--extra test] [--platform NAME ...]

Prints one line per platform and exits 1 if any platform cannot install the lock.
"""
from __future__ import annotations

import argparse
import email.parser
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
PYTHON = "3.11"
# The marker variables of a CPython 3.11 interpreter; each platform adds its own.
CPYTHON = {"python_version": PYTHON, "python_full_version": f"{PYTHON}.9", "implementation_name": "cpython",
           "implementation_version": f"{PYTHON}.9", "platform_python_implementation": "CPython",
           "platform_release": "", "platform_version": ""}


@dataclass(frozen=True)
class Platform:
    what: str
    pip_platforms: tuple[str, ...]  # pip download --platform: the wheel tags this platform's pip accepts
    markers: dict[str, str] = field(hash=False)


def _manylinux(arch: str) -> tuple[str, ...]:
    # glibc 2.28 and older, as the lock was first made for: Debian 10+, Ubuntu 20.04+, Raspberry Pi OS 10+.
    return (*(f"manylinux_2_{minor}_{arch}" for minor in range(28, 16, -1)), f"manylinux2014_{arch}")


LINUX = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
MACOS = {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix"}
PLATFORMS = {
    "linux-x86_64": Platform("Linux x86-64, glibc 2.28+", _manylinux("x86_64"),
                             {**LINUX, "platform_machine": "x86_64"}),
    "linux-aarch64": Platform("Linux aarch64 (64-bit Raspberry Pi OS), glibc 2.28+", _manylinux("aarch64"),
                              {**LINUX, "platform_machine": "aarch64"}),
    # pip takes every older macOS version and universal2 from the newest one named. 15: opencv-python-headless
    # 5.1's macOS wheels are for 15 and later (onnxruntime 1.24+'s for 14 and later).
    "macos-arm64": Platform("macOS 15+ on Apple silicon", ("macosx_15_0_arm64",),
                            {**MACOS, "platform_machine": "arm64"}),
    "macos-x86_64": Platform("macOS 15+ on Intel", ("macosx_15_0_x86_64",),
                             {**MACOS, "platform_machine": "x86_64"}),
    "windows-amd64": Platform("Windows x86-64", ("win_amd64",),
                              {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                               "platform_machine": "AMD64"}),
}
# What the README's Quick start says it installs on; macos-x86_64 is checked only when named.
DEFAULT_PLATFORMS = ("linux-x86_64", "linux-aarch64", "macos-arm64", "windows-amd64")
HASH_MISMATCH = "DO NOT MATCH THE HASHES"  # pip's words when a wheel exists but its SHA-256 is not in the lock


@dataclass(frozen=True)
class Pin:
    line: str  # "name==version --hash=sha256:... ..." without the marker
    marker: Marker | None


def read_lock(path: Path) -> dict[str, Pin]:
    """The lock's pins by canonical name, each with its hashes and its environment marker."""
    pins = {}
    for entry in path.read_text().replace("\\\n", " ").splitlines():
        entry = entry.split("#")[0].strip()
        if not entry:
            continue
        requirement_text, *hashes = re.split(r"\s+(?=--hash=)", entry)
        requirement = Requirement(requirement_text)
        version = str(requirement.specifier).removeprefix("==")
        pins[canonicalize_name(requirement.name)] = Pin(
            f"{requirement.name}=={version} " + " ".join(hashes), requirement.marker)
    return pins


def roots(extras: list[str]) -> list[Requirement]:
    """pyproject.toml's dependencies and those of the named extras (an extra naming the project itself
    brings that extra's list in)."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = [Requirement(line) for line in project["dependencies"]]
    pending = list(extras)
    while pending:
        for line in project["optional-dependencies"][pending.pop()]:
            requirement = Requirement(line)
            if canonicalize_name(requirement.name) == canonicalize_name(project["name"]):
                pending += sorted(requirement.extras)
            else:
                out.append(requirement)
    return out


def _holds(marker: Marker | None, environment: dict[str, str], extras: set[str]) -> bool:
    return marker is None or any(marker.evaluate({**environment, "extra": extra}) for extra in extras | {""})


def _pip_environment() -> dict[str, str]:
    # PyPI as a household's pip sees it: no configured mirror, local wheel folder or version cap of this machine.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PIP_")}
    return {**environment, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def download(pin: Pin, platform: Platform, folder: Path) -> Path | str:
    """The pinned wheel for the platform, downloaded with the lock's hashes, or why pip refused it."""
    requirements = folder / "requirement.txt"
    requirements.write_text(pin.line + "\n")
    before = set(folder.glob("*.whl"))
    tags = [argument for tag in platform.pip_platforms for argument in ("--platform", tag)]
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", *tags,
         "--python-version", PYTHON, "--implementation", "cp", "--require-hashes", "-r", str(requirements),
         "-d", str(folder)], capture_output=True, text=True, env=_pip_environment())
    if result.returncode:
        return "SHA-256 not in the lock" if HASH_MISMATCH in result.stderr else "no wheel"
    (wheel,) = set(folder.glob("*.whl")) - before
    return wheel


def declared(wheel: Path) -> list[Requirement]:
    """The Requires-Dist of a wheel's METADATA."""
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (name for name in archive.namelist()
                       if name.count("/") == 1 and name.endswith(".dist-info/METADATA"))
        message = email.parser.Parser().parsestr(archive.read(metadata).decode())
    return [Requirement(line) for line in message.get_all("Requires-Dist") or []]


def check(pins: dict[str, Pin], requirements: list[Requirement], platform: Platform, folder: Path) -> dict:
    """For one platform: the pinned packages without a wheel, those whose wheel's SHA-256 the lock lacks, and
    the dependencies the lock does not pin (with who needs them), walking from `requirements`."""
    environment = {**CPYTHON, **platform.markers}
    wheels, refused = {}, {}
    for name, pin in sorted(pins.items()):
        if _holds(pin.marker, environment, set()):
            outcome = download(pin, platform, folder)
            (refused if isinstance(outcome, str) else wheels)[name] = outcome
    unpinned: dict[str, set[str]] = {}
    seen: dict[str, set[str]] = {}
    pending = [(requirement, "pyproject.toml") for requirement in requirements
               if _holds(requirement.marker, environment, set())]
    while pending:
        requirement, needed_by = pending.pop()
        name = canonicalize_name(requirement.name)
        if name not in wheels and name not in refused:
            unpinned.setdefault(requirement.name, set()).add(needed_by)
            continue
        extras = set(requirement.extras)
        if name in refused or (name in seen and extras <= seen[name]):
            continue
        seen[name] = seen.get(name, set()) | extras
        pending += [(dependency, requirement.name) for dependency in declared(wheels[name])
                    if _holds(dependency.marker, environment, seen[name])]
    return {"wheels": len(wheels), "no wheel": sorted(n for n, why in refused.items() if why == "no wheel"),
            "SHA-256 not in the lock": sorted(n for n, why in refused.items() if why != "no wheel"),
            "not pinned": {name: sorted(by) for name, by in sorted(unpinned.items())}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", type=Path, default=REPO / "requirements" / "runtime.txt")
    parser.add_argument("--extra", action="append", default=[], help="pyproject extras the lock holds (test.txt: test)")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                        help=f"default: {' '.join(DEFAULT_PLATFORMS)}")
    args = parser.parse_args()
    pins, requirements = read_lock(args.lock), roots(args.extra)
    failed = False
    for name in args.platform or DEFAULT_PLATFORMS:
        platform = PLATFORMS[name]
        with tempfile.TemporaryDirectory(prefix=f"lock-{name}-") as folder:
            found = check(pins, requirements, platform, Path(folder))
        problems = [f"{what}: {', '.join(found[what])}" for what in ("no wheel", "SHA-256 not in the lock") if found[what]]
        if found["not pinned"]:
            problems.append("not pinned: " + ", ".join(f"{dependency} (for {', '.join(by)})"
                                                       for dependency, by in found["not pinned"].items()))
        verdict = "NOT installable: " + "; ".join(problems) if problems else "installable as is"
        print(f"{name} ({platform.what}): {found['wheels']} wheels with their SHA-256 in the lock; {verdict}", flush=True)
        failed |= bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
