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
Stand-in of ``rknnlite.api.rknn_platform_utils`` (compiled in the wheel).

``get_host_os_platform()`` (``'Linux_aarch64'`` on a board; ``rknn_lite.py`` only compares it
with ``'Windows_x64'``), ``get_librknn_api_require_dll_dir()`` (Windows only) and
``list_support_target_platform(rknn_model=None)``, which prints and returns the targets filled
in a model and the SoCs sharing their NPU (the wheel's ``cpu_npu_mapper.yml``), or every
target ordered by NPU model.
"""

from collections import OrderedDict
import platform

from rknn_standin import model_file
from rknnlite.api.npu_config import cpu_npu_mapper
from rknnlite.api.rknn_log import RKNNLog


def get_host_os_platform():
    """Return '<system>_<arch>' ('Linux_aarch64', 'Linux_x64', 'Windows_x64')."""
    machine = platform.machine().lower()
    arch = {'x86_64': 'x64', 'amd64': 'x64'}.get(machine, machine)
    return f'{platform.system()}_{arch}'


def get_librknn_api_require_dll_dir():
    """Return the DLL directory (used on Windows only)."""
    return ''


def list_support_target_platform(rknn_model=None):
    """Print and return the target platforms of a model (or all, by NPU model)."""
    if rknn_model is None:
        grouped = cpu_npu_mapper.get_all_targets_ordered_by_npu()
        RKNNLog.p('All RKNN Toolkit supported target platforms:')
        for npu, socs in grouped.items():
            RKNNLog.p(f'chip family {npu}: {socs}')
        return OrderedDict(support_target_platform=[s for socs in grouped.values()
                                                    for s in socs])
    with open(rknn_model, 'rb') as f:
        meta = model_file.parse(f.read())
    filled = [str(p).upper() for p in meta.get('target_platform') or ()]
    supported = []
    for target in filled:
        for soc in cpu_npu_mapper.get_cpus_with_npu(
                cpu_npu_mapper.get_npu_model_from_target(target)):
            if soc not in supported:
                supported.append(soc)
    RKNNLog.p(f'Target platforms filled in RKNN model:         {filled}')
    RKNNLog.p(f'Target platforms supported by this RKNN model: {supported}')
    return OrderedDict(filled_target_platform=filled, support_target_platform=supported)
