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
``config/params/<task>.yaml``: every parameter of each node, with the node's own default.

Each file is loaded by a real node through ``--params-file`` (rcl's own YAML parser); the
names it lists (set or commented) must be exactly the parameters the node declares, and every
value it sets must equal the default the node declares when started without the file.
"""

import os
import re

from edge_perception.ros.classifier_node import ClassifierNode
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.pose_node import PoseNode
from edge_perception.ros.segmenter_node import SegmenterNode
import pytest
from rclpy.parameter import Parameter
import yaml

from .helpers import REPO_ROOT
from .test_task_nodes import task_models  # noqa: F401  (a fixture)

PARAMS = os.path.join(REPO_ROOT, 'config', 'params')
COMMENTED = re.compile(r'^    # ([a-z_]+): (?:\[\]|[-\w./]+)(?:   # .*)?$', re.MULTILINE)
#: Declared by rclpy itself or per topic at activation, not the node's own.
NOT_OURS = re.compile(r'^(use_sim_time|start_type_description_service|qos_overrides\..*)$')


def declared(node):
    names = node.list_parameters([], 0).names
    return {n: node.get_parameter(n).value for n in names if not NOT_OURS.match(n)}


@pytest.mark.parametrize('task, cls', [('detect', DetectorNode), ('segment', SegmenterNode),
                                       ('pose', PoseNode), ('classify', ClassifierNode)])
def test_params_file_lists_every_parameter_with_its_default(nodes, namespace, tiny_model,
                                                            task_models, task, cls):  # noqa: F811
    path = os.path.join(PARAMS, f'{task}.yaml')
    text = open(path).read()
    values = yaml.safe_load(text)['/**']['ros__parameters']
    commented = set(COMMENTED.findall(text))
    assert not commented & set(values), 'a parameter is both set and commented'
    model = task_models.get(task, tiny_model)
    plain = nodes(cls, namespace=namespace + '/plain', parameter_overrides=[
        Parameter('model', value=str(model))])
    defaults = declared(plain)
    assert set(values) | commented == set(defaults)
    for name, value in values.items():
        assert value == defaults[name], name
    # rcl parses the file and the node takes it as given
    loaded = nodes(cls, namespace=namespace + '/file', parameter_overrides=[
        Parameter('model', value=str(model))],
        cli_args=['--ros-args', '--params-file', path])
    assert declared(loaded) == defaults
