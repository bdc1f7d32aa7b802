#!/usr/bin/env bash
# test.sh - README command 2: set up the environments (idempotent), then run the whole test
# suite with pytest:
#   1. the main suite in .venv (unit, real-model, real-ROS integration, colcon build, ament
#      linters); extra args go to this pytest (e.g. -k decoders, -x);
#   2. the tools suite (test/tools: rknn-toolkit2's real build + simulator) in .venv-tools,
#      which scripts/setup_tools_env.sh creates (its numpy 1.26 cannot share .venv);
#   3. the export suite (test/export: ultralytics .pt -> ONNX layouts) in .venv-export, which
#      scripts/setup_export_env.sh creates (torch 2.14.1 + torchvision + ultralytics).
# All three always run; the exit status is non-zero when any fails.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
status=0
(
    # shellcheck disable=SC1091
    . "$ROOT/scripts/env.sh"
    cd "$ROOT"
    exec python -m pytest -p no:cacheprovider -ra "$@"
) || status=$?

# The toolchain phases: each environment, then its own test folder (test/tools, test/export).
for name in tools export; do
    phase=0
    bash "$ROOT/scripts/setup_tool_env.sh" "$name" || phase=$?
    if [ "$phase" -eq 0 ]; then
        (cd "$ROOT" && exec "$ROOT/.venv-$name/bin/python" -m pytest -p no:cacheprovider -ra \
            "test/$name") || phase=$?
    fi
    [ "$status" -ne 0 ] || status=$phase
done
exit "$status"
