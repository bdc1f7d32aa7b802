#!/usr/bin/env bash
# setup_tool_env.sh tools|export [--clean] - create or refresh a model-toolchain environment
# (no ROS in either; the runtime nodes never import what they hold):
#   tools   .venv-tools: rknn-toolkit2 2.5.0 + CPU torch + matplotlib, for convert/verify/report
#           and the rknn_sim backend. Apart from .venv: the toolkit needs numpy<=1.26.4, the ROS
#           wheels numpy 2.
#   export  .venv-export: torch 2.14.1 + torchvision 0.29.1 (with the nvidia libraries torch
#           links against) + ultralytics, for `edge-perception export`. ultralytics (AGPL-3.0)
#           is a tool here, never a runtime dependency.
# Each is scripts/requirements-<name>.txt, a complete lock installed with --no-deps, then this
# repository in editable mode. Idempotent: a stamp in the venv records a hash of each step's
# inputs, so a re-run with nothing changed calls no pip. Needs python3.11 on x86_64 Linux.
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
    *) echo "usage: $0 tools|export [--clean]" >&2; exit 2 ;;
esac
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
ensure_venv

# --- 1. Python packages ----------------------------------------------------------------------
H_DEPS="$(hash_of "$SELF" "$REQ")"
if ! done_already deps "$H_DEPS"; then
    install_lock "${ACCEPT[@]}"       # what the lock replaces on purpose (ACCEPT above)
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

# --- check -----------------------------------------------------------------------------------
"$VENV/bin/python" -c "$CHECK" || die "the $NAME environment does not import: $CHECK"
log "ready in $((SECONDS - T0)) s: $VENV/bin/python"
