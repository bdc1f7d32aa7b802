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

tools=0
bash "$ROOT/scripts/setup_tools_env.sh" || tools=$?
if [ "$tools" -eq 0 ]; then
    (cd "$ROOT" && exec "$ROOT/.venv-tools/bin/python" -m pytest -p no:cacheprovider -ra test/tools) \
        || tools=$?
fi
[ "$status" -ne 0 ] || status=$tools

export_status=0
bash "$ROOT/scripts/setup_export_env.sh" || export_status=$?
if [ "$export_status" -eq 0 ]; then
    (cd "$ROOT" && exec "$ROOT/.venv-export/bin/python" -m pytest -p no:cacheprovider -ra test/export) \
        || export_status=$?
fi
[ "$status" -ne 0 ] || status=$export_status
exit "$status"
