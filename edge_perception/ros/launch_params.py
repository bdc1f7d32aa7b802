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
What the launch files pass to a node, as plain Python (the launch package is not needed).

Every launch file takes ``params_file`` (a ``config/params/<task>.yaml``-style file),
``use_sim_time`` and ``autostart``. The node's parameters are layered, later entries winning,
as launch_ros applies them: what the board implies, then the params file, then what was given
on the command line (``model:=``, ``use_debug_image:=``, ...).
"""

import os
from typing import Dict, List, Mapping, Union

from ..errors import ConfigError

#: (name, default, description) of the arguments every launch file declares.
COMMON_ARGUMENTS = (
    ('params_file', '', 'YAML parameters file (config/params/<task>.yaml lists every '
     'parameter); launch arguments given explicitly win over it'),
    ('use_sim_time', 'false', 'use the /clock topic (simulation, bag replay)'),
    ('autostart', 'true', 'configure and activate the node at start; false: it waits for '
     'ros2 lifecycle set <node> configure / activate'),
)


def as_bool(name: str, text: Union[str, bool]) -> bool:
    """Parse a launch argument's true/false; ConfigError otherwise."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value not in ('true', 'false'):
        raise ConfigError(f'{name} must be true or false, got {text!r}')
    return value == 'true'


def parameter_list(implied: Mapping[str, object], params_file: str,
                   explicit: Mapping[str, object]) -> List[Union[Dict[str, object], str]]:
    """
    Return the ``parameters=`` list of a launch_ros Node: implied, the file, explicit.

    ``implied``: defaults the launch derives (a board's backend and workers); ``params_file``:
    '' for none (else it must exist); ``explicit``: values the user gave (they win).
    """
    layers: List[Union[Dict[str, object], str]] = []
    implied = {k: v for k, v in implied.items() if k not in explicit}
    if implied:
        layers.append(implied)
    if params_file:
        path = os.path.expanduser(params_file)
        if not os.path.isfile(path):
            raise ConfigError(f'params_file {params_file}: no such file')
        layers.append(path)
    if explicit:
        layers.append(dict(explicit))
    return layers


def common_parameters(values: Mapping[str, str]) -> Dict[str, bool]:
    """Return the node parameters of the common arguments (use_sim_time, autostart)."""
    return {'use_sim_time': as_bool('use_sim_time', values.get('use_sim_time', 'false')),
            'autostart': as_bool('autostart', values.get('autostart', 'true'))}
