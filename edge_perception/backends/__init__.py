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

# name -> (module:class, Python package it needs, how to get that package)
BACKENDS: Dict[str, Tuple[str, str, str]] = {
    'onnxruntime': ('edge_perception.backends.onnxruntime_backend:OnnxRuntimeBackend',
                    'onnxruntime', 'pip install onnxruntime'),
}
# 'auto' prefers an NPU when the card has a file for it and its runtime is importable.
AUTO_ORDER = ('rknn', 'rdk', 'onnxruntime')


def runtime_available(name: str) -> bool:
    """Tell whether the Python package behind backend ``name`` can be imported here."""
    return name in BACKENDS and importlib.util.find_spec(BACKENDS[name][1]) is not None


def backend_class(name: str):
    """Return the Backend subclass for ``name``; BackendUnavailableError says the fix."""
    if name not in BACKENDS:
        raise BackendUnavailableError(f'unknown backend {name!r}; known: {", ".join(BACKENDS)}')
    target, package, fix = BACKENDS[name]
    if importlib.util.find_spec(package) is None:
        raise BackendUnavailableError(f'backend {name} needs the Python package {package!r}, '
                                      f'which is not installed. Fix: {fix}')
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
    missing = ', '.join(f'{n} (needs {BACKENDS[n][1]}: {BACKENDS[n][2]})' if n in BACKENDS
                        else n for n in files)
    raise BackendUnavailableError(f'no runtime for this model is installed; it offers {missing}')


__all__ = ['Backend', 'BACKENDS', 'backend_class', 'choose_backend', 'runtime_available']
