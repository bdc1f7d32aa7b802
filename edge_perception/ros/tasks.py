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
Which node serves which model task: the one table the nodes, the container and launch read.

Plain Python (no rclpy), so boards.py and the launch files can use it too.
"""

from typing import Dict, NamedTuple

from ..errors import ConfigError


class TaskNode(NamedTuple):
    """The node serving one model task."""

    executable: str             # console script (setup.py entry point)
    name: str                   # default node name
    target: str                 # module:class of the node


_DETECTOR = TaskNode('detector_node', 'detector', 'edge_perception.ros.detector_node:DetectorNode')
_SEGMENTER = TaskNode('segmenter_node', 'segmenter',
                      'edge_perception.ros.segmenter_node:SegmenterNode')
_POSE = TaskNode('pose_node', 'pose', 'edge_perception.ros.pose_node:PoseNode')
_CLASSIFIER = TaskNode('classifier_node', 'classifier',
                       'edge_perception.ros.classifier_node:ClassifierNode')

#: Model task (model card ``task:``, ONNX metadata) -> the node that runs it.
TASK_NODES: Dict[str, TaskNode] = {
    'detect': _DETECTOR, 'obb': _DETECTOR,
    'segment': _SEGMENTER, 'semantic': _SEGMENTER,
    'pose': _POSE,
    'classify': _CLASSIFIER,
}
#: The tasks a user names (launch ``task:=``, container ``task:``): one per node.
USER_TASKS = ('detect', 'segment', 'pose', 'classify')


def tasks_of(executable: str):
    """Return the model tasks ``executable`` serves, in TASK_NODES order."""
    return tuple(task for task, node in TASK_NODES.items() if node.executable == executable)


def task_node(task: str) -> TaskNode:
    """Return the node serving ``task``; ConfigError names the known tasks."""
    if task not in TASK_NODES:
        raise ConfigError(f'task {task!r} is not one of {", ".join(TASK_NODES)}')
    return TASK_NODES[task]


def node_class(task: str):
    """Import and return the node class serving ``task`` (imports rclpy)."""
    import importlib
    module, name = task_node(task).target.split(':')
    return getattr(importlib.import_module(module), name)
