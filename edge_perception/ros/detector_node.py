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
The ``detector`` node: camera images in, vision_msgs/Detection2DArray out.

Topics (relative names, so namespaces and remapping apply):

* subscribes ``image`` (sensor_msgs/Image) or, with ``image_transport:=compressed``,
  ``image/compressed`` (sensor_msgs/CompressedImage); QoS from ``image_qos``;
* publishes ``detections`` (vision_msgs/Detection2DArray, the image's header, boxes in image
  pixels), ``label_info`` (vision_msgs/LabelInfo, transient local: late joiners get it),
  ``detections/image`` (annotated bgr8, with ``publish_debug_image:=true``),
  ``perception_targets`` (ai_msgs/PerceptionTargets, when ai_msgs is installed) and
  ``/diagnostics`` (1 Hz: frame counters, fps, per-stage latency).

The subscription callback only hands the message to a pool of ``workers`` inference threads
(one model context each: one per NPU core on RKNN boards), which convert and run the model;
results are published in frame order. Frames arriving while every worker is busy replace the
one waiting (newest wins) and are counted as dropped. The shared machinery (lifecycle,
parameters, pool, diagnostics) is ``node_base.PerceptionNode``; this file holds the outputs.
Run: ``ros2 run edge_perception detector_node --ros-args -p model:=<card or file>``.
"""

import sys

from vision_msgs.msg import Detection2DArray

from . import tros
from .messages import detections_to_msg
from .node_base import (default_model, main_for, per_worker_core_masks, PerceptionNode,
                        resolve_classes, StartupError)
from .outputs import Outputs
from ..drawing import annotate

__all__ = ['DetectionOutputs', 'DetectorNode', 'StartupError', 'default_model', 'main',
           'per_worker_core_masks', 'resolve_classes']


class DetectionOutputs(Outputs):
    """``detections`` (Detection2DArray) of one camera."""

    def __init__(self, node, prefix=''):
        super().__init__(node, prefix)
        self._pub = self.publisher(Detection2DArray, 'detections')

    def publish(self, header, result):
        self._pub.publish(detections_to_msg(result.output, header, self.node.class_id_format))

    def draw(self, bgr, detections):
        return annotate(bgr, detections)

    def targets(self, detections, width, height):
        return tros.detection_targets(detections, width, height)


class DetectorNode(PerceptionNode):
    """Object detection on an image topic with any model ``load_model`` accepts."""

    NODE_NAME = 'detector'
    EXECUTABLE = 'detector_node'
    PURPOSE = 'object detection'
    DEBUG_TOPIC = 'detections/image'
    OUTPUTS = DetectionOutputs
    TRACKING = True
    DEPTH = True


main = main_for(DetectorNode)

if __name__ == '__main__':
    sys.exit(main())
