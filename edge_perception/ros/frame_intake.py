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
Frames in: the node's cameras, their subscriptions, counting, and conversion on a worker.

A ``Camera`` is one image input (``image``, or each of ``image_topics``) with the publishers
of its results. ``FrameIntake`` subscribes each camera (or attaches to a container's shared
subscription), counts every frame received (its index is the stages' ``frame_index``: a frame
never inferred is a gap for the tracker, not a reset) and hands it to the worker pool;
``infer`` converts it on the worker thread and runs the worker's model.

YUV frames stay YUV: nv12, yuyv and uyvy images reach ``preprocess`` as ``Nv12Frame`` /
``Yuv422Frame`` views of the message (``keep_yuv``), which converts only what the network
input needs, with the same numbers as converting the whole frame first. Whoever needs the
whole frame in BGR (the debug image) asks the ``SharedFrame`` for it, once, when it is on.
"""

import time

from sensor_msgs.msg import CompressedImage, Image

from .frames import SharedFrame
from .image_conversions import HINTS
from .parameters import check_array_type, check_choice, IMAGE_QOS, TRANSPORTS
from .qos import image_qos, image_qos_overrides, SubscriptionEventCallbacks
from .stages import FrameResult
from ..yuv_frames import Nv12Frame

__all__ = ['Camera', 'camera_prefix', 'cameras_for', 'FrameIntake']

HINT_THROTTLE = 60.0            # seconds between repeats of an encoding hint (HINTS)


def camera_prefix(topic: str) -> str:
    """Return the output prefix of a camera topic: the topic without its last part."""
    parts = topic.rstrip('/').rsplit('/', 1)
    prefix = parts[0] if len(parts) == 2 else topic
    return prefix or '/'


class Camera:
    """One image input of the node and the publishers of its results."""

    def __init__(self, index: int, topic: str, prefix: str):
        self.index = index
        self.topic = topic              # as given ('image' when there is one camera)
        self.prefix = prefix            # '' for the single camera: outputs at the node's names
        self.resolved = ''
        self.subscription = None
        self.outputs = None
        self.debug_pub = None
        self.targets_pub = None
        self.published = 0              # frames given to the stages since activation
        self.received = 0               # frames received since activation (stage frame_index)


def cameras_for(topics):
    """Return the cameras of ``image_topics`` (empty: the one ``image`` topic)."""
    if not topics:
        return [Camera(0, 'image', '')]
    cameras = [Camera(i, t, camera_prefix(t)) for i, t in enumerate(topics)]
    prefixes = [c.prefix for c in cameras]
    if len(set(prefixes)) != len(prefixes):
        raise ValueError(f'image_topics {list(topics)!r} give the same output namespace twice '
                         f'({prefixes!r}): each camera needs a namespace of its own')
    return cameras


class FrameIntake:
    """
    The cameras of one node and the way their frames go to the worker pool.

    ``pool``: the running WorkerPool (None while inactive); ``active``/``enabled``: frames are
    taken only while both are true (``enabled`` false: counted as paused, not inferred).
    """

    def __init__(self, node, stats):
        self._node = node
        self._stats = stats
        self.cameras = []
        self.compressed = False
        self.image_qos = 'sensor_data'
        self.keep_nv12 = False          # nv12 frames for an NV12 model: as they are
        self.keep_yuv = True            # YUV frames for any model: preprocess converts
        self.pool = None
        self.active = False
        self.enabled = True

    def configure(self, param):
        """Read the input parameters: image_transport, image_qos, image_topics (cameras)."""
        transport = check_choice('image_transport', param('image_transport'), TRANSPORTS)
        self.image_qos = check_choice('image_qos', param('image_qos'), IMAGE_QOS)
        topics = check_array_type('image_topics', param('image_topics'))
        if len(set(topics)) != len(topics):
            raise ValueError(f'image_topics lists a topic twice: {topics!r}')
        self.compressed = transport == 'compressed'
        self.cameras = cameras_for(topics)

    def topics(self) -> str:
        """Return the cameras' topics, resolved once subscribed, for log lines."""
        return ', '.join(c.resolved or c.topic for c in self.cameras)

    def subscribe(self, frame_source, on_qos):
        """Subscribe every camera (``frame_source``: a container's FrameHub, else our own)."""
        node = self._node
        for camera in self.cameras:
            topic = camera.topic
            if self.compressed:
                # the transport's topic follows the resolved, remapped base topic, as
                # image_pipeline nodes subscribe: -r image:=/cam/image_raw gives
                # /cam/image_raw/compressed
                topic = node.resolve_topic_name(topic) + '/compressed'
            if frame_source is None:
                camera.subscription = node.create_subscription(
                    CompressedImage if self.compressed else Image, topic,
                    lambda msg, c=camera: self.accept(c, SharedFrame(msg, self.compressed)),
                    image_qos(self.image_qos),
                    event_callbacks=SubscriptionEventCallbacks(
                        incompatible_qos=lambda event, c=camera: on_qos(c, event)),
                    qos_overriding_options=image_qos_overrides())
                camera.resolved = camera.subscription.topic_name
            else:
                camera.resolved = node.resolve_topic_name(topic)
                frame_source.attach(
                    node, camera.resolved, self.compressed, self.image_qos,
                    deliver=lambda frame, c=camera: self.accept(c, frame),
                    on_qos=lambda event, c=camera: on_qos(c, event))

    def unsubscribe(self, frame_source):
        """Stop taking frames from every camera."""
        if frame_source is not None:
            frame_source.detach(self._node)
        for camera in self.cameras:
            if camera.subscription is not None:
                self._node.destroy_subscription(camera.subscription)
                camera.subscription = None

    def stop(self, frame_source, publish_ready: bool, logger):
        """Stop intake and the pool (frames in progress finish); return its counts or None."""
        self.active = False
        self.unsubscribe(frame_source)
        pool, self.pool = self.pool, None
        if pool is None:
            return None
        if not pool.stop(publish_ready=publish_ready):
            logger.warning('an inference was still running at shutdown: its context is freed '
                           'when it returns')
        return pool.counts()

    def accept(self, camera: Camera, frame: SharedFrame):
        """Count one received frame and give it to the pool (converted on a worker)."""
        pool = self.pool
        if pool is None or not self.active:
            return
        # every frame received counts in the stages' frame_index (a frame never inferred:
        # paused, dropped, late or bad, is a gap for the tracker, not a reset)
        with self._stats.lock:
            index, camera.received = camera.received, camera.received + 1
            if not self.enabled:
                self._stats.frames_paused += 1
                return
            self._stats.frames_in += 1
        pool.submit((camera, frame, index))

    def _hint(self, camera: Camera, encoding: str):
        """Log, throttled, that an encoding accepted on ``camera`` may be on the wrong topic."""
        self._node.get_logger().warning(
            f'{camera.resolved or camera.topic}: a {encoding} image {HINTS[encoding]}',
            throttle_duration_sec=HINT_THROTTLE)

    def infer(self, model, item) -> FrameResult:
        """Convert (once per process) and infer with ``model`` (the worker's own context)."""
        frame = item[1]
        started = self._node.get_clock().now()
        t0 = time.perf_counter()
        image = frame.image(self.keep_nv12, self.keep_yuv)
        convert = time.perf_counter() - t0
        if not frame.compressed and frame.msg.encoding in HINTS:
            self._hint(item[0], frame.msg.encoding)
        if isinstance(image, Nv12Frame):
            # the range the model decodes NV12 in (its card's yuv_range), stated on the frame:
            # pre-processing and the debug image then decode it alike
            image = image.in_range(getattr(getattr(model, 'input_spec', None), 'yuv_range',
                                           'video'))
        output, times = model.predict(image)
        return FrameResult(image, output, times, convert, started)
