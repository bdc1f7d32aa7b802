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
The compiled decoder kernels (``_native``, built from ``_native.c`` at install), or None.

The per-stride DFL, ultralytics dense and YOLOv5 anchor decoders and NMS call ``KERNELS``
when it is there and run their numpy rules otherwise: a package installed without a C
compiler works, only slower.
``EDGE_PERCEPTION_NATIVE=0`` turns the kernels off (to compare the two, or to rule them out).
"""

import os
from types import ModuleType
from typing import Optional


# the _native.c this package's Python expects (KERNELS_VERSION there)
VERSION = 2


def _import():
    """Return (the module or None, why not)."""
    if os.environ.get('EDGE_PERCEPTION_NATIVE', '1').strip().lower() in ('0', 'false', 'no'):
        return None, 'turned off by EDGE_PERCEPTION_NATIVE'
    try:
        from . import _native
    except ImportError as exc:
        return None, f'edge_perception._native not built ({exc})'
    found = getattr(_native, 'VERSION', None)
    if found != VERSION:
        return None, (f'edge_perception._native is a stale build (version {found}, this '
                      f'package needs {VERSION}: {_native.__file__})')
    return _native, ''


def load() -> Optional[ModuleType]:
    """Import the compiled module unless the environment turns it off; None if absent."""
    return _import()[0]


def problem() -> str:
    """Why the kernels are not in use ('' when they are), for ``doctor``."""
    if KERNELS is not None:
        return ''
    return _import()[1]


KERNELS: Optional[ModuleType] = load()
