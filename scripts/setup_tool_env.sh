#!/usr/bin/env bash
# setup_tool_env.sh tools|export|rdk [--clean] - create or refresh a model-toolchain environment
# (no ROS in any; the runtime nodes never import what they hold):
#   tools   .venv-tools: rknn-toolkit2 2.5.0 + CPU torch + matplotlib, for convert/verify/report
#           and the rknn_sim backend. Apart from .venv: the toolkit needs numpy<=1.26.4, the ROS
#           wheels numpy 2.
#   export  .venv-export: torch 2.14.1 + torchvision 0.29.1 (with the nvidia libraries torch
#           links against) + ultralytics, for `edge-perception export`. ultralytics (AGPL-3.0)
#           is a tool here, never a runtime dependency.
#   rdk     .venv-rdk: the D-Robotics RDK toolchain from PyPI (hb_mapper, hbdk compiler and
#           simulator, horizon_nn quantizer; CUDA torch 2.9.1 that it imports), for
#           convert/verify --target rdk_x3|rdk_x5|rdk_ultra and the rdk_sim backend. Python 3.10
#           only (cp310 wheels): $RDK_PYTHON, else python3.10, else pyenv's 3.10. With
#           --print-python it prints that interpreter, or says why there is none (exit 1).
# Each is scripts/requirements-<name>.txt, a complete lock installed with --no-deps, then this
# repository in editable mode. Idempotent: a stamp in the venv records a hash of each step's
# inputs, so a re-run with nothing changed calls no pip. Needs python3.11 (rdk: python3.10) on
# x86_64 Linux.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NAME="${1:-}"
case "$NAME" in
    tools)
        # rknn-toolkit2's metadata asks torch<=2.4 and opencv-python; the lock gives CPU torch
        # 2.13 and the headless OpenCV on purpose.
        ACCEPT=(-e '^rknn-toolkit2 2\.5\.0 has requirement torch'
                -e '^rknn-toolkit2 2\.5\.0 requires opencv-python,')
        CHECK='from rknn.api import RKNN; import edge_perception' ;;
    export)
        # torch's triton is GPU-only (0.9 GB, unused); ultralytics gets headless OpenCV.
        ACCEPT=(-e '^torch 2\.14\.1 requires triton,'
                -e '^ultralytics [0-9.]* requires opencv-python,')
        CHECK='import torch, torchvision, ultralytics, onnx, onnxruntime; import edge_perception'
        export YOLO_OFFLINE=1 YOLO_VERBOSE=False YOLO_CONFIG_DIR="$ROOT/.venv-export/ultralytics-config" ;;
    rdk)
        ACCEPT=()          # the lock's own pip-check-accepts line (torch's triton) suffices
        CHECK='import horizon_tc_ui.hb_onnxruntime, hbdk, hmct; import edge_perception' ;;
    *) echo "usage: $0 tools|export|rdk [--clean]" >&2; exit 2 ;;
esac
PY_VERSION=3.11
if [ "$NAME" = rdk ]; then
    # The toolchain's wheels are cp310: the first working Python 3.10 (pyenv's shim runs only
    # the versions pyenv is told to; the interpreter itself does).
    PY_VERSION=3.10
    found=""
    candidates=("${RDK_PYTHON:-python3.10}")
    if [ -z "${RDK_PYTHON:-}" ] && root="$(pyenv root 2>/dev/null)"; then
        candidates+=("$root"/versions/3.10*/bin/python3.10)
    fi
    for candidate in "${candidates[@]}"; do
        if "$candidate" -c 'import sys, venv; sys.exit(sys.version_info[:2] != (3, 10))' \
                >/dev/null 2>&1; then
            found="$("$candidate" -c 'import sys; print(sys.executable)')"
            break
        fi
    done
    if [ -z "$found" ]; then
        echo "no Python 3.10 on this machine (the RDK toolchain's wheels are cp310): set" \
            "RDK_PYTHON=/path/to/python3.10" >&2
        exit 1
    fi
    if [ "${2:-}" = "--print-python" ]; then
        echo "$found"
        exit 0
    fi
    PYTHON="$found"
fi
VENV="$ROOT/.venv-$NAME"
REQ="$ROOT/scripts/requirements-$NAME.txt"
STAMP="$VENV/.setup_${NAME}_env.stamp"
PYTHON="${PYTHON:-python3}"
TAG="setup_${NAME}_env"
# shellcheck disable=SC1091
. "$ROOT/scripts/venv_lib.sh"

[ "${2:-}" = "--clean" ] && { log "removing $VENV"; rm -rf "$VENV"; }
SELF="$ROOT/scripts/setup_tool_env.sh"
T0=$SECONDS

[ "$(uname -m)" = x86_64 ] || die "the pinned wheels are x86_64 only; this machine is $(uname -m)"

# --- 0. the venv itself (recreated if its interpreter is gone or changed) -------------------
ensure_venv "$PY_VERSION"

# --- 1. Python packages ----------------------------------------------------------------------
H_DEPS="$(hash_of "$SELF" "$REQ")"
if ! done_already deps "$H_DEPS"; then
    install_lock ${ACCEPT[@]+"${ACCEPT[@]}"}   # what the lock replaces on purpose (ACCEPT above)
    mark_done deps "$H_DEPS"
fi

# --- 2. this package, editable ---------------------------------------------------------------
pkg_files=()
for f in setup.py setup.cfg pyproject.toml package.xml edge_perception/_native.c; do
    [ -f "$ROOT/$f" ] && pkg_files+=("$ROOT/$f")
done
H_PKG="$(hash_of "$SELF" "$REQ" "${pkg_files[@]}")"
if ! done_already package "$H_PKG"; then
    log "installing this repository (pip -e, --no-deps)"
    pip_q install --no-deps --no-build-isolation --use-pep517 --progress-bar off -q -e "$ROOT"
    mark_done package "$H_PKG"
fi

# --- check -----------------------------------------------------------------------------------
"$VENV/bin/python" -c "$CHECK" || die "the $NAME environment does not import: $CHECK"
log "ready in $((SECONDS - T0)) s: $VENV/bin/python"
