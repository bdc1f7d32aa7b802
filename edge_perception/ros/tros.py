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
TROS (D-Robotics TogetheROS.Bot) output: results as ``ai_msgs/PerceptionTargets``.

Used only when the ``ai_msgs`` package (hobot_msgs) is importable, as on RDK boards, so TROS
consumers (websocket display, trackers, the hobot apps) take our results unchanged. Mapping:

* a detection, segmented instance or person: one Target, ``type`` = class name,
  ``track_id`` = the track id with a tracker (else 0, TROS' "not tracked"), one Roi
  (``type`` = class name, ``rect`` = the box in source pixels, ``confidence``);
* pose: plus one Point of ``type`` ``body_kps``: the keypoints (x, y, z = 0) and their
  confidences, in the model's keypoint order;
* classification: one Target per published class (best first), ``type`` = class name, an
  Roi over the whole image with the class score as ``confidence``;
* semantic segmentation: one Target of ``type`` ``segmentation`` whose Capture carries the
  class map: ``img.height/width`` = its size, ``features`` = class id per pixel, row-major;
* ``perfs``: convert, preprocess, infer, postprocess of the node, and ``pipeline`` from the
  image's stamp to publishing, each with start/end stamps and milliseconds; ``fps``: recent
  output rate.
"""

import array

from builtin_interfaces.msg import Time
from geometry_msgs.msg import Point32
import numpy as np

try:
    from ai_msgs.msg import Attribute, Capture, Perf, PerceptionTargets, Point, Roi, Target
except ImportError:     # not a TROS system: the nodes publish vision_msgs only
    Attribute = Capture = Perf = PerceptionTargets = Point = Roi = Target = None

__all__ = ['available', 'classification_targets', 'detection_targets', 'node_perfs', 'perf',
           'perception_targets', 'semantic_targets']


def available() -> bool:
    """Tell whether ai_msgs is importable (then the nodes also publish PerceptionTargets)."""
    return PerceptionTargets is not None


def _time(nanoseconds: int) -> Time:
    nanoseconds = max(0, int(nanoseconds))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def perf(kind: str, start_ns: int, end_ns: int):
    """Build a Perf entry from start and end times in nanoseconds."""
    return Perf(type=kind, stamp_start=_time(start_ns), stamp_end=_time(end_ns),
                time_ms_duration=(int(end_ns) - int(start_ns)) / 1e6)


def _roi(kind: str, x1: float, y1: float, x2: float, y2: float, width: int, height: int,
         confidence: float):
    """Build an Roi, clipping the box to the image (RegionOfInterest is unsigned pixels)."""
    left = int(np.clip(np.floor(x1), 0, width))
    top = int(np.clip(np.floor(y1), 0, height))
    right = int(np.clip(np.ceil(x2), left, width))
    bottom = int(np.clip(np.ceil(y2), top, height))
    roi = Roi(type=kind, confidence=float(confidence))
    roi.rect.x_offset, roi.rect.y_offset = left, top
    roi.rect.width, roi.rect.height = right - left, bottom - top
    return roi


def detection_targets(detections, width: int, height: int, keypoint_kind: str = 'body_kps'):
    """Return one Target per detection (with its keypoints when the model gives them)."""
    targets = []
    keypoints = detections.keypoints
    # oriented boxes: the roi is the rotated rectangle's bounding box, the angle an attribute
    angle = getattr(detections, 'angle', None)
    boxes = detections.xyxy.tolist() if angle is None else np.concatenate(
        [detections.corners.min(axis=1), detections.corners.max(axis=1)], axis=1).tolist()
    tracks = getattr(detections, 'tracker_id', None)
    tracks = [0] * len(boxes) if tracks is None else [int(t) for t in tracks]
    for index, (box, score, name, track) in enumerate(zip(
            boxes, detections.confidence.tolist(), detections.names, tracks)):
        target = Target(type=name, track_id=track)
        target.rois = [_roi(name, *box, width, height, score)]
        if angle is not None:
            target.attributes = [Attribute(type='angle', value=float(angle[index]),
                                           confidence=float(score))]
        if keypoints is not None:
            points = keypoints[index].astype(float)
            target.points = [Point(
                type=keypoint_kind,
                point=[Point32(x=x, y=y, z=0.0) for x, y in points[:, :2].tolist()],
                confidence=array.array('f', points[:, 2].astype(np.float32).tobytes()))]
        targets.append(target)
    return targets


def classification_targets(names, scores, width: int, height: int):
    """Return one Target per class (best first), each an Roi over the whole image."""
    return [Target(type=name, track_id=0,
                   rois=[_roi(name, 0, 0, width, height, width, height, score)])
            for name, score in zip(names, scores)]


def semantic_targets(class_map: np.ndarray):
    """Return the class map as one Target whose Capture holds it (features = class ids)."""
    capture = Capture()
    capture.img.height, capture.img.width = (int(v) for v in class_map.shape[:2])
    capture.features = array.array('f', class_map.astype(np.float32).tobytes())
    return [Target(type='segmentation', track_id=0, captures=[capture])]


def perception_targets(header, targets, perfs, fps: float):
    """Build the PerceptionTargets of one frame (header copied from the image)."""
    msg = PerceptionTargets()
    msg.header = header
    msg.fps = int(min(max(round(fps), 0), 32767))
    msg.perfs = list(perfs)
    msg.targets = list(targets)
    return msg


def node_perfs(name: str, result, header, now_ns: int):
    """
    Return the Perf entries of one frame: the node's stages, then the whole pipeline.

    ``result``: the node's FrameResult (``started``: rclpy Time the worker took the frame;
    ``convert`` and ``times`` in seconds); ``pipeline`` runs from the image's stamp to now.
    """
    stages = [('convert', result.convert), ('preprocess', result.times.pre),
              ('infer', result.times.infer), ('postprocess', result.times.decode)]
    perfs, start = [], result.started.nanoseconds
    for stage, seconds in stages:
        end = start + int(seconds * 1e9)
        perfs.append(perf(f'{name}_{stage}', start, end))
        start = end
    stamp = header.stamp.sec * 1_000_000_000 + header.stamp.nanosec
    perfs.append(perf(f'{name}_pipeline', stamp, now_ns))
    return perfs
