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
Backend registry: names, the Python package each needs, and lazy construction.

Backend modules are imported only when chosen, so a PC without rknnlite or hobot_dnn (or a
board without onnxruntime) can still use the others.
"""

import importlib
import importlib.util
from typing import Dict, Tuple

from .base import Backend
from ..errors import BackendUnavailableError

# name -> (module:class, Python packages of which one must be importable, how to get one)
BACKENDS: Dict[str, Tuple[str, Tuple[str, ...], str]] = {
    'onnxruntime': ('edge_perception.backends.onnxruntime_backend:OnnxRuntimeBackend',
                    ('onnxruntime',), 'pip install onnxruntime'),
    'rknn': ('edge_perception.backends.rknn_backend:RknnLiteBackend', ('rknnlite',),
             'on the board, pip install the rknn_toolkit_lite2 wheel (aarch64, your Python) of '
             "the same version as the board's librknnrt.so (airockchip/rknn-toolkit2)"),
    'rknn_sim': ('edge_perception.backends.rknn_sim_backend:RknnSimulatorBackend', ('rknn',),
                 'x86 PC only: run scripts/setup_tools_env.sh (rknn-toolkit2 in .venv-tools)'),
    'rdk_sim': ('edge_perception.backends.rdk_sim_backend:RdkSimulatorBackend',
                ('horizon_tc_ui',),
                'x86 PC only: run scripts/setup_tool_env.sh rdk (the D-Robotics toolchain in '
                '.venv-rdk, Python 3.10)'),
    'rdk': ('edge_perception.backends.rdk_backend:RdkBpuBackend', ('hobot_dnn', 'hbm_runtime'),
            'use an RDK system image: hobot_dnn (pyeasy_dnn) ships with RDK X3/X5/Ultra images '
            'and TROS, hbm_runtime with the RDK S100 system software'),
}
# 'auto' prefers an NPU when the card has a file for it and its runtime is importable.
AUTO_ORDER = ('rknn', 'rdk', 'onnxruntime')


def runtime_available(name: str) -> bool:
    """Tell whether the Python package behind backend ``name`` can be imported here."""
    return name in BACKENDS and any(
        importlib.util.find_spec(package) is not None for package in BACKENDS[name][1])


def backend_class(name: str):
    """Return the Backend subclass for ``name``; BackendUnavailableError says the fix."""
    if name not in BACKENDS:
        raise BackendUnavailableError(f'unknown backend {name!r}; known: {", ".join(BACKENDS)}')
    target, packages, fix = BACKENDS[name]
    if not runtime_available(name):
        needs = ' or '.join(repr(p) for p in packages)
        raise BackendUnavailableError(f'backend {name} needs the Python package {needs}, '
                                      f'which is not installed here. Fix: {fix}')
    module, _, cls = target.partition(':')
    return getattr(importlib.import_module(module), cls)


def choose_backend(requested: str, files: Dict[str, str]) -> str:
    """Resolve 'auto' against the files a model card offers and the runtimes present."""
    if requested != 'auto':
        if requested not in files:
            raise BackendUnavailableError(
                f'backend {requested} requested but the model offers files only for '
                f'{", ".join(sorted(files))}')
        return requested
    for name in AUTO_ORDER:
        if name in files and runtime_available(name):
            return name
    missing = ', '.join(f'{n} (needs {" or ".join(BACKENDS[n][1])}: {BACKENDS[n][2]})'
                        if n in BACKENDS else n for n in files)
    raise BackendUnavailableError(f'no runtime for this model is installed; it offers {missing}')


__all__ = ['Backend', 'BACKENDS', 'backend_class', 'choose_backend', 'runtime_available']
