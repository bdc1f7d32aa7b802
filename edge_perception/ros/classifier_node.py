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
The ``classifier`` node: whole-image classification (e.g. YOLOv8-cls) of an image topic.

Publishes, each with the image's header:

* ``classification`` (vision_msgs/Classification): the ``top_k`` most probable classes at or
  above ``confidence_threshold``, best first; ``class_id`` = the class index (as in
  ``label_info``; the name with ``class_id_format:=name``), ``score`` = its probability;
* ``classification/image`` (bgr8, with ``publish_debug_image:=true``): the top classes written
  on the image;
* ``label_info``, ``/diagnostics`` and, with ai_msgs installed, ``perception_targets``.

Run: ``ros2 run edge_perception classifier_node --ros-args -p model:=<card or file>``.
"""

import sys

from vision_msgs.msg import Classification

from . import tros
from .messages import class_labels, classification_msg
from .node_base import descriptor, main_for, PerceptionNode, T
from .outputs import Outputs
from ..drawing import annotate_classes
from ..results import Classifications


def top(classifications, options) -> Classifications:
    """Return the classes to publish: top_k at or above the confidence threshold."""
    keep = [i for i, score in enumerate(classifications.confidence.tolist())
            if score >= options.confidence_threshold][:options.top_k]
    return Classifications(classifications.class_id[keep],
                           classifications.confidence[keep], classifications.class_names)


class ClassificationOutputs(Outputs):
    """``classification`` (vision_msgs/Classification) of one camera."""

    def __init__(self, node, prefix=''):
        super().__init__(node, prefix)
        self._pub = self.publisher(Classification, 'classification')

    def _top(self, classifications):
        return top(classifications, self.node.model.options)

    def publish(self, header, result):
        best = self._top(result.output)
        labels = class_labels(best.class_id, best.names, self.node.class_id_format)
        self._pub.publish(classification_msg(labels, best.confidence.tolist(), header))

    def draw(self, bgr, classifications):
        return annotate_classes(bgr, self._top(classifications))

    def targets(self, classifications, width, height):
        best = self._top(classifications)
        return tros.classification_targets(best.names, best.confidence.tolist(), width, height)


class ClassifierNode(PerceptionNode):
    """Image classification: the top-k classes as vision_msgs/Classification."""

    NODE_NAME = 'classifier'
    EXECUTABLE = 'classifier_node'
    PURPOSE = 'classification'
    DEBUG_TOPIC = 'classification/image'
    OUTPUTS = ClassificationOutputs

    def _decode_parameters(self, options):
        return [
            ('confidence_threshold', 0.0, descriptor(
                T.PARAMETER_DOUBLE, 'Minimum probability of a published class.',
                float_range=(0.0, 1.0))),
            ('top_k', int(getattr(options, 'top_k', 5)), descriptor(
                T.PARAMETER_INTEGER, 'Most classes published per image, best first.',
                int_range=(1, 1000))),
        ]

    def top(self, classifications) -> Classifications:
        """Return the classes to publish: top_k at or above the confidence threshold."""
        return top(classifications, self.model.options)


main = main_for(ClassifierNode)

if __name__ == '__main__':
    sys.exit(main())
