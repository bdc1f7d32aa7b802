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
Detections and node state as ROS messages: vision_msgs (4.x, Humble layout) and diagnostics.

vision_msgs 4.x field names: ``bbox.center.position.x``, ``results[i].hypothesis.class_id``
(the class *name* here, as the Humble-era detectors do) and ``.score``.
"""

from typing import Mapping, Optional, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from std_msgs.msg import Header
from vision_msgs.msg import (Detection2D, Detection2DArray, LabelInfo, ObjectHypothesisWithPose,
                             VisionClass)

from ..results import Detections

#: DiagnosticStatus levels by name (the message constants are bytes).
LEVELS = {'OK': DiagnosticStatus.OK, 'WARN': DiagnosticStatus.WARN,
          'ERROR': DiagnosticStatus.ERROR, 'STALE': DiagnosticStatus.STALE}


def detections_to_msg(detections: Detections, header: Header) -> Detection2DArray:
    """
    Build a Detection2DArray: one Detection2D per object, in source-image pixels.

    The image's header is kept on the array and on every detection. Each detection carries
    one hypothesis (class name, confidence) and ``id`` = its index, unique in the message.
    """
    out = Detection2DArray()
    out.header = header
    boxes = detections.centers_sizes.astype(float).tolist()   # Python floats for field checks
    scores = detections.confidence.astype(float).tolist()
    items = []
    for index, ((cx, cy, w, h), score, name) in enumerate(zip(boxes, scores,
                                                              detections.names)):
        det = Detection2D()
        det.header = header
        det.id = str(index)
        det.bbox.center.position.x = cx
        det.bbox.center.position.y = cy
        det.bbox.size_x = w
        det.bbox.size_y = h
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = name
        hypothesis.hypothesis.score = score
        det.results = [hypothesis]
        items.append(det)
    out.detections = items
    return out


def label_info_msg(class_names: Sequence[str], threshold: float,
                   header: Optional[Header] = None) -> LabelInfo:
    """Build a vision_msgs/LabelInfo: the class table (id -> name) and confidence threshold."""
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
