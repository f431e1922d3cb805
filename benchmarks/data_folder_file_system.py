"""How often fer_core.store.file_system (which reads /proc/self/mountinfo) names the file system that the kernel
itself reports for a folder: statfs(2)'s f_type, read with `stat -f -c %t` (coreutils), an independent answer.

    .venv/bin/python benchmarks/data_folder_file_system.py [FOLDER ...]

Checked: every mount point this process can see, a folder inside each that is a directory, and the FOLDERs given
(below a link, a missing folder, a bind mount). README's run (as root) first made three mounts, then gave 7 folders:

    mkdir -p "/tmp/t/sp ace é" /tmp/bind /tmp/stack /tmp/ro
    mount -t tmpfs tmpfs "/tmp/t/sp ace é"; mount --bind /dev/shm /tmp/bind; mount -t tmpfs tmpfs /tmp/stack
    mount --bind /work /tmp/stack; mount -t tmpfs -o ro tmpfs /tmp/ro; ln -s "/tmp/t/sp ace é" /tmp/t/link
    .venv/bin/python benchmarks/data_folder_file_system.py /tmp/t/link/store "/tmp/t/sp ace é/a/b" /tmp/bind/x \
        /tmp/stack /tmp/stack/main /tmp/ro/store /dev/shm/unveil
 f_type is a number per file system family (tmpfs 0x1021994),
so only the families in _MAGIC are compared; the rest are counted as not comparable. Prints a table (Linux only).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from fer_core.store import MOUNTINFO, file_system

# statfs f_type numbers (linux/magic.h) and the mountinfo types of that family.
_MAGIC = {
    "1021994": {"tmpfs", "devtmpfs"}, "858458f6": {"ramfs"}, "ef53": {"ext2", "ext3", "ext4"}, "58465342": {"xfs"},
    "9123683e": {"btrfs"}, "6969": {"nfs", "nfs4"}, "ff534d42": {"cifs"}, "fe534d42": {"smb3", "cifs"},
    "65735546": {"fuse", "fuseblk"}, "794c7630": {"overlay"}, "9fa0": {"proc"}, "62656572": {"sysfs"},
    "1cd1": {"devpts"}, "27e0eb": {"cgroup"}, "63677270": {"cgroup2"}, "1373": {"devtmpfs"},
    "01021997": {"9p"}, "73717368": {"squashfs"}, "64626720": {"debugfs"}, "74726163": {"tracefs"},
}


def _kernel_magic(folder: Path) -> str | None:
    done = subprocess.run(["stat", "-f", "-c", "%t", str(folder)], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None


def main(extra: list[str]) -> int:
    points = []
    for line in MOUNTINFO.read_bytes().splitlines():
        fields = line.split(b" ")
        points.append(Path(fields[4].decode("utf-8", "surrogateescape").replace("\\040", " ")))
    folders = list(dict.fromkeys([*points, *(p for point in points for p in list(_children(point))[:1]),
                                  *map(Path, extra)]))
    same = differ = not_comparable = 0
    for folder in folders:
        found, magic = file_system(folder), _kernel_magic(folder)
        family = _MAGIC.get(magic or "")
        if found is None or family is None:
            not_comparable += 1
            continue
        if found.type.split(".")[0] in family:
            same += 1
        else:
            differ += 1
            print(f"differs: {folder}: mountinfo {found.type} at {found.mount_point}, statfs 0x{magic}")
    print(f"| folders | same type | different | not comparable |\n|---|---|---|---|\n"
          f"| {len(folders)} | {same} | {differ} | {not_comparable} |")
    return 1 if differ else 0


def _children(point: Path):
    try:
        return (child for child in point.iterdir() if child.is_dir() and not child.is_symlink())
    except OSError:
        return iter(())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", help="folders to check besides every mount point")
    sys.exit(main(parser.parse_args().folders))
