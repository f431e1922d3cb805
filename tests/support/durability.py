"""A recording fake around the calls that make a file durable: os.fsync, os.replace, os.rename and os.link still run,
and each is noted with the paths it acted on, in order. A power cut keeps only what was synced: a file renamed or
linked into place before its bytes were synced can come back empty (ext4 writes a new file's bytes out seconds
later), and a name is on the disk only once its folder is synced. No power is cut here: the order of the calls is
what a test asserts (Linux: an fsync's file is read from /proc/self/fd)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="reads an fsync's file from /proc/self/fd")


@dataclass(frozen=True)
class Call:
    name: str  # fsync, replace, rename or link
    path: Path  # what was synced, or the name a file was moved or linked to
    source: Path | None = None  # the file moved or linked


class DiskCalls:
    """The calls made since it was made (monkeypatch undoes the wrapping at the test's end)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[Call] = []
        real_fsync = os.fsync

        def fsync(fd: int) -> None:
            path = Path(os.readlink(f"/proc/self/fd/{fd}"))
            real_fsync(fd)
            self.calls.append(Call("fsync", path))

        monkeypatch.setattr(os, "fsync", fsync)
        for name in ("replace", "rename", "link"):
            monkeypatch.setattr(os, name, self._moving(name, getattr(os, name)))

    def _moving(self, name: str, real):
        def move(source, target, *args, **kwargs) -> None:
            real(source, target, *args, **kwargs)
            self.calls.append(Call(name, Path(target).resolve(), Path(source).resolve()))

        return move

    def placed_durably(self, target: Path) -> list[str]:
        """What a power cut right after the calls could undo of `target`: [] when the file that became `target` was
        synced before it was moved or linked there, and `target`'s folder synced after."""
        target = target.resolve()
        placed = [index for index, call in enumerate(self.calls) if call.name != "fsync" and call.path == target]
        if not placed:
            return [f"{target.name} was never moved or linked into place"]
        index = placed[-1]
        source = self.calls[index].source
        problems = []
        if Call("fsync", source) not in self.calls[:index]:
            problems.append(f"{target.name} placed before its bytes were synced")
        if Call("fsync", target.parent) not in self.calls[index + 1:]:
            problems.append(f"{target.name} placed, its folder never synced after")
        return problems

    def synced(self, path: Path) -> list[str]:
        """What a power cut right after the calls could undo of the file `path`, written in place: [] when it was
        synced, then its folder."""
        path = path.resolve()
        if Call("fsync", path) not in self.calls:
            return [f"{path.name} never synced"]
        after = self.calls[self.calls.index(Call("fsync", path)) + 1:]
        return [] if Call("fsync", path.parent) in after else [f"{path.name} synced, its folder never synced after"]
