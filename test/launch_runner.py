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
Run this package's launch files without the ROS ``launch`` package, then start their nodes.

``launch`` and ``launch_ros`` are not installable here (no wheel on PyPI), so ``evaluate``
imports a launch file with recording stand-ins of the few names it uses (LaunchDescription,
DeclareLaunchArgument, OpaqueFunction, LaunchConfiguration, LogInfo, Node, LifecycleNode,
get_package_share_directory): the file's own code runs unchanged, and every action it builds
is returned with its keyword arguments. ``ros_arguments`` then turns a node's arguments into
the command line launch_ros gives the process (each parameter dict written to a params file
``{<node or /**>: {ros__parameters: ...}}``, each file passed as ``--params-file`` in order,
remappings as ``-r``), so the real rcl applies the layering and remapping in the tests.
"""

import importlib.util
import os
import sys
import types

import yaml

from .helpers import REPO_ROOT


class Action:
    """One action a launch file built: its kind (class name) and keyword arguments."""

    def __init__(self, kind, *args, **kwargs):
        self.kind = kind
        self.args = args
        self.kwargs = kwargs

    def __repr__(self):
        return f'{self.kind}({self.kwargs!r})'


def _recording(kind):
    return lambda *args, **kwargs: Action(kind, *args, **kwargs)


class _LaunchConfiguration:
    """LaunchConfiguration(name).perform(context): the argument's value."""

    def __init__(self, name):
        self.name = name

    def perform(self, context):
        return context[self.name]


def _stand_ins(share):
    modules = {name: types.ModuleType(name) for name in (
        'launch', 'launch.actions', 'launch.substitutions', 'launch_ros',
        'launch_ros.actions', 'ament_index_python', 'ament_index_python.packages')}
    modules['launch'].LaunchDescription = lambda entities: list(entities)
    for kind in ('DeclareLaunchArgument', 'OpaqueFunction', 'LogInfo'):
        setattr(modules['launch.actions'], kind, _recording(kind))
    modules['launch.substitutions'].LaunchConfiguration = _LaunchConfiguration
    for kind in ('Node', 'LifecycleNode'):
        setattr(modules['launch_ros.actions'], kind, _recording(kind))

    def get_package_share_directory(package):
        assert package == 'edge_perception', package
        return share
    modules['ament_index_python.packages'].get_package_share_directory = \
        get_package_share_directory
    return modules


def evaluate(monkeypatch, name, share=REPO_ROOT, **arguments):
    """
    Run ``launch/<name>`` with ``arguments`` (as ``ros2 launch ... key:=value`` would).

    Return the actions its OpaqueFunction builds. An argument the file does not declare is an
    error (a typo in a test must not pass silently).
    """
    for module, stand_in in _stand_ins(share).items():
        monkeypatch.setitem(sys.modules, module, stand_in)
    spec = importlib.util.spec_from_file_location(
        f'launch_file_{name.replace(".", "_")}', os.path.join(REPO_ROOT, 'launch', name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    declared = {a.args[0]: a.kwargs['default_value']
                for a in description if a.kind == 'DeclareLaunchArgument'}
    unknown = set(arguments) - set(declared)
    assert not unknown, f'{name} declares no {sorted(unknown)}'
    context = dict(declared, **{k: str(v) for k, v in arguments.items()})
    actions = []
    for entity in description:
        if entity.kind == 'OpaqueFunction':
            actions += entity.kwargs['function'](context)
    return actions


def only(actions, kind):
    """Return the one action of ``kind``."""
    found = [a for a in actions if a.kind == kind]
    assert len(found) == 1, actions
    return found[0]


def ros_arguments(node, folder):
    """
    Return (name, namespace, cli_args) launch_ros starts a (Lifecycle)Node action's process with.

    ``folder``: where the parameter dicts are written as params files.
    """
    kwargs = node.kwargs
    namespace = kwargs.get('namespace') or ''
    name = kwargs['name']
    fully = f'/{namespace.strip("/")}/{name}' if namespace.strip('/') else f'/{name}'
    cli = ['--ros-args']
    os.makedirs(str(folder), exist_ok=True)
    for index, layer in enumerate(kwargs.get('parameters') or []):
        if isinstance(layer, dict):
            path = os.path.join(str(folder), f'launch_params_{index}.yaml')
            with open(path, 'w') as f:
                yaml.safe_dump({fully: {'ros__parameters': layer}}, f)
            layer = path
        cli += ['--params-file', layer]
    for source, target in kwargs.get('remappings') or []:
        cli += ['-r', f'{source}:={target}']
    return name, namespace or None, cli
