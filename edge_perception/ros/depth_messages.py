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
3D results as ROS messages: vision_msgs/Detection3DArray and metric MarkerArrays.

The geometry comes from ``edge_perception.depth`` (``Objects3D``, metres, in the depth
camera's optical frame: x right, y down, z forward, REP-103); the header is the depth
image's (frame_id and stamp), or the colour image's for markers on camera rays. Each
``Detection3D``: ``bbox.center.position`` = the 3D centre, ``bbox.center.orientation`` = the
box axes' orientation (identity for registered depth: the box is aligned with the optical
frame; with depth of another camera, the colour camera's orientation in the depth frame,
since the box is measured along the colour camera's axes), ``bbox.size`` = extent in metres,
``results[0]`` = class name and score with ``pose.pose`` = the centre and orientation, ``id``
= the track id when the
detections carry ``tracker_id``, else the detection's index (as in the 2D message, so both
refer to the same object). Objects without valid depth are left out of the 3D message.

A node needs: ``decode_depth`` (the depth Image), ``DepthFusion.set_*_info`` (CameraInfo),
``DepthFusion.lift`` then ``detections_3d_msg``, ``DepthFusion.marker_objects`` then
``markers_3d``.
"""

from typing import Optional, Sequence

from geometry_msgs.msg import Point
import numpy as np
from std_msgs.msg import ColorRGBA, Header
from vision_msgs.msg import Detection3D, Detection3DArray, ObjectHypothesisWithPose
from visualization_msgs.msg import Marker, MarkerArray

from ..depth import decode_depth, Objects3D, RigidTransform

__all__ = ['decode_depth', 'detection_ids', 'detections_3d_msg', 'markers_3d']

# the 12 edges of a box, corners numbered by bits (x, y, z) = (1, 2, 4)
_EDGES = tuple((a, a | bit) for bit in (1, 2, 4) for a in range(8) if not a & bit)


def detection_ids(detections) -> list:
    """Return the ``id`` of each detection: its track id when tracked, else its index."""
    tracks = getattr(detections, 'tracker_id', None)
    if tracks is not None:
        return [str(int(t)) for t in np.asarray(tracks).reshape(-1)]
    return [str(i) for i in range(len(detections))]


def detections_3d_msg(objects: Objects3D, header: Header) -> Detection3DArray:
    """Build a Detection3DArray of the objects with a valid 3D box (header on every one)."""
    out = Detection3DArray()
    out.header = header
    dets = objects.detections
    ids = detection_ids(dets)
    names = list(dets.names)
    scores = np.asarray(dets.confidence, dtype=float).tolist()
    items = []
    qx, qy, qz, qw = _orientation(objects)
    for i in np.flatnonzero(objects.valid).tolist():
        (x, y, z), (sx, sy, sz) = objects.center[i].tolist(), objects.size[i].tolist()
        det = Detection3D()
        det.header = header
        det.id = ids[i]
        det.bbox.center.position.x, det.bbox.center.position.y = x, y
        det.bbox.center.position.z = z
        orientation = det.bbox.center.orientation
        orientation.x, orientation.y, orientation.z, orientation.w = qx, qy, qz, qw
        det.bbox.size.x, det.bbox.size.y, det.bbox.size.z = sx, sy, sz
        hypothesis = ObjectHypothesisWithPose()
        hypothesis.hypothesis.class_id = names[i]
        hypothesis.hypothesis.score = scores[i]
        hypothesis.pose.pose.position = det.bbox.center.position
        hypothesis.pose.pose.orientation = det.bbox.center.orientation
        det.results = [hypothesis]
        items.append(det)
    out.detections = items
    return out


def _orientation(objects: Objects3D):
    """Quaternion (x, y, z, w) of the objects' box axes (identity without a rotation)."""
    if objects.rotation is None:
        return 0.0, 0.0, 0.0, 1.0
    return RigidTransform(np.asarray(objects.rotation, dtype=np.float64),
                          np.zeros(3)).quaternion


def _color(bgr, alpha: float = 1.0) -> ColorRGBA:
    return ColorRGBA(r=bgr[2] / 255.0, g=bgr[1] / 255.0, b=bgr[0] / 255.0, a=float(alpha))


def _marker(header, ns, ident, kind, color) -> Marker:
    marker = Marker(ns=ns, id=ident, type=kind, action=Marker.ADD)
    marker.header = header
    marker.pose.orientation.w = 1.0
    marker.color = color
    return marker


def markers_3d(objects: Optional[Objects3D], header: Header, skeleton: Sequence = (),
               line_width: float = 0.01, point_size: float = 0.03,
               colors=None) -> MarkerArray:
    """
    Build a MarkerArray in metres: DELETEALL, then per valid object its box edges.

    Namespaces ``boxes`` (LINE_LIST, 12 edges; a flat rectangle on camera rays, 4 edges),
    ``skeleton`` (LINE_LIST of the limbs whose ends have 3D points) and ``keypoints``
    (SPHERE_LIST); id = the object's index. ``colors``: BGR per object (default green).
    ``objects`` None (no geometry): the DELETEALL only, so stale markers disappear.
    """
    clear = Marker()
    clear.header = header
    clear.action = Marker.DELETEALL
    markers = [clear]
    if objects is None:
        return MarkerArray(markers=markers)
    axes = np.eye(3) if objects.rotation is None else np.asarray(objects.rotation, float)
    for i in np.flatnonzero(objects.valid).tolist():
        color = _color(colors[i] if colors else (0, 255, 0))
        centre, half = objects.center[i], objects.size[i] / 2
        corners = [centre + axes @ (half * np.array([1 if c & 1 else -1, 1 if c & 2 else -1,
                                                     1 if c & 4 else -1])) for c in range(8)]
        edges = _EDGES if half[2] > 0 else [e for e in _EDGES if not e[0] & 4 and not e[1] & 4]
        box = _marker(header, 'boxes', i, Marker.LINE_LIST, color)
        box.scale.x = float(line_width)
        box.points = [_point(corners[k]) for edge in edges for k in edge]
        markers.append(box)
        if objects.keypoints is None:
            continue
        points = objects.keypoints[i]
        shown = np.isfinite(points).all(axis=1)
        limbs = _marker(header, 'skeleton', i, Marker.LINE_LIST, color)
        limbs.scale.x = float(line_width)
        limbs.points = [_point(points[k]) for a, b in skeleton
                        if a < len(points) and b < len(points) and shown[a] and shown[b]
                        for k in (a, b)]
        joints = _marker(header, 'keypoints', i, Marker.SPHERE_LIST, color)
        joints.scale.x = joints.scale.y = joints.scale.z = float(point_size)
        joints.points = [_point(p) for p, s in zip(points, shown) if s]
        markers += [m for m in (limbs, joints) if m.points]
    return MarkerArray(markers=markers)


def _point(p) -> Point:
    x, y, z = (float(v) for v in p)
    return Point(x=x, y=y, z=z)
