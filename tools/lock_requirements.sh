#!/usr/bin/env bash
# Re-pin requirements/runtime.txt (the app) and requirements/test.txt (test and training extras) to the
# newest releases within pyproject.toml's ranges, with every file's SHA-256, for Python 3.11 on every
# platform (--universal: a dependency only one platform needs, such as tqdm's colorama on Windows, is pinned
# with its marker, which pip's hash-checking mode requires). Run it after changing a range in pyproject.toml;
# commit the two files with the change, after tools/check_lock_platforms.py finds wheels for each platform.
set -euo pipefail
cd "$(dirname "$0")/.."
python3.11 -m pip install -q "uv>=0.9,<1"
python3.11 -m uv pip compile pyproject.toml --universal --python-version 3.11 \
    --generate-hashes --upgrade --quiet -o requirements/runtime.txt
python3.11 -m uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
    --generate-hashes --upgrade --quiet -o requirements/test.txt
