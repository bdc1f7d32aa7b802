#!/usr/bin/env bash
# setup_humble_env.sh [--clean | --print-python] - the Humble-stack test environment,
# <repo>/.venv-humble: Python 3.10 with Ubuntu 22.04's numpy 1.21.5 and OpenCV 4.5.4 (what a
# ROS 2 Humble robot runs), the same ROS 2 Jazzy wheels as .venv (cp310 builds), vision_msgs
# and ai_msgs built from ros_interfaces/, this repository editable and the vendor wheels.
# It is scripts/setup_env.sh run with another venv, lock and interpreter (EP_VENV, EP_REQ,
# PYTHON, EP_PYTHON_VERSION): same steps, same stamps, idempotent.
#   --print-python  print the Python 3.10 this script would use and exit 0, or say on stderr
#                   why there is none and exit 1 (test.sh then skips the Humble phase).
# The interpreter: $HUMBLE_PYTHON if set, else `python3.10` when it runs, else pyenv's 3.10.
# Afterwards: `EP_VENV=.venv-humble . scripts/env.sh`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# Print the first working Python 3.10 (path), or nothing.
find_python310() {
    local candidate root
    local -a candidates=()
    if [ -n "${HUMBLE_PYTHON:-}" ]; then
        candidates=("$HUMBLE_PYTHON")
    else
        candidates=(python3.10)
        # pyenv's shim only runs the versions pyenv is told to; the interpreter itself does.
        if root="$(pyenv root 2>/dev/null)"; then
            candidates+=("$root"/versions/3.10*/bin/python3.10)
        fi
    fi
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' \
                >/dev/null 2>&1; then
            "$candidate" -c 'import sys; print(sys.executable)'
            return 0
        fi
    done
    return 1
}

if ! PY310="$(find_python310)"; then
    if [ -n "${HUMBLE_PYTHON:-}" ]; then
        echo "no Python 3.10: HUMBLE_PYTHON=$HUMBLE_PYTHON is not a working Python 3.10" >&2
    else
        echo "no Python 3.10 on this machine (python3.10 does not run, no pyenv 3.10);" \
            "set HUMBLE_PYTHON=/path/to/python3.10" >&2
    fi
    exit 1
fi
if [ "${1:-}" = "--print-python" ]; then
    echo "$PY310"
    exit 0
fi

export EP_VENV="$ROOT/.venv-humble" EP_REQ="$ROOT/scripts/requirements-humble.txt"
export EP_PYTHON_VERSION=3.10 EP_TAG=setup_humble_env PYTHON="$PY310"
exec bash "$ROOT/scripts/setup_env.sh" "$@"
