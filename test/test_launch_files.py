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
The launch files, run, and the nodes they describe, started over the real rclpy.

launch_runner runs each file's own code with launch's classes recorded; the nodes are started
with the command line launch_ros gives them.

The layering (board < params_file < explicit arguments) and the remappings are then applied
by rcl itself (params files in order, ``-r`` rules), not by this project's code: the tests read
the values back from the real node and the subscriptions from the ROS graph.
"""

import os

from edge_perception.errors import ConfigError
from edge_perception.ros.detector_node import DetectorNode
import pytest

from .helpers import wait_for
from .launch_runner import evaluate, only, ros_arguments

pytestmark = pytest.mark.ros


@pytest.fixture(autouse=True)
def launch_temp_files(tmp_path, monkeypatch):
    """Keep the params files the launch logic writes (as launch_ros does) in tmp_path."""
    import tempfile
    folder = tmp_path / 'launch_tmp'
    folder.mkdir()
    monkeypatch.setattr(tempfile, 'tempdir', str(folder))


def params_file(folder, text, name='my.yaml'):
    path = os.path.join(str(folder), name)
    with open(path, 'w') as f:
        f.write(text)
    return path


def overrides(nodes, node_action, folder):
    """Return the parameters rcl gives the node a launch action describes (no node class)."""
    from rclpy.node import Node
    name, namespace, cli = ros_arguments(node_action, folder)
    node = nodes(Node, name, namespace=namespace, cli_args=cli,
                 automatically_declare_parameters_from_overrides=True)
    return {name: p.value for name, p in node._parameters.items()}


def test_classify_on_a_board_takes_the_model_from_the_params_file(monkeypatch, tmp_path, nodes):
    # rk3588 has a default model for detect only: the params_file's model satisfies classify
    mine = params_file(tmp_path, '/**:\n  ros__parameters:\n    model: /models/cls.onnx\n')
    actions = evaluate(monkeypatch, 'perception.launch.py', board='rk3588', task='classify',
                       params_file=mine)
    node = only(actions, 'LifecycleNode')
    assert node.kwargs['executable'] == 'classifier_node' and node.kwargs['name'] == 'classifier'
    assert node.kwargs['parameters'][1] == mine
    assert 'model /models/cls.onnx' in only(actions, 'LogInfo').kwargs['msg']
    got = overrides(nodes, node, tmp_path / 'file')
    assert (got['model'], got['backend']) == ('/models/cls.onnx', 'rknn')
    # a namespaced entry for this very node counts too; one for another node does not
    ns = params_file(tmp_path, '/robot/classifier:\n  ros__parameters:\n    model: /m.onnx\n',
                     'ns.yaml')
    node = only(evaluate(monkeypatch, 'perception.launch.py', board='rk3588', task='classify',
                         namespace='robot', params_file=ns), 'LifecycleNode')
    assert overrides(nodes, node, tmp_path / 'ns')['model'] == '/m.onnx'
    other = params_file(tmp_path, '/pose:\n  ros__parameters:\n    model: /p.onnx\n', 'o.yaml')
    for extra in ({}, {'params_file': other}):
        with pytest.raises(ConfigError) as error:
            evaluate(monkeypatch, 'perception.launch.py', board='rk3588', task='classify',
                     **extra)
        assert 'no default classify model; pass model:=<card or file>, or a params_file:= ' \
            'that sets model' in str(error.value)
    # an explicit model:= also does, and wins over the file's
    node = only(evaluate(monkeypatch, 'perception.launch.py', board='rk3588', task='classify',
                         params_file=mine, model='/explicit.onnx'), 'LifecycleNode')
    assert overrides(nodes, node, tmp_path / 'explicit')['model'] == '/explicit.onnx'


def start(nodes, node_action, folder):
    """Start the node a launch action describes with the command line launch_ros gives it."""
    name, namespace, cli = ros_arguments(node_action, folder)
    assert node_action.kwargs['executable'] == 'detector_node'
    return nodes(DetectorNode, name, namespace=namespace, cli_args=cli)


def test_board_then_params_file_then_explicit_arguments_over_real_rcl(
        monkeypatch, tmp_path, nodes, namespace, tiny_model):
    mine = params_file(tmp_path, '/**:\n  ros__parameters:\n    tracker: none\n'
                       f'    use_depth: true\n    workers: 2\n    model: {tiny_model}\n')
    depth = f'{namespace}/cam/aligned_depth_to_color/image_raw'
    actions = evaluate(monkeypatch, 'perception.launch.py', board='rk3588', params_file=mine,
                       tracker='bytetrack', autostart='false', namespace=namespace,
                       image=f'{namespace}/cam/color/image_raw', depth=depth)
    node = start(nodes, only(actions, 'LifecycleNode'), tmp_path / 'a')
    value = {n: node.get_parameter(n).value for n in (
        'tracker', 'use_depth', 'workers', 'backend', 'cpu_affinity', 'model', 'autostart')}
    assert value == {'tracker': 'bytetrack',        # explicit over the file's none
                     'use_depth': True,             # the file's over the node's false
                     'workers': 2,                  # the file's over the board's 3
                     'backend': 'rknn', 'cpu_affinity': [4, 5, 6, 7],   # the board's
                     'model': tiny_model, 'autostart': False}
    assert f'model {tiny_model}' in only(actions, 'LogInfo').kwargs['msg']
    resolved = {topic: node.resolve_topic_name(topic)
                for topic in ('image', 'camera_info', 'depth', 'depth/camera_info')}
    assert resolved == {'image': f'{namespace}/cam/color/image_raw',
                        'camera_info': f'{namespace}/cam/color/camera_info',
                        'depth': depth,
                        'depth/camera_info': f'{namespace}/cam/aligned_depth_to_color/'
                                             'camera_info'}
    # explicit use_depth:=false beats the file's true; tracker '' leaves the file's none
    actions = evaluate(monkeypatch, 'perception.launch.py', board='rk3588', params_file=mine,
                       use_depth='false', autostart='false', namespace=f'{namespace}/b')
    node = start(nodes, only(actions, 'LifecycleNode'), tmp_path / 'b')
    assert node.get_parameter('use_depth').value is False
    assert node.get_parameter('tracker').value == 'none'
    assert node.resolve_topic_name('depth/camera_info') == f'{namespace}/b/depth/camera_info'


def test_detector_launch_subscribes_the_remapped_depth_topics(monkeypatch, tmp_path, nodes,
                                                              probe, namespace, tiny_model):
    actions = evaluate(monkeypatch, 'detector.launch.py', model=tiny_model, namespace=namespace,
                       image='cam/color/image_raw', use_depth='true', tracker='none',
                       depth='cam/depth/image_rect_raw',
                       depth_camera_info='cam/depth/info')
    node = start(nodes, only(actions, 'LifecycleNode'), tmp_path)   # autostart: configured
    assert node.get_parameter('tracker').value == 'none'
    for topic in ('cam/color/image_raw', 'cam/color/camera_info', 'cam/depth/image_rect_raw',
                  'cam/depth/info'):
        assert wait_for(lambda t=topic: probe.count_subscribers(f'{namespace}/{t}') == 1), topic


def test_bad_tracker_and_depth_arguments_are_refused_with_the_reason(monkeypatch):
    with pytest.raises(ConfigError, match="tracker must be one of none, bytetrack, got 'sort'"):
        evaluate(monkeypatch, 'detector.launch.py', tracker='sort')
    with pytest.raises(ConfigError, match="use_depth must be true or false, got 'yes'"):
        evaluate(monkeypatch, 'perception.launch.py', board='pc', use_depth='yes')
    with pytest.raises(ConfigError, match='tracker apply to the detect, segment, pose nodes; '
                                          'the classifier node has none'):
        evaluate(monkeypatch, 'perception.launch.py', board='pc', task='classify',
                 model='/m.onnx', tracker='none')
    # the classifier has no depth inputs: only the image is remapped
    node = only(evaluate(monkeypatch, 'perception.launch.py', board='pc', task='classify',
                         model='/m.onnx', image='/cam/image'), 'LifecycleNode')
    assert node.kwargs['remappings'] == [('image', '/cam/image'),
                                         ('image/compressed', '/cam/image/compressed')]


@pytest.mark.parametrize('task', ['detect', 'segment', 'pose', 'classify'])
def test_perception_launch_starts_the_tasks_node(monkeypatch, task):
    from edge_perception.ros import tasks
    node = only(evaluate(monkeypatch, 'perception.launch.py', board='pc', task=task,
                         model='/m.onnx', camera='usb_cam'), 'LifecycleNode')
    expected = tasks.TASK_NODES[task]
    assert (node.kwargs['executable'], node.kwargs['name']) == (expected.executable,
                                                                expected.name)
    assert node.kwargs['package'] == 'edge_perception'
    assert ('image', 'camera/image_raw') in node.kwargs['remappings']
    has_info = ('camera_info', 'camera/camera_info') in node.kwargs['remappings']
    assert has_info == (task != 'classify')     # camera_info next to the camera's image
