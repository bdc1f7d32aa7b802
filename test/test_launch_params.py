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
"""Launch-file logic without the launch package: parameter layering, arguments, tasks."""

import ast
import os

from edge_perception import boards
from edge_perception.errors import ConfigError
from edge_perception.ros import launch_params, tasks
import pytest

from .helpers import REPO_ROOT

LAUNCH = os.path.join(REPO_ROOT, 'launch')


def test_layers_are_implied_then_file_then_explicit(tmp_path):
    params = tmp_path / 'p.yaml'
    params.write_text('/**:\n  ros__parameters:\n    workers: 2\n')
    layers = launch_params.parameter_list(
        {'model': '/board.yaml', 'workers': 3, 'backend': 'rknn'}, str(params),
        {'model': '/mine.yaml', 'autostart': False})
    # the explicit model replaces the board's; the file sits between (launch_ros: later wins)
    assert layers == [{'workers': 3, 'backend': 'rknn'}, str(params),
                      {'model': '/mine.yaml', 'autostart': False}]
    assert launch_params.parameter_list({'a': 1}, '', {}) == [{'a': 1}]


def test_a_missing_params_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match='params_file .*nope.yaml: no such file'):
        launch_params.parameter_list({}, str(tmp_path / 'nope.yaml'), {})


def test_common_arguments_become_typed_parameters():
    assert launch_params.common_parameters({'use_sim_time': 'True', 'autostart': 'false'}) == \
        {'use_sim_time': True, 'autostart': False}
    assert launch_params.common_parameters({}) == {'use_sim_time': False, 'autostart': True}
    with pytest.raises(ConfigError, match="use_sim_time must be true or false, got 'yes'"):
        launch_params.common_parameters({'use_sim_time': 'yes'})


@pytest.mark.parametrize('name', ['detector.launch.py', 'perception.launch.py'])
def test_launch_files_declare_the_common_arguments_and_a_managed_node(name):
    source = open(os.path.join(LAUNCH, name)).read()
    tree = ast.parse(source)
    assert 'launch_params.COMMON_ARGUMENTS' in source
    assert 'launch_params.parameter_list(' in source
    calls = {n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert 'LifecycleNode' in calls
    names = [a for a, _, _ in launch_params.COMMON_ARGUMENTS]
    assert names == ['params_file', 'use_sim_time', 'autostart']


def test_one_task_table():
    """boards, the container and the nodes agree on which executable serves which task."""
    for task in tasks.USER_TASKS:
        assert boards.TASK_EXECUTABLES[task] == tasks.TASK_NODES[task].executable
    assert set(boards.TASK_EXECUTABLES) == set(tasks.USER_TASKS)
    setup = open(os.path.join(REPO_ROOT, 'setup.py')).read()
    for node in set(tasks.TASK_NODES.values()):
        module, cls = node.target.split(':')
        assert f"'{node.executable} = {module}:main'" in setup
        assert tasks.node_class(next(t for t, n in tasks.TASK_NODES.items() if n == node)) \
            .__name__ == cls
        assert tasks.node_class(next(t for t, n in tasks.TASK_NODES.items()
                                     if n == node)).NODE_NAME == node.name
