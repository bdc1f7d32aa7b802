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
Stand-in of ``rknnlite.api.npu_config.cpu_npu_mapper`` (compiled in the wheel).

The data is the wheel's own ``rknnlite/config/cpu_npu_mapper.yml`` (SoC -> ``npu_model``,
``npu_inside``, ``npu_assemble``), read here with PyYAML; the function names are the ones the
compiled module exports (``get_support_target_soc``, ``get_npu_model_from_target``,
``get_cpus_with_npu``, ``get_all_targets_ordered_by_npu``, ``get_npu_inside_soc``,
``get_npu_assemble_soc``). SoCs with the same ``npu_model`` run each other's models.
"""

from collections import OrderedDict
import os

import rknnlite
import yaml


def _config() -> 'OrderedDict[str, dict]':
    path = os.path.join(os.path.dirname(os.path.abspath(rknnlite.__file__)), 'config',
                        'cpu_npu_mapper.yml')
    with open(path, encoding='utf-8') as f:
        return OrderedDict(yaml.safe_load(f)['SoCs'])


def get_support_target_soc():
    """Return every SoC the wheel knows (upper case, file order)."""
    return list(_config())


def get_npu_model_from_target(target):
    """Return the NPU model of a SoC ('RK3566' -> 'RKNPU2-LITE'), None when unknown."""
    entry = _config().get(str(target).upper())
    return entry['npu_model'] if entry else None


def get_target_npu_model(target):
    """Return the NPU model of a SoC (alias the runtime imports)."""
    return get_npu_model_from_target(target)


def get_cpus_with_npu(npu_model):
    """Return the SoCs that carry this NPU model."""
    return [soc for soc, entry in _config().items() if entry['npu_model'] == npu_model]


def get_all_targets_ordered_by_npu():
    """Return {npu_model: [SoC, ...]} in file order."""
    grouped = OrderedDict()
    for soc, entry in _config().items():
        grouped.setdefault(entry['npu_model'], []).append(soc)
    return grouped


def get_npu_inside_soc():
    """Return the SoCs whose NPU is on the chip."""
    return [soc for soc, entry in _config().items() if entry.get('npu_inside')]


def get_npu_assemble_soc():
    """Return the SoCs whose NPU is a separate part."""
    return [soc for soc, entry in _config().items() if entry.get('npu_assemble')]
