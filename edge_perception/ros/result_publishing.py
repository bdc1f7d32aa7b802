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
Frames out: each camera's result publishers, and one frame's results through them.

``ResultPublishing.emit`` runs in frame order, one frame at a time (on the pool's publisher
thread, or on the worker itself when the node is not overloaded: ``pool``): the result
stages (tracker, depth, plug-ins), the task's ``Outputs``, then, when on, the debug image,
and the TROS ``perception_targets`` (built only while a subscription is matched: ~0.4 ms of
interpreter time a frame that nobody would read). The debug image is the only consumer that
needs the whole frame in BGR: a YUV frame the model took as it came is converted for it
lazily, once per frame in the process (``SharedFrame`` keeps the BGR form), and only with
``publish_debug_image`` on. Everything else reads only the frame's size (``frame_size``).
"""

import time

from sensor_msgs.msg import Image

from . import tros
from .image_conversions import bgr_to_image
from .outputs import join
from .qos import DEBUG_QOS
from .stages import FrameResult
from ..preprocess import YuvFrame

__all__ = ['frame_size', 'ResultPublishing']


def frame_size(image):
    """Return (width, height) of a BGR array or a YUV frame (Nv12Frame, Yuv422Frame)."""
    if isinstance(image, YuvFrame):
        return image.width, image.height
    return image.shape[1], image.shape[0]


def debug_bgr(frame, image):
    """
    Return the BGR image to draw on: the model's own, or the YUV frame's (made once).

    A full-range NV12 frame (the model's card says so) is decoded in full range, as the model
    saw it; the message's shared BGR conversion is video range (OpenCV's, and ROS's nv12).
    """
    if not isinstance(image, YuvFrame):
        return image
    if getattr(image, 'yuv_range', None) == 'full':
        return image.to_bgr()
    return frame.image()


class ResultPublishing:
    """
    The result publishers of a node's cameras and the per-frame publishing into them.

    ``stages()``: the node's result stages in the order they run; ``debug_enabled``: publish
    the debug image (``publish_debug_image``, changeable while running).
    """

    def __init__(self, node, stats, stages):
        self._node = node
        self._stats = stats
        self._stages = stages
        self.debug_enabled = False

    def create(self, cameras, outputs_class):
        """Create each camera's ``Outputs`` (and ``perception_targets`` with ai_msgs)."""
        for camera in cameras:
            camera.outputs = outputs_class(self._node, camera.prefix)
            if tros.available():
                camera.targets_pub = self._node.create_publisher(
                    tros.PerceptionTargets, join(camera.prefix, 'perception_targets'), 10)

    def create_debug(self, cameras, topic: str):
        """Create the debug image publishers not created yet."""
        for camera in cameras:
            if camera.debug_pub is None:
                camera.debug_pub = self._node.create_publisher(
                    Image, join(camera.prefix, topic), DEBUG_QOS)

    def destroy(self, cameras):
        """Destroy every camera's result publishers (cleanup, a failed configure)."""
        for camera in cameras:
            if camera.outputs is not None:
                camera.outputs.destroy()
            for pub in (camera.debug_pub, camera.targets_pub):
                if pub is not None:
                    self._node.destroy_publisher(pub)
            camera.outputs = camera.debug_pub = camera.targets_pub = None

    def emit(self, item, result: FrameResult):
        """Run the stages and publish one frame's results (called in frame order)."""
        camera, frame, index = item
        header = frame.header
        t0 = time.perf_counter()
        camera.published += 1
        for stage in self._stages():
            stage.process(camera.prefix, index, header, result)
        outputs = camera.outputs
        outputs.publish(header, result)
        publish = time.perf_counter() - t0
        if camera.debug_pub is not None and self.debug_enabled:
            bgr = debug_bgr(frame, result.image)
            camera.debug_pub.publish(bgr_to_image(outputs.draw(bgr, result.output), header))
        self._stats.record(convert=result.convert, pre=result.times.pre,
                           infer=result.times.infer, decode=result.times.decode,
                           publish=publish)
        targets = camera.targets_pub
        if targets is not None and targets.get_subscription_count():    # built when listened to
            targets.publish(self._perception_targets(outputs, header, result))

    def _perception_targets(self, outputs, header, result: FrameResult):
        width, height = frame_size(result.image)
        node = self._node
        perfs = tros.node_perfs(node.get_name(), result, header,
                                node.get_clock().now().nanoseconds)
        return tros.perception_targets(header, outputs.targets(result.output, width, height),
                                       perfs, self._stats.recent_fps())
