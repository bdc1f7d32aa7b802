#!/usr/bin/env bash
# test.sh - README command 2: set up the environment (idempotent), then run the whole test
# suite (unit, real-model, real-ROS integration, colcon build, ament linters) with pytest.
# Extra args go to pytest (e.g. -k decoders, -x).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/setup_env.sh"
# shellcheck disable=SC1091
. "$ROOT/scripts/env.sh"
cd "$ROOT"
exec python -m pytest -p no:cacheprovider -ra "$@"
