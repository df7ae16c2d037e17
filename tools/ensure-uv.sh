#!/usr/bin/env bash
# Print the path of a uv binary, installing uv from PyPI into the user's site if none is on PATH.
set -euo pipefail
if command -v uv >/dev/null 2>&1; then command -v uv; exit 0; fi
if [ -x "$HOME/.local/bin/uv" ]; then echo "$HOME/.local/bin/uv"; exit 0; fi
python3 -m pip install --quiet --user uv >&2 || python3 -m pip install --quiet --break-system-packages --user uv >&2
echo "$HOME/.local/bin/uv"
