#!/usr/bin/env bash
# test.sh - README command 2: set up the environments (idempotent), then run the whole test
# suite with pytest:
#   1. the main suite in .venv (unit, real-model, real-ROS integration, colcon build, ament
#      linters); extra args go to this pytest (e.g. -k decoders, -x);
#   2. the main suite again in .venv-humble (scripts/setup_humble_env.sh: Python 3.10, numpy
#      1.21.5, OpenCV 4.5.4, as on Ubuntu 22.04 / Humble), same extra args; on a machine
#      without Python 3.10 it prints that it was not run and why, and does not fail;
#   3. the tools suite (test/tools: rknn-toolkit2's real build + simulator) in .venv-tools,
#      which scripts/setup_tools_env.sh creates (its numpy 1.26 cannot share .venv);
#   4. the export suite (test/export: ultralytics .pt -> ONNX layouts) in .venv-export, which
#      scripts/setup_export_env.sh creates (torch 2.14.1 + torchvision + ultralytics);
#   5. the RDK suite (test/rdk_tools: the D-Robotics toolchain's real checker, compiler, quantized
#      ONNX and hbdk-sim) in .venv-rdk (`scripts/setup_tool_env.sh rdk`, Python 3.10; without
#      Python 3.10 it prints that it was not run and why, and does not fail).
# All phases always run; the exit status is non-zero when any fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
unset EP_VENV EP_REQ EP_PYTHON_VERSION EP_TAG    # the main phase is .venv, whatever the caller set
bash "$ROOT/scripts/setup_env.sh"
status=0
(
    # shellcheck disable=SC1091
    . "$ROOT/scripts/env.sh"
    cd "$ROOT"
    exec python -m pytest -p no:cacheprovider -ra "$@"
) || status=$?

# The Humble phase: the main suite on Humble's Python/numpy/OpenCV (when Python 3.10 exists).
if why="$(bash "$ROOT/scripts/setup_humble_env.sh" --print-python 2>&1)"; then
    phase=0
    bash "$ROOT/scripts/setup_humble_env.sh" || phase=$?
    if [ "$phase" -eq 0 ]; then
        (
            # shellcheck disable=SC1091
            EP_VENV=.venv-humble . "$ROOT/scripts/env.sh"
            cd "$ROOT"
            exec python -m pytest -p no:cacheprovider -ra "$@"
        ) || phase=$?
    fi
    [ "$status" -ne 0 ] || status=$phase
else
    echo "[test] Humble phase (Python 3.10, numpy 1.21.5, OpenCV 4.5.4) NOT RUN: $why"
fi

# The toolchain phases: each environment, then its own test folder (test/tools, test/export,
# test/rdk_tools). rdk needs Python 3.10: without one the phase says so and does not fail.
for name in tools export rdk; do
    phase=0
    folder="test/$name"
    if [ "$name" = rdk ]; then
        folder=test/rdk_tools
        if ! why="$(bash "$ROOT/scripts/setup_tool_env.sh" rdk --print-python 2>&1)"; then
            echo "[test] rdk phase (D-Robotics toolchain, test/rdk_tools) NOT RUN: $why"
            continue
        fi
    fi
    bash "$ROOT/scripts/setup_tool_env.sh" "$name" || phase=$?
    if [ "$phase" -eq 0 ]; then
        (cd "$ROOT" && exec "$ROOT/.venv-$name/bin/python" -m pytest -p no:cacheprovider -ra \
            "$folder") || phase=$?
    fi
    [ "$status" -ne 0 ] || status=$phase
done
exit "$status"
