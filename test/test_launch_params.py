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
import glob
import os
import re

from edge_perception import boards
from edge_perception.errors import ConfigError
from edge_perception.ros import launch_params, tasks
import pytest
import yaml

from .helpers import REPO_ROOT

LAUNCH = os.path.join(REPO_ROOT, 'launch')


def test_layers_are_implied_then_file_then_explicit(tmp_path):
    params = tmp_path / 'p.yaml'
    params.write_text('/**:\n  ros__parameters:\n    workers: 2\n')
    layers = launch_params.parameter_list(
        {'model': '/board.yaml', 'workers': 3, 'backend': 'rknn'}, str(params),
        {'model': '/mine.yaml', 'autostart': False}, '/detector')
    # the explicit model replaces the board's; the file sits between (launch_ros: later wins)
    assert layers[:2] == [{'workers': 3, 'backend': 'rknn'}, str(params)]
    # with a file, the explicit values are a file of their own, under every key naming the
    # node (rclpy applies node entries in first-appearance order, not file order)
    explicit = yaml.safe_load(open(layers[2]))
    assert explicit == {key: {'ros__parameters': {'model': '/mine.yaml', 'autostart': False}}
                        for key in ('/**', '/detector')}
    os.unlink(layers[2])
    assert launch_params.parameter_list({'a': 1}, '', {}) == [{'a': 1}]
    assert launch_params.parameter_list({'a': 1}, '', {'a': 2}) == [{'a': 2}]


def test_params_file_keys_match_as_rclpy_matches_them(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text('/**:\n  ros__parameters: {a: 1, b: 1}\n'
                    '/robot/*:\n  ros__parameters: {b: 2}\n'
                    'robot:\n  pose:\n    ros__parameters: {c: 3}\n'
                    '/other/detector:\n  ros__parameters: {a: 9}\n')
    assert launch_params.file_parameters(str(path), '/robot/detector') == {'a': 1, 'b': 2}
    assert launch_params.file_parameters(str(path), '/robot/pose') == {'a': 1, 'b': 2, 'c': 3}
    assert launch_params.file_parameters(str(path), '/detector') == {'a': 1, 'b': 1}
    assert launch_params.file_parameters('', '/detector') == {}


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
def test_launch_files_declare_the_common_and_node_arguments_and_a_managed_node(name):
    source = open(os.path.join(LAUNCH, name)).read()
    tree = ast.parse(source)
    assert 'launch_params.NODE_ARGUMENTS + launch_params.COMMON_ARGUMENTS' in source
    calls = {n.func.id for n in ast.walk(tree)
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert 'LifecycleNode' in calls
    names = [a for a, _, _ in launch_params.COMMON_ARGUMENTS]
    assert names == ['params_file', 'use_sim_time', 'autostart']
    names = [a for a, _, _ in launch_params.NODE_ARGUMENTS]
    assert names == ['tracker', 'use_depth', 'camera_info', 'depth', 'depth_camera_info']


def test_one_task_table():
    """The nodes, setup.py's executables, boards and the launch files agree on tasks.py."""
    setup = open(os.path.join(REPO_ROOT, 'setup.py')).read()
    scripts = set(re.findall(r"'(\w+_node) = edge_perception\.ros\.(\w+):main'", setup))
    table = {(node.executable, node.target.split(':')[0].rsplit('.', 1)[1])
             for node in tasks.TASK_NODES.values()}
    assert scripts == table                  # every *_node entry point is a table entry
    assert set(tasks.USER_TASKS) <= set(tasks.TASK_NODES)
    assert {tasks.TASK_NODES[t] for t in tasks.USER_TASKS} == set(tasks.TASK_NODES.values())
    for task, node in tasks.TASK_NODES.items():
        cls = tasks.node_class(task)
        assert (cls.__name__, cls.NODE_NAME, cls.EXECUTABLE) == \
            (node.target.split(':')[1], node.name, node.executable)
        assert task in tasks.tasks_of(node.executable)
    tracking = {t for t in tasks.USER_TASKS if tasks.node_class(t).TRACKING}
    assert tracking == {t for t in tasks.USER_TASKS if tasks.node_class(t).DEPTH}
    assert tracking == set(launch_params.TRACKING_TASKS)
    assert not hasattr(boards, 'TASK_EXECUTABLES')


def test_no_second_task_table():
    """No module but tasks.py names an executable (a node module only its own EXECUTABLE)."""
    executables = {node.executable for node in tasks.TASK_NODES.values()}
    files = glob.glob(os.path.join(REPO_ROOT, 'edge_perception', '**', '*.py'), recursive=True)
    files += glob.glob(os.path.join(LAUNCH, '*.py'))
    found = []
    for path in files:
        relative = os.path.relpath(path, REPO_ROOT)
        if relative == os.path.join('edge_perception', 'ros', 'tasks.py'):
            continue
        tree = ast.parse(open(path).read())
        own = {n.value.value for n in ast.walk(tree) if isinstance(n, ast.Assign)
               and [getattr(t, 'id', '') for t in n.targets] == ['EXECUTABLE']
               and isinstance(n.value, ast.Constant)} - {''}
        assert own <= {os.path.basename(path)[:-3]}, (relative, own)
        for n in ast.walk(tree):
            if isinstance(n, ast.Constant) and n.value in executables - own:
                found.append(f'{relative}:{n.lineno}: {n.value!r}')
    assert not found, 'task -> executable outside edge_perception/ros/tasks.py: ' + \
        ', '.join(found)
