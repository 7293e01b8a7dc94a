# Sourced by scripts/serve and scripts/test (EXTRAS=dev for the tools): makes .venv with the project
# installed, again whenever pyproject.toml changes.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
    echo "smsplatform needs Python 3.11 or newer (set PYTHON=/path/to/python3.11)" >&2
    exit 1
fi
extras=${EXTRAS:-}
stamp=".venv/.installed${extras:+-$extras}"
want=$(cat pyproject.toml | "$PYTHON" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
    echo "$want" > "$stamp"
fi
