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
Results and node state as ROS messages: vision_msgs (4.x, Humble layout), masks, markers.

vision_msgs 4.x field names: ``bbox.center.position.x``, ``results[i].hypothesis.class_id``
(the class *name* here, as the Humble-era detectors do) and ``.score``.

Conventions of the task nodes (README, "Nodes"):

* Detection2D.id: the track id with a tracker (``Detections.tracker_id``: stable across
  frames, as vision_msgs defines ``id``), else the detection's index in the message;
* instance masks: one mono8 image (mono16 above 255 instances) at source resolution, pixel
  value = 1 + the position of the detection in ``detections.detections`` (whose ``id`` is
  its track id when tracked), 0 = background; where masks overlap, the more confident
  detection (the earlier one) wins;
* keypoints: vision_msgs has no keypoint type, so a Detection2DArray with one Detection2D per
  keypoint: ``bbox.center`` = the keypoint in source pixels, size 0, ``results[0]`` = keypoint
  name and confidence, ``id`` = ``<person id>/<keypoint name>`` (person id = that person's
  Detection2D.id: the track id when tracked);
* markers: in metres, built by ``depth_messages.markers_3d`` (depth_stage).
"""

from typing import Mapping, Optional, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
import numpy as np
from std_msgs.msg import Header
from vision_msgs.msg import (Classification, Detection2D, Detection2DArray, ObjectHypothesis,
                             ObjectHypothesisWithPose)

from . import message_builders
from .depth_messages import detection_ids
from ..results import Detections, InstanceMasks

try:    # vision_msgs >= 4.1.0; Humble's first release, 4.0.0, has neither message
    from vision_msgs.msg import LabelInfo, VisionClass
except ImportError:
    LabelInfo = VisionClass = None

#: Why ``label_info`` cannot be published, or None when it can (logged once by the nodes).
LABEL_INFO_MISSING = None if LabelInfo is not None else (
    'this vision_msgs has no LabelInfo/VisionClass (added in vision_msgs 4.1.0; Humble '
    'released 4.0.0 without them): label_info is not published, so class_id carries '
    'class names (class_id_format is ignored). Fix: sudo apt install --only-upgrade '
    'ros-humble-vision-msgs')

#: DiagnosticStatus levels by name (the message constants are bytes).
LEVELS = {'OK': DiagnosticStatus.OK, 'WARN': DiagnosticStatus.WARN,
          'ERROR': DiagnosticStatus.ERROR, 'STALE': DiagnosticStatus.STALE}


def detections_to_msg(detections: Detections, header: Header,
                      class_id_format: str = 'name') -> Detection2DArray:
    """
    Build a Detection2DArray: one Detection2D per object, in source-image pixels.

    The image's header is kept on the array and on every detection. Each detection carries
    one hypothesis (class, confidence) and ``id`` = its track id when the detections carry
    ``tracker_id``, else its index; unique in the message either way. The
    hypothesis' ``class_id`` is the class name, or with ``class_id_format='index'`` the class
    index as text (vision_msgs: an id to look up in LabelInfo).
    """
    boxes = detections.centers_sizes.astype(float).tolist()   # Python floats for field checks
    scores = detections.confidence.astype(float).tolist()
    # oriented boxes (OrientedDetections): size in the box's own frame, rotated by theta
    angle = getattr(detections, 'angle', None)
    thetas = angle.astype(float).tolist() if angle is not None else [0.0] * len(scores)
    items = []
    labels = class_labels(detections.class_id, detections.names, class_id_format)
    for ident, (cx, cy, w, h), score, name, theta in zip(
            detection_ids(detections), boxes, scores, labels, thetas):
        items.append(_detection(header, ident, cx, cy, w, h, name, score, theta))
    return _detection_array(header, items)


def _detection_array(header: Header, items: list) -> Detection2DArray:
    """Build a Detection2DArray of ``items`` (fast when ``message_builders`` matches)."""
    out = message_builders.detection_array(header, items)
    if out is None:
        out = Detection2DArray()
        out.header = header
        out.detections = items
    return out


def class_labels(class_ids, names: Sequence[str], class_id_format: str = 'name'):
    """Return the ObjectHypothesis.class_id strings: names, or indices as text ('index')."""
    if class_id_format == 'index':
        return [str(int(i)) for i in class_ids]
    return [str(name) for name in names]


def _detection(header: Header, ident: str, cx: float, cy: float, w: float, h: float,
               class_id: str, score: float, theta: float = 0.0) -> Detection2D:
    """Build one Detection2D with a single hypothesis (all values Python floats/str)."""
    det = message_builders.detection(header, ident, cx, cy, w, h, theta, class_id, score)
    if det is not None:
        return det
    det = Detection2D()
    det.header = header
    det.id = ident
    det.bbox.center.position.x = cx
    det.bbox.center.position.y = cy
    det.bbox.size_x = w
    det.bbox.size_y = h
    if theta:
        det.bbox.center.theta = theta
    hypothesis = ObjectHypothesisWithPose()
    hypothesis.hypothesis.class_id = class_id
    hypothesis.hypothesis.score = score
    det.results = [hypothesis]
    return det


def label_info_msg(class_names: Sequence[str], threshold: float,
                   header: Optional[Header] = None) -> 'LabelInfo':
    """
    Build a vision_msgs/LabelInfo: the class table (id -> name) and confidence threshold.

    ImportError (``LABEL_INFO_MISSING``) when vision_msgs is older than 4.1.0.
    """
    if LabelInfo is None:
        raise ImportError(LABEL_INFO_MISSING)
    msg = LabelInfo()
    if header is not None:
        msg.header = header
    msg.class_map = [VisionClass(class_id=index, class_name=str(name))
                     for index, name in enumerate(class_names)]
    msg.threshold = float(threshold)
    return msg


def diagnostic_status(name: str, level: str, message: str, values: Mapping[str, object],
                      hardware_id: str = '') -> DiagnosticStatus:
    """Build a DiagnosticStatus; ``level`` is 'OK', 'WARN', 'ERROR' or 'STALE'."""
    if level not in LEVELS:
        raise ValueError(f'diagnostic level {level!r} is not one of {", ".join(LEVELS)}')
    return DiagnosticStatus(
        level=LEVELS[level], name=name, message=message, hardware_id=hardware_id,
        values=[KeyValue(key=str(k), value=_text(v)) for k, v in values.items()])


def diagnostic_array(statuses: Sequence[DiagnosticStatus], stamp=None) -> DiagnosticArray:
    """Wrap ``statuses`` in a DiagnosticArray stamped ``stamp`` (builtin_interfaces/Time)."""
    msg = DiagnosticArray()
    if stamp is not None:
        msg.header.stamp = stamp
    msg.status = list(statuses)
    return msg


def _text(value) -> str:
    if isinstance(value, float):
        return f'{value:.3f}'
    return str(value)


def instance_id_image(masks, height: int, width: int) -> np.ndarray:
    """
    Return the instance-id image of instance masks: 0 background, index + 1 elsewhere.

    masks: ``InstanceMasks`` (built inside each box: work and memory = the boxes' area plus
    one image), an (N, H, W) bool array, or None. uint8 up to 255 instances, else uint16.
    Overlaps go to the lowest index (most confident). The value is the position + 1, not the
    track id (ids grow without bound; the Detection2D at that position carries it).
    """
    if masks is None or len(masks) == 0:
        return np.zeros((height, width), np.uint8)
    if not isinstance(masks, InstanceMasks):
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim != 3:
            raise ValueError(f'masks must be (N, H, W), got {masks.shape}')
        masks = InstanceMasks.from_dense(masks)
    if (masks.height, masks.width) != (height, width):
        raise ValueError(f'masks are {masks.width}x{masks.height}, the image '
                         f'{width}x{height}: masks must be at source resolution')
    return masks.id_image()


def class_map_dtype(num_classes: int):
    """Return uint8 when every class id fits (<= 256 classes), else uint16."""
    return np.uint8 if num_classes <= 256 else np.uint16


def keypoints_to_msg(detections: Detections, header: Header,
                     threshold: float = 0.0) -> Detection2DArray:
    """
    Build the keypoints Detection2DArray: one Detection2D per keypoint at or above threshold.

    ``id`` = ``<person id>/<keypoint name>`` where the person id is the Detection2D id of the
    ``detections`` message (track id or index); bbox.center = the keypoint in source pixels,
    size 0; results[0] = keypoint name and confidence. Person-major, keypoint order of the model.
    """
    out = Detection2DArray()
    out.header = header
    keypoints = detections.keypoints
    if keypoints is None or len(keypoints) == 0:
        return out
    names = keypoint_names(detections)
    items = []
    for person, points in zip(detection_ids(detections),
                              np.asarray(keypoints, dtype=float).tolist()):
        for name, (x, y, score) in zip(names, points):
            if score < threshold:
                continue
            items.append(_detection(header, f'{person}/{name}', x, y, 0.0, 0.0, name, score))
    return _detection_array(header, items)


def keypoint_names(detections: Detections):
    """Return the keypoint names (their index as text where the model names none)."""
    count = 0 if detections.keypoints is None else detections.keypoints.shape[1]
    names = list(detections.keypoint_names)[:count]
    return names + [str(i) for i in range(len(names), count)]


def classification_msg(names: Sequence[str], scores: Sequence[float],
                       header: Header) -> Classification:
    """Build a vision_msgs/Classification: one hypothesis per class (class_id = its name)."""
    msg = Classification()
    msg.header = header
    msg.results = [ObjectHypothesis(class_id=str(name), score=float(score))
                   for name, score in zip(names, scores)]
    return msg
