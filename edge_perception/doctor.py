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
``edge-perception doctor``: what this machine can run, each check with a verdict and a fix.

Board (device tree), NPU presence and versions, backend runtimes and their versions, the ROS
pieces the nodes need, and optionally a model (loaded the way the node would load it).
"""

from dataclasses import dataclass
import importlib.metadata
import importlib.util
import os
import platform
from typing import Callable, List, Optional

from . import boards
from .backends import BACKENDS, runtime_available
from .backends import rknn_version

OK, WARN, FAIL, INFO = 'ok', 'warn', 'fail', 'info'
# Python distributions that carry each runtime package (for the version shown).
DISTRIBUTIONS = {'onnxruntime': ('onnxruntime', 'onnxruntime-gpu'),
                 'rknnlite': ('rknn-toolkit-lite2', 'rknn_toolkit_lite2'),
                 'hobot_dnn': ('hobot-dnn', 'hobot_dnn'), 'hbm_runtime': ('hbm-runtime',)}
BPU_DEVICES = ('/dev/bpu', '/dev/bpu0', '/dev/bpu_core0')


@dataclass
class Check:
    """One line of the report."""

    level: str
    name: str
    message: str
    fix: str = ''

    def __str__(self) -> str:
        tag = {OK: ' ok ', WARN: 'warn', FAIL: 'FAIL', INFO: 'info'}[self.level]
        fix = f'\n       fix: {self.fix}' if self.fix else ''
        return f'[{tag}] {self.name}: {self.message}{fix}'


def _version(package: str) -> str:
    for dist in DISTRIBUTIONS.get(package, (package,)):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return 'version unknown'


def check_board(compatible: str = boards.COMPATIBLE) -> List[Check]:
    """Check the board and SoC from the device tree."""
    board, evidence = boards.detect_board(compatible)
    if board == 'pc':
        return [Check(INFO, 'board', f'no supported NPU board detected ({evidence}): '
                      'profile pc, ONNX Runtime on the CPU')]
    profile = boards.load_profile(board)
    return [Check(OK, 'board', f'{board}: {profile.description} ({evidence})')]


def check_npu(board: str, paths: rknn_version.SystemPaths = rknn_version.DEFAULT_PATHS,
              bpu_devices=BPU_DEVICES) -> List[Check]:
    """Check that an NPU is present, and its driver and runtime versions where readable."""
    if board == 'pc':
        return [Check(INFO, 'npu', 'no NPU present: the CPU default (onnxruntime) will be used')]
    if board.startswith('rk'):
        driver, where = rknn_version.read_driver_version(paths.driver_version)
        checks = [Check(OK, 'npu driver', f'RKNPU driver {driver} ({where})') if driver else
                  Check(WARN, 'npu driver', f'version not readable: {where}',
                        'run doctor as root (debugfs), or check `dmesg | grep -i rknpu`')]
        runtime, where = rknn_version.read_runtime_version(paths.runtime_library)
        checks.append(Check(OK, 'npu runtime', f'librknnrt {runtime} ({where})') if runtime
                      else Check(FAIL, 'npu runtime', where,
                                 'install librknnrt.so of the toolkit version your .rknn '
                                 'files were built with (airockchip/rknn-toolkit2 rknpu2/)'))
        return checks
    found = [d for d in bpu_devices if os.path.exists(d)]
    if found:
        return [Check(OK, 'bpu', f'device {found[0]} present')]
    return [Check(WARN, 'bpu', 'no BPU device node found (' + ', '.join(bpu_devices) + ')',
                  "use the board vendor's system image")]


def check_backends(board: str) -> List[Check]:
    """Check each backend's runtime: importable, and its version."""
    wanted = 'onnxruntime' if board == 'pc' else boards.load_profile(board).backend
    checks = []
    for name, (_, packages, fix) in BACKENDS.items():
        present = [p for p in packages if importlib.util.find_spec(p) is not None]
        if 'hbm_runtime' in present:
            # Installed is not enough: its __init__ raises RuntimeError without its libraries.
            from .backends.rdk_backend import HBM_FIX, hbm_runtime_problem
            problem = hbm_runtime_problem()
            if problem:
                present.remove('hbm_runtime')
                checks.append(Check(FAIL if name == wanted else WARN, f'backend {name}',
                                    problem.split(' Fix: ')[0], HBM_FIX))
        if present:
            checks.append(Check(OK, f'backend {name}',
                                f'{present[0]} {_version(present[0])} importable'))
        elif name == wanted:
            checks.append(Check(FAIL, f'backend {name}', f'{" or ".join(packages)} not '
                                'importable, and this board needs it', fix))
        else:
            checks.append(Check(INFO, f'backend {name}', f'{" or ".join(packages)} not '
                                'installed (not needed on this machine)'))
    if not runtime_available(wanted) and board != 'pc' and runtime_available('onnxruntime'):
        checks.append(Check(WARN, 'fallback', f'{wanted} runtime missing: only ONNX Runtime on '
                            'the CPU can run models here'))
    return checks


def check_kernels() -> List[Check]:
    """Check that the decoders' compiled kernels are built (else numpy decodes, slower)."""
    from . import native
    why = native.problem()
    if not why:
        return [Check(OK, 'decoder kernels', 'compiled (edge_perception._native)')]
    if 'EDGE_PERCEPTION_NATIVE' in why:
        return [Check(INFO, 'decoder kernels', f'{why}: numpy decoders')]
    return [Check(WARN, 'decoder kernels', f'{why}: numpy decoders, about 2x the decode time',
                  'install a C compiler and the Python headers (sudo apt install '
                  'build-essential python3-dev), then build again (colcon build)')]


def check_ros() -> List[Check]:
    """Check the ROS 2 pieces the nodes import."""
    checks = []
    for module, fix in (('rclpy', 'source your ROS 2 installation (setup.bash)'),
                        ('vision_msgs', 'sudo apt install ros-$ROS_DISTRO-vision-msgs'),
                        ('diagnostic_msgs', 'sudo apt install ros-$ROS_DISTRO-diagnostic-msgs'),
                        ('sensor_msgs', 'source your ROS 2 installation')):
        if importlib.util.find_spec(module) is None:
            checks.append(Check(FAIL, f'ros {module}', 'not importable', fix))
        else:
            checks.append(Check(OK, f'ros {module}', 'importable'))
    distro = os.environ.get('ROS_DISTRO')
    checks.append(Check(INFO, 'ros distro', distro or 'ROS_DISTRO not set'))
    return checks


def check_model(model: str, backend: str = 'auto') -> List[Check]:
    """Load a model as the node would; report its layout or why it cannot load."""
    from .errors import EdgePerceptionError
    from .model import load_model
    checks = []
    if str(model).lower().endswith('.rknn') and os.path.isfile(model):
        info = rknn_version.read_rknn_info(model)
        checks.append(Check(INFO, 'rknn file', f'built by rknn-toolkit2 '
                            f'{info.toolkit_version or "(unknown version)"} for '
                            f'{", ".join(info.target_platforms) or "(unknown target)"}'))
    try:
        with load_model(model, backend=backend) as loaded:
            checks.append(Check(OK, 'model', loaded.describe()))
            for finding in getattr(loaded.backend, 'findings', ()):
                checks.append(Check(WARN, 'model runtime', str(finding)))
            for note in getattr(loaded.backend, 'notes', ()):
                checks.append(Check(INFO, 'model runtime', note.what))
    except EdgePerceptionError as exc:
        checks.append(Check(FAIL, 'model', str(exc)))
    return checks


def run(model: Optional[str] = None, backend: str = 'auto',
        compatible: str = boards.COMPATIBLE,
        extra: Optional[List[Callable[[], List[Check]]]] = None) -> List[Check]:
    """Run every check, in report order."""
    board, _ = boards.detect_board(compatible)
    checks = [Check(INFO, 'system', f'{platform.machine()}, Python {platform.python_version()}, '
                    f'{platform.system()} {platform.release()}')]
    checks += check_board(compatible) + check_npu(board) + check_backends(board) + \
        check_kernels() + check_ros()
    for more in extra or ():
        checks += more()
    if model:
        checks += check_model(model, backend)
    return checks


def report(checks: List[Check]) -> str:
    """Format the checks with a closing verdict line."""
    failed = [c for c in checks if c.level == FAIL]
    verdict = ('verdict: ready' if not failed else
               f'verdict: {len(failed)} problem(s) to fix before the nodes can run')
    return '\n'.join(str(c) for c in checks) + '\n' + verdict
