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
The ``segmenter`` node: instance segmentation (and semantic segmentation) of an image topic.

Instance models (task ``segment``, e.g. YOLOv8-seg) publish:

* ``detections`` (vision_msgs/Detection2DArray), as the detector: boxes in source pixels,
  ``id`` = the track id (``tracker:=bytetrack``, the default), else the detection's index;
* ``masks`` (sensor_msgs/Image): the instance-id image at source resolution, mono8 (mono16
  when a frame has more than 255 instances); 0 = background, value = 1 + the position of the
  instance's Detection2D in that frame's ``detections`` (whose ``id`` is the track id); where
  masks overlap the more confident instance wins;
* ``masks/color`` (bgr8, with ``publish_debug_image:=true``): masks, boxes and labels drawn
  over the image.

Semantic models (task ``semantic``) publish ``mask`` (class id per pixel, mono8 for up to 256
classes, else mono16, source resolution) and ``mask/color`` (the class colours blended over the
image). Both publish ``label_info`` (id -> name; the ids of ``mask``), ``/diagnostics`` and,
with ai_msgs installed, ``perception_targets``. Every output carries the image's header.
Run: ``ros2 run edge_perception segmenter_node --ros-args -p model:=<card or file>``.
"""

import sys

import cv2
import numpy as np
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from . import tros
from .image_conversions import mono_to_image
from .messages import class_map_dtype, detections_to_msg, instance_id_image
from .node_base import main_for, PerceptionNode
from .outputs import Outputs
from .result_publishing import frame_size
from ..drawing import annotate, colorize


class InstanceOutputs(Outputs):
    """Instance models: ``detections`` and the instance-id image ``masks``."""

    DEBUG_TOPIC = 'masks/color'

    def __init__(self, node, prefix=''):
        super().__init__(node, prefix)
        self._det_pub = self.publisher(Detection2DArray, 'detections')
        self._mask_pub = self.publisher(Image, 'masks')

    def publish(self, header, result):
        output = result.output
        self._det_pub.publish(detections_to_msg(output, header, self.node.class_id_format))
        width, height = frame_size(result.image)      # the frame may still be YUV
        self._mask_pub.publish(mono_to_image(instance_id_image(output.masks, height, width),
                                             header))

    def draw(self, bgr, output):
        return annotate(bgr, output)

    def targets(self, output, width, height):
        return tros.detection_targets(output, width, height)


class SemanticOutputs(Outputs):
    """Semantic models: the class map ``mask`` (ids as in label_info)."""

    DEBUG_TOPIC = 'mask/color'

    def __init__(self, node, prefix=''):
        super().__init__(node, prefix)
        self._mask_pub = self.publisher(Image, 'mask')
        self._dtype = class_map_dtype(len(node.model.class_names))

    def publish(self, header, result):
        self._mask_pub.publish(mono_to_image(
            result.output.class_map.astype(self._dtype, copy=False), header))

    def draw(self, bgr, output):
        return cv2.addWeighted(np.ascontiguousarray(bgr), 0.5, colorize(output), 0.5, 0.0)

    def targets(self, output, width, height):
        return tros.semantic_targets(output.class_map)


class SegmenterNode(PerceptionNode):
    """Instance or semantic segmentation: Detection2DArray plus mask images."""

    NODE_NAME = 'segmenter'
    EXECUTABLE = 'segmenter_node'
    PURPOSE = 'segmentation'
    DEBUG_TOPIC = 'masks/color'
    DEBUG_TOPIC_TEXT = 'masks/color (mask/color for semantic models)'
    TRACKING = True
    DEPTH = True

    def outputs_class(self, task):
        return SemanticOutputs if task == 'semantic' else InstanceOutputs


main = main_for(SegmenterNode)

if __name__ == '__main__':
    sys.exit(main())
