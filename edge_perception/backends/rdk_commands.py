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
Find and run the D-Robotics RDK toolchain's commands (``hb_mapper``, ``hb_extract_hbm``, ...).

Runtime side: the ``rdk_sim`` backend runs ``hb_extract_hbm`` and ``hbdk-sim`` through ``run``,
and the model toolchain (``edge_perception.tools.rdk_toolchain``) runs ``hb_mapper`` with it.
Every command runs in a folder of its own (hb_mapper writes its logs into the current folder),
with the folder of the command first on ``PATH`` (hb_mapper calls ``hbdk-config`` and
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
