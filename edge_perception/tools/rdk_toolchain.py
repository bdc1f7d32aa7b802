# Copyright 2026 edge_perception contributors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""
The D-Robotics RDK toolchain's command-line tools, run as the vendor documents them.

The PyPI toolchain (``rdkx5-yolo-mapper`` 1.0.0 = hb_mapper 1.24.3, ``dgdk`` = hbdk 3.49.15,
``dg-nn-toolkit`` = horizon_nn 1.1.0; cp310 x86_64 wheels, in ``.venv-rdk`` built by
``scripts/setup_tool_env.sh rdk``) builds for the BPU marches in ``MARCHES``: ``hb_mapper
checker --march`` accepts exactly ``bernoulli2``, ``bayes`` and ``bayes-e``. The RDK S100
(``nash-e``, ``.hbm`` by ``hb_compile``) needs D-Robotics' OpenExplorer docker image.

Every tool runs in a folder of its own (hb_mapper writes its logs into the current folder),
with this interpreter's ``bin`` folder first on ``PATH`` (hb_mapper calls ``hbdk-config`` and
``hbdk-cc`` by name); its output goes to a log file there, and a failure raises a
ModelLoadError with the tool's ERROR lines and the log's path.
"""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from typing import List, Optional, Sequence, Tuple

from ..errors import BackendUnavailableError, ModelLoadError

# target -> BPU march the PyPI toolchain builds for (hb_mapper checker --march choices)
MARCHES = {'rdk_x3': 'bernoulli2', 'rdk_x5': 'bayes-e', 'rdk_ultra': 'bayes'}
TARGET_BY_MARCH = {march: target for target, march in MARCHES.items()}
OPTIMIZE_LEVELS = ('O0', 'O1', 'O2', 'O3')
MAX_OPSET = 11                  # hb_mapper's checker refuses newer opsets
INSTALL_FIX = ('build the rdk environment (scripts/setup_tool_env.sh rdk: the D-Robotics '
               'toolchain from PyPI, Python 3.10) and run .venv-rdk/bin/edge-perception')
_ANSI = re.compile(r'\x1b\[[0-9;]*m')


def tool_path(name: str) -> Optional[str]:
    """Return the path of toolchain command ``name``: beside this interpreter, else on PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    return shutil.which(name)


def available() -> bool:
    """Tell whether the toolchain (hb_mapper and its Python package) is installed here."""
    return tool_path('hb_mapper') is not None and \
        importlib.util.find_spec('horizon_tc_ui') is not None


def require() -> None:
    """Raise BackendUnavailableError, with the fix, when the toolchain is not installed."""
    if not available():
        raise BackendUnavailableError(
            'the D-Robotics RDK toolchain (hb_mapper, hbdk, horizon_nn) is not installed in '
            f'this environment ({sys.executable}). Fix: {INSTALL_FIX}')


def _error_lines(text: str, limit: int = 6) -> List[str]:
    lines = [_ANSI.sub('', line).strip() for line in text.splitlines()]
    errors = [line for line in lines if 'ERROR' in line or 'Error:' in line]
    return (errors or [line for line in lines if line][-limit:])[-limit:]


def run(tool: str, args: Sequence[str], cwd: str, log_name: Optional[str] = None,
        what: Optional[str] = None) -> Tuple[str, float]:
    """
    Run toolchain command ``tool`` with ``args`` in ``cwd``; return (its output, seconds).

    The output (stdout and stderr) is also written to ``cwd/<log_name>``. A non-zero exit
    status raises ModelLoadError naming the command, its ERROR lines and the log.
    """
    require()
    path = tool_path(tool)
    if path is None:
        raise BackendUnavailableError(f'toolchain command {tool} not found. Fix: {INSTALL_FIX}')
    os.makedirs(cwd, exist_ok=True)
    env = dict(os.environ)
    env['PATH'] = os.path.dirname(path) + os.pathsep + env.get('PATH', '')
    started = time.perf_counter()
    proc = subprocess.run([path] + [str(a) for a in args], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    seconds = time.perf_counter() - started
    log = os.path.join(cwd, log_name or f'{tool}.log')
    with open(log, 'w', encoding='utf-8') as f:
        f.write(proc.stdout)
    if proc.returncode != 0:
        lines = '; '.join(_error_lines(proc.stdout))
        raise ModelLoadError(f'{what or tool} failed (exit status {proc.returncode}): {lines} '
                             f'(full log: {log})')
    return proc.stdout, seconds


def check_model(model: str, march: str, cwd: str) -> float:
    """Run ``hb_mapper checker`` on an ONNX model for ``march``; return the seconds it took."""
    _, seconds = run('hb_mapper', ['checker', '--model-type', 'onnx', '--march', march,
                                   '--model', os.path.abspath(model)], cwd,
                     'hb_mapper_checker.log', f'hb_mapper checker --march {march}')
    return seconds


def makertbin(config: str, cwd: str) -> float:
    """Run ``hb_mapper makertbin`` with a YAML config; return the seconds it took."""
    _, seconds = run('hb_mapper', ['makertbin', '--config', os.path.abspath(config),
                                   '--model-type', 'onnx'], cwd, 'hb_mapper_makertbin.log',
                     'hb_mapper makertbin')
    return seconds


def onnx_opset(model: str) -> int:
    """Return the default-domain opset of an ONNX file (0 when it declares none)."""
    import onnx
    proto = onnx.load(model, load_external_data=False)
    return max((o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')),
               default=0)
