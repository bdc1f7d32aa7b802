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
The ``use_depth`` result stage: 3D boxes from a depth image (registered or not), metric markers.

Per camera (topics next to its ``image``; relative names, so namespaces and remapping apply):
subscribes ``camera_info`` (the colour camera) and, with ``use_depth``, ``depth``
(sensor_msgs/Image, registered to the colour image or not) and ``depth/camera_info``;
publishes ``detections_3d`` (vision_msgs/Detection3DArray, the depth image's header: in the
depth camera's optical frame) and ``markers`` (visualization_msgs/MarkerArray in metres: boxes,
and skeletons for pose). Depth whose frame_id is not the colour image's is another camera:
its extrinsics are ``depth_to_colour`` when set, else the chain between the two optical
frames in ``/tf_static`` (tf2_msgs/TFMessage, transient local, one subscription per node,
composed by ``StaticTransforms``: tf2_ros has no PyPI wheel); frames without one are 2D only
(``depth_no_extrinsics``).

The 2D outputs never wait for depth: each frame's detections are handed to a
``StampSynchroniser`` and published at once; only the 3D output waits, for the depth image
stamped closest to the frame (within ``depth_slop``), at most ``depth_max_wait`` seconds (a
20 Hz timer decides the frames whose wait is over). A frame left without depth is counted
(``depth_unmatched`` in /diagnostics) and gets no 3D message. ``class_id`` in the 3D message
follows ``class_id_format`` as in ``detections``; ``id`` is the 2D message's id. Markers come
from the depth when there is some, else lie on the camera rays at ``marker_distance`` (from
camera_info), else are not published (said once). Every reason (no camera_info, no
extrinsics, objects without valid depth) is counted in /diagnostics (``depth_<reason>``) and
logged throttled.
``DepthFusion`` is used under one lock per camera (its ReasonLog is not thread-safe).
"""

import threading
from typing import Dict, List

import numpy as np
from rclpy.qos import DurabilityPolicy, qos_profile_sensor_data, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CameraInfo, Image
from tf2_msgs.msg import TFMessage
from vision_msgs.msg import Detection3DArray
from visualization_msgs.msg import MarkerArray

from .depth_messages import decode_depth, detections_3d_msg, markers_3d
from .messages import class_labels
from .outputs import join
from .qos import image_qos
from .stages import FrameResult, ResultStage
from ..depth import (DepthConfig, DepthFusion, RigidTransform, stamp_ns, StampSynchroniser,
                     StaticTransforms)
from ..drawing import class_color
from ..preprocess import YuvFrame
from ..results import Detections

__all__ = ['DepthStage']

POLL_PERIOD = 0.05      # seconds: decides colour frames whose wait for depth is over
TF_STATIC = '/tf_static'
#: tf2_ros's static listener QoS: every latched transform of every broadcaster
TF_STATIC_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                           durability=DurabilityPolicy.TRANSIENT_LOCAL)


def depth_to_colour_transform(values):
    """Return the ``depth_to_colour`` parameter as a RigidTransform (None: empty)."""
    values = [] if values is None else list(values)
    if not values:
        return None
    if any(isinstance(v, (bool, str, bytes)) for v in values):
        raise ValueError(f'depth_to_colour must be numbers [x, y, z, qx, qy, qz, qw], got '
                         f'{values!r}')
    try:
        return RigidTransform.from_xyz_quaternion(values)
    except ValueError as exc:
        raise ValueError(f'depth_to_colour: {exc}') from None


class _CameraDepth:
    """One camera's fusion state, synchroniser, subscriptions and publishers."""

    def __init__(self, prefix: str, fusion: DepthFusion, sync):
        self.prefix = prefix
        self.fusion = fusion
        self.sync = sync
        self.lock = threading.Lock()
        self.subscriptions: List[object] = []
        self.pub_3d = self.pub_markers = None


class DepthStage(ResultStage):
    """3D from depth and metric markers for each camera (see the module docstring)."""

    name = 'depth'

    def __init__(self, use_depth: bool, slop: float = 0.05, max_wait: float = 0.1,
                 assume_registered: bool = False, marker_distance: float = 2.0,
                 skeleton=(), keypoint_threshold: float = 0.5, markers: bool = True,
                 depth_to_colour=None):
        """
        Check the settings (ValueError with the reason); topics are made at configure.

        ``depth_to_colour``: [x, y, z, qx, qy, qz, qw] or empty; None: read the node's
        ``depth_to_colour`` parameter at configure (when it has one).
        """
        self.use_depth = bool(use_depth)
        self._slop, self._max_wait = float(slop), float(max_wait)
        StampSynchroniser(self._slop, self._max_wait)           # checks them
        self._assume_registered = bool(assume_registered)
        self._marker_distance = float(marker_distance)
        self._config = DepthConfig(keypoint_threshold=float(keypoint_threshold))
        DepthFusion(self._config, marker_distance=self._marker_distance)     # checks it
        self._skeleton = tuple(skeleton)
        self._markers = bool(markers)
        self._node = None
        self._cameras: Dict[str, _CameraDepth] = {}
        self._timer = None
        self._fixed = None if depth_to_colour is None else \
            depth_to_colour_transform(depth_to_colour)
        self._given = depth_to_colour is not None
        self._transforms = StaticTransforms()
        self._tf_subscription = None

    def configure(self, node) -> None:
        """Create each camera's subscriptions and publishers (relative to its image topic)."""
        self._node = node
        if not self._given and node.has_parameter('depth_to_colour'):
            self._fixed = depth_to_colour_transform(node.get_parameter('depth_to_colour').value)
        for prefix in node.camera_prefixes:
            cam = _CameraDepth(prefix, DepthFusion(self._config, self._assume_registered,
                                                   self._marker_distance,
                                                   depth_to_colour=self._fixed,
                                                   transforms=self._transforms),
                               self._synchroniser() if self.use_depth else None)
            self._cameras[prefix] = cam
            cam.subscriptions.append(node.create_subscription(
                CameraInfo, join(prefix, 'camera_info'),
                lambda msg, c=cam: self._locked(c, c.fusion.set_colour_info, msg),
                qos_profile_sensor_data))
            if self._markers:
                cam.pub_markers = node.create_publisher(MarkerArray, join(prefix, 'markers'), 10)
            if not self.use_depth:
                continue
            cam.subscriptions.append(node.create_subscription(
                CameraInfo, join(prefix, 'depth/camera_info'),
                lambda msg, c=cam: self._locked(c, c.fusion.set_depth_info, msg),
                qos_profile_sensor_data))
            cam.subscriptions.append(node.create_subscription(
                Image, join(prefix, 'depth'), lambda msg, c=cam: self._on_depth(c, msg),
                image_qos(node.image_qos)))
            cam.pub_3d = node.create_publisher(Detection3DArray, join(prefix, 'detections_3d'),
                                               10)
        if self.use_depth:
            self._timer = node.create_timer(POLL_PERIOD, self._poll)
            if self._fixed is None:
                self._tf_subscription = node.create_subscription(
                    TFMessage, TF_STATIC, self._on_tf_static, TF_STATIC_QOS)

    def _on_tf_static(self, msg) -> None:
        """Keep the static transforms (bad ones counted on the first camera, said throttled)."""
        refused = self._transforms.add_message(msg)
        cams = list(self._cameras.values())[:1]
        for cam in cams if refused else ():
            with cam.lock:
                cam.fusion.reasons.note('bad_tf_static', f'{refused} transform(s) on '
                                        f'{TF_STATIC} refused (zero quaternion or not finite)')
                self._log(cam)

    def _synchroniser(self) -> StampSynchroniser:
        return StampSynchroniser(self._slop, self._max_wait)

    def _locked(self, cam: _CameraDepth, call, msg) -> None:
        with cam.lock:
            call(msg)
            self._log(cam)

    def _on_depth(self, cam: _CameraDepth, msg) -> None:
        self._handle(cam, cam.sync.add_depth(stamp_ns(msg.header.stamp), msg))

    def _poll(self) -> None:
        if self._node is None:          # closed while the executor held the timer
            return
        for cam in list(self._cameras.values()):
            self._handle(cam, cam.sync.poll())

    def process(self, camera: str, frame_index: int, header, result: FrameResult) -> None:
        """Queue the frame's detections for depth (or draw its markers on the rays)."""
        cam = self._cameras.get(camera)
        if cam is None or not isinstance(result.output, Detections):
            return
        image = result.image
        size = (image.width, image.height) if isinstance(image, YuvFrame) else \
            (image.shape[1], image.shape[0])
        if cam.sync is not None:
            self._handle(cam, cam.sync.add_colour(stamp_ns(header.stamp),
                                                  (header, result.output, size)))
            return
        with cam.lock:
            self._publish_markers(cam, header, result.output, size, None, None)
            self._log(cam)

    def _handle(self, cam: _CameraDepth, pairs) -> None:
        """Lift and publish the decided colour frames (2D only when without depth)."""
        for pair in pairs:
            header, detections, size = pair.colour
            with cam.lock:
                objects = None
                if pair.depth is not None:
                    try:
                        depth_m = decode_depth(pair.depth)
                    except ValueError as exc:
                        cam.fusion.reasons.note('bad_depth_image', f'depth image refused: {exc}')
                    else:
                        objects = cam.fusion.lift(detections, size, header.frame_id, depth_m,
                                                  pair.depth.header.frame_id)
                if objects is not None:
                    cam.pub_3d.publish(self._msg_3d(objects, pair.depth.header))
                self._publish_markers(cam, header, detections, size, objects,
                                      pair.depth.header if objects is not None else None)
                self._log(cam)

    def _msg_3d(self, objects, header):
        """Build the Detection3DArray, class_id written as the 2D message writes it."""
        msg = detections_3d_msg(objects, header)
        dets = objects.detections
        labels = class_labels(dets.class_id, dets.names, self._node.class_id_format)
        for det, i in zip(msg.detections, np.flatnonzero(objects.valid).tolist()):
            det.results[0].hypothesis.class_id = labels[i]
        return msg

    def _publish_markers(self, cam, header, detections, size, objects, depth_header) -> None:
        if cam.pub_markers is None:
            return
        geometry = cam.fusion.marker_objects(detections, size, objects)
        if geometry is None:
            return
        colors = [class_color(i) for i in range(len(detections))]
        cam.pub_markers.publish(markers_3d(geometry, depth_header or header, self._skeleton,
                                           colors=colors))

    def _log(self, cam: _CameraDepth) -> None:
        if self._node is None:
            return
        for _, text in cam.fusion.reasons.due():
            where = f' ({cam.prefix})' if cam.prefix else ''
            self._node.get_logger().warning(f'depth{where}: {text}')

    def diagnostics(self) -> Dict[str, int]:
        """Return the counts for /diagnostics: depth pairing and every reason, per camera."""
        values = {}
        for prefix, cam in list(self._cameras.items()):
            head = f'{prefix}/' if prefix else ''
            with cam.lock:
                if cam.sync is not None:
                    for key, count in cam.sync.counts.items():
                        values[f'{head}depth_{key}'] = count
                for code, count in sorted(cam.fusion.reasons.counts.items()):
                    values[f'{head}depth_{code}'] = count
        return values

    def reset(self) -> None:
        """Forget the colour frames waiting for depth (deactivate); camera_infos stay."""
        for cam in self._cameras.values():
            if cam.sync is not None:
                counts = cam.sync.counts
                cam.sync = self._synchroniser()
                cam.sync.counts = counts        # counts run over every activation

    def close(self) -> None:
        """Destroy the stage's subscriptions, publishers and timer."""
        node, self._node = self._node, None
        if node is None:
            return
        if self._timer is not None:
            # destroy, not cancel: see PerceptionNode._destroy_publishers
            timer, self._timer = self._timer, None
            node.destroy_timer(timer)
        if self._tf_subscription is not None:
            sub, self._tf_subscription = self._tf_subscription, None
            node.destroy_subscription(sub)
        for cam in self._cameras.values():
            for sub in cam.subscriptions:
                node.destroy_subscription(sub)
            for pub in (cam.pub_3d, cam.pub_markers):
                if pub is not None:
                    node.destroy_publisher(pub)
        self._cameras = {}
