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
Oriented boxes end to end: decoded, in source pixels, published, drawn, in ai_msgs.

Decoded from rknn_model_zoo's OBB case, mapped to source pixels, published as
vision_msgs ``BoundingBox2D`` with ``center.theta``, drawn rotated, and in ai_msgs as the
rotated rectangle's bounding roi plus an ``angle`` attribute.

Corner geometry is checked against OpenCV's ``cv2.boxPoints`` (RotatedRect, degrees, image
axes), the decoded boxes against the zoo's golden results (test_golden_more.py).
"""

import importlib.util
import json
import os

import cv2
from edge_perception.decoders import decode, OrientedDetections
from edge_perception.drawing import annotate
from edge_perception.preprocess import letterbox
from edge_perception.ros import tros
from edge_perception.ros.messages import detections_to_msg
import numpy as np
import pytest
from std_msgs.msg import Header

from .helpers import REPO_ROOT

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rknn_more')


def _golden_case():
    spec = importlib.util.spec_from_file_location(
        'rknn_more_generator_obb', os.path.join(GOLDEN, 'generator.py'))
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    with open(os.path.join(GOLDEN, 'cases.json')) as f:
        case = [c for c in json.load(f)['cases'] if c['name'] == 'yolov8_obb_640'][0]
    with open(os.path.join(GOLDEN, 'yolov8_obb_640_float32.json')) as f:
        gold = json.load(f)
    return gen.generate(case), gold


def _boxpoints(xywhr):
    cx, cy, w, h, a = xywhr
    return cv2.boxPoints(((cx, cy), (w, h), float(np.degrees(a))))


def _same_corners(ours, theirs, tol=1e-3):
    """Check these are the same four points, whatever the order."""
    for p in theirs:
        assert np.min(np.abs(ours - p).max(axis=1)) < tol, (ours, theirs)


def _decoded(source_hw=None):
    outputs, gold = _golden_case()
    thr = gold['thresholds']
    lb = None
    if source_hw:
        _, lb = letterbox(np.zeros(source_hw + (3,), np.uint8), 640, 640)
    det = decode(outputs, input_size=(640, 640), letterbox=lb,
                 confidence_threshold=thr['confidence'], nms_threshold=thr['nms'])
    return det, gold, lb


def test_corners_are_opencv_rotated_rects():
    det, _, _ = _decoded()
    assert isinstance(det, OrientedDetections) and len(det) >= 8
    assert np.ptp(det.angle) > 1.0             # a range of angles, not all 0
    for xywhr, corners in zip(det.xywhr, det.corners):
        _same_corners(corners, _boxpoints(xywhr))
    # indexing keeps the angle with its box
    sub = det[np.argsort(det.confidence)[:3]]
    assert isinstance(sub, OrientedDetections)
    np.testing.assert_array_equal(sub.angle, det.angle[np.argsort(det.confidence)[:3]])


def test_source_pixels_keep_the_angle_and_scale_centre_and_size():
    det, _, _ = _decoded()
    src, _, lb = _decoded((480, 640))          # scale 1.0 in x, padded in y
    assert len(src) == len(det)
    np.testing.assert_allclose(src.angle, det.angle)
    centre = lb.points_to_source(det.xywhr[:, :2])
    np.testing.assert_allclose(src.xywhr[:, :2], centre, atol=1e-3)
    np.testing.assert_allclose(src.xywhr[:, 2:4], det.xywhr[:, 2:4] / lb.scale_x, atol=1e-3)


def test_published_as_bounding_box_with_theta():
    det, _, _ = _decoded()
    msg = detections_to_msg(det, Header(frame_id='camera'))
    assert len(msg.detections) == len(det)
    for d, (cx, cy, w, h, a) in zip(msg.detections, det.xywhr.astype(float)):
        assert d.bbox.center.theta == pytest.approx(a, abs=1e-6)
        assert (d.bbox.center.position.x, d.bbox.center.position.y) == (
            pytest.approx(cx, abs=1e-3), pytest.approx(cy, abs=1e-3))
        assert (d.bbox.size_x, d.bbox.size_y) == (pytest.approx(w, abs=1e-3),
                                                  pytest.approx(h, abs=1e-3))


def test_drawn_rotated():
    det, _, _ = _decoded()
    one = det[int(np.argmax(np.abs(np.sin(2 * det.angle))))]      # the most tilted box
    image = np.zeros((640, 640, 3), np.uint8)
    drawn = annotate(image, one)
    corners = _boxpoints(one.xywhr[0])
    lit = drawn.any(axis=2)
    for p in corners:       # the rotated corners are drawn ...
        x, y = np.clip(np.round(p).astype(int), 0, 639)
        assert lit[max(y - 2, 0):y + 3, max(x - 2, 0):x + 3].any(), p
    # ... the unrotated box's corners (far from every rotated edge) are not
    poly = corners.astype(np.float32).reshape(-1, 1, 2)
    x1, y1, x2, y2 = np.round(one.xyxy[0]).astype(int)
    inside = [(x, y) for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
              if 0 <= x < 640 and 0 <= y < 640]
    assert inside
    for x, y in inside:
        assert abs(cv2.pointPolygonTest(poly, (float(x), float(y)), True)) > 6
        assert not lit[y, x], (x, y)


def test_ai_msgs_roi_is_the_bounding_rect_and_the_angle_an_attribute():
    assert tros.available(), 'ai_msgs is not built: run scripts/setup_env.sh'
    det, _, _ = _decoded()
    targets = tros.detection_targets(det, 640, 640)
    assert len(targets) == len(det)
    for target, xywhr, score in zip(targets, det.xywhr, det.confidence):
        x, y, w, h = cv2.boundingRect(np.round(_boxpoints(xywhr)).astype(np.int32))
        rect = target.rois[0].rect
        x1, y1 = max(x, 0), max(y, 0)
        assert abs(rect.x_offset - x1) <= 1 and abs(rect.y_offset - y1) <= 1
        assert abs(rect.x_offset + rect.width - min(x + w, 640)) <= 1
        assert abs(rect.y_offset + rect.height - min(y + h, 640)) <= 1
        assert [(a.type, round(a.value, 5)) for a in target.attributes] == [
            ('angle', round(float(xywhr[4]), 5))]


def test_boxes_leaving_the_image_are_not_clipped():
    """A rotated box is its centre, size and angle: clipping its extents would move them."""
    dense = np.zeros((1, 4 + 15 + 1, 8400), np.float32)
    dense[0, :4, 100] = [300.0, 90.0, 200.0, 40.0]      # cx, cy, w, h in input pixels
    dense[0, 4 + 3, 100] = 0.9
    dense[0, 4 + 15, 100] = 0.6                          # radians
    _, lb = letterbox(np.zeros((480, 640, 3), np.uint8), 640, 640)     # 80 px pad top
    det = decode([dense], input_size=(640, 640), letterbox=lb, task='obb',
                 class_names=[f'c{i}' for i in range(15)])
    assert isinstance(det, OrientedDetections) and len(det) == 1
    assert det.xyxy[0, 1] < 0                            # the extents leave the image
    np.testing.assert_allclose(det.xywhr[0], [300.0, 10.0, 200.0, 40.0, 0.6], atol=1e-4)


def test_rotated_nms_is_per_class_unless_agnostic():
    """Identical boxes (ProbIoU 1) of two classes both stay; of one class, the better stays."""
    from edge_perception.decoders.oriented import probiou, rotated_nms
    xyxy = np.array([[100, 100, 220, 140]] * 3, np.float32)
    angle = np.array([0.7, 0.7, 0.7], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    np.testing.assert_allclose(probiou(np.c_[xyxy[:, :2] + 60, [[120, 40]] * 3, angle]), 1.0,
                               atol=1e-3)
    assert rotated_nms(xyxy, angle, scores, np.array([0, 1, 0]), 0.4, 300).tolist() == [0, 1]
    assert rotated_nms(xyxy, angle, scores, np.array([0, 1, 0]), 0.4, 300,
                       agnostic=True).tolist() == [0]
    # the same boxes turned apart by 90 degrees barely overlap: both stay
    turned = np.array([0.7, 0.7 + np.pi / 2, 0.7], np.float32)
    assert rotated_nms(xyxy, turned, scores, np.zeros(3, int), 0.4, 300).tolist() == [0, 1]


def test_a_card_may_name_an_oriented_layout_with_task_obb(tmp_path):
    """A card with `task: obb` may name an OBB layout (those layouts' own task is detect)."""
    from edge_perception.spec import load_card
    card = tmp_path / 'obb.yaml'
    card.write_text('task: obb\nlayout: ultralytics_obb\nmodel: m.onnx\n'
                    'input: {size: 640}\n')
    assert load_card(str(card)).layout == 'ultralytics_obb'


def test_indexing_oriented_detections_keeps_track_ids():
    """Track ids survive selecting oriented detections, as they do for Detections."""
    xyxy = np.array([[0, 0, 10, 10], [5, 5, 20, 30], [1, 2, 3, 4]], np.float32)
    dets = OrientedDetections(xyxy, np.array([0.9, 0.8, 0.7], np.float32),
                              np.zeros(3, np.int32), ('a',), None, None, (),
                              np.array([0.1, 0.2, 0.3], np.float32),
                              tracker_id=np.array([7, 8, 9]))
    picked = dets[1:]
    assert list(picked.tracker_id) == [8, 9] and list(picked.angle) == pytest.approx([0.2, 0.3])
