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
The ``pose`` node: person keypoints (e.g. YOLOv8-pose) on an image topic.

Publishes, each with the image's header:

* ``detections`` (vision_msgs/Detection2DArray): the person boxes, ``id`` = the track id
  (``tracker:=bytetrack``, the default), else the index;
* ``keypoints`` (vision_msgs/Detection2DArray): vision_msgs has no keypoint type, so one
  Detection2D per keypoint at or above ``keypoint_threshold``: ``bbox.center`` = the keypoint in
  source pixels (size 0), ``results[0]`` = keypoint name and confidence, ``id`` =
  ``<person id>/<keypoint name>`` (the person's Detection2D id in ``detections``);
* ``markers`` (visualization_msgs/MarkerArray): boxes and skeletons for rviz in metres
  (``depth_stage``): from the depth image with ``use_depth``, else on the camera rays at
  ``marker_distance`` from ``camera_info``, else none (said once);
* ``keypoints/image`` (bgr8, with ``publish_debug_image:=true``): boxes and skeletons drawn;
* ``label_info``, ``/diagnostics`` and, with ai_msgs installed, ``perception_targets``.

Run: ``ros2 run edge_perception pose_node --ros-args -p model:=<card or file>``.
"""

import sys

from vision_msgs.msg import Detection2DArray

from . import tros
from .messages import detections_to_msg, keypoints_to_msg
from .node_base import descriptor, main_for, PerceptionNode, T
from .outputs import Outputs
from ..drawing import annotate
from ..keypoints import SKELETON


class PoseOutputs(Outputs):
    """``detections`` and ``keypoints`` of one camera (``markers``: depth_stage)."""

    def __init__(self, node, prefix=''):
        super().__init__(node, prefix)
        self._det_pub = self.publisher(Detection2DArray, 'detections')
        self._kp_pub = self.publisher(Detection2DArray, 'keypoints')

    def publish(self, header, result):
        detections = result.output
        threshold = float(self.node.setting('keypoint_threshold'))
        self._det_pub.publish(detections_to_msg(detections, header, self.node.class_id_format))
        self._kp_pub.publish(keypoints_to_msg(detections, header, threshold))

    def draw(self, bgr, detections):
        return annotate(bgr, detections,
                        keypoint_threshold=float(self.node.setting('keypoint_threshold')))

    def targets(self, detections, width, height):
        return tros.detection_targets(detections, width, height)


class PoseNode(PerceptionNode):
    """Person detection with keypoints: boxes, keypoints and metric rviz skeleton markers."""

    NODE_NAME = 'pose'
    EXECUTABLE = 'pose_node'
    PURPOSE = 'pose estimation'
    DEBUG_TOPIC = 'keypoints/image'
    OUTPUTS = PoseOutputs
    TRACKING = True
    DEPTH = True
    MARKERS = True                  # markers in metres (depth_stage), with or without depth
    SKELETON = SKELETON

    def _task_parameters(self):
        return [('keypoint_threshold', 0.5, descriptor(
            T.PARAMETER_DOUBLE, 'Minimum keypoint confidence to publish a keypoint and draw '
            'its limbs.', float_range=(0.0, 1.0)))]


main = main_for(PoseNode)

if __name__ == '__main__':
    sys.exit(main())
