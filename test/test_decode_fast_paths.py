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
The decoders' fast paths against their oracles: OpenCV's NMSBoxes, full dequantised scans.

The plain-Python NMS for a frame's few boxes must keep exactly what cv2.dnn.NMSBoxes keeps
(called as OpenCV users call it: classes apart by a coordinate offset), in its order; the
per-frame helpers that skip building a Plane (score_sum scan, row gather) must give what a
full comparison of the dequantised tensor and its rows give.
"""

import cv2
from edge_perception.decoders.nms import greedy_nms, nms
from edge_perception.decoders.planes import grid_cells_at_least, grid_rows, one_channel_at_least
from edge_perception.tensors import quantize, QuantizedTensor
import numpy as np
import pytest


def opencv_nms(boxes, scores, classes, iou, agnostic):
    """cv2.dnn.NMSBoxes on x, y, w, h, each class shifted apart (the documented idiom)."""
    b = boxes.astype(np.float64)
    if not agnostic:
        b = b + (classes * (float(np.abs(b).max()) * 2 + 1.0))[:, None]
    b[:, 2:] -= b[:, :2]
    keep = cv2.dnn.NMSBoxes(b.tolist(), scores.astype(float).tolist(), 0.0, iou)
    return np.asarray(keep, np.intp).reshape(-1)


def small_scene(rng, n, n_classes, tied):
    """Return a frame's few boxes: overlapping clusters, some degenerate, some tied scores."""
    centres = rng.uniform(0, 600, (max(n // 3, 1), 2))
    pick = rng.integers(0, len(centres), n)
    xy = centres[pick] + rng.normal(0, 12, (n, 2))
    wh = rng.uniform(10, 150, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    flat = rng.random(n) < 0.05
    boxes[flat, 2] = boxes[flat, 0]                     # zero-width boxes
    scores = rng.uniform(0.25, 1.0, n)
    if tied:
        scores = np.round(scores, 1)                    # ties: OpenCV's stable order
    classes = rng.integers(0, n_classes, n).astype(np.int32)
    return boxes, scores.astype(np.float32), classes


@pytest.mark.parametrize('agnostic', [False, True])
@pytest.mark.parametrize('tied', [False, True])
def test_python_nms_keeps_what_opencv_keeps(agnostic, tied):
    rng = np.random.default_rng(21 + agnostic + 2 * tied)
    for trial in range(300):
        n = int(rng.integers(1, 60))
        boxes, scores, classes = small_scene(rng, n, int(rng.integers(1, 30)), tied)
        iou = float(rng.choice([0.3, 0.45, 0.7]))
        want = opencv_nms(boxes, scores, classes, iou, agnostic)
        group = [0] * n if agnostic else classes.tolist()
        for max_det in (1, 3, 300):
            got = greedy_nms(boxes.tolist(), scores.tolist(), group, iou, max_det)
            np.testing.assert_array_equal(got, want[:max_det], err_msg=f'trial {trial}')


@pytest.mark.usefixtures('numpy_decoders')
def test_nms_takes_the_python_path_for_a_frames_few_boxes():
    """20 objects with a duplicate each in distinct classes: the Python greedy pass runs."""
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 500, (20, 2))
    boxes = np.concatenate([xy, xy + 60], axis=1)
    boxes = np.concatenate([boxes, boxes + 2]).astype(np.float32)
    scores = rng.uniform(0.3, 0.9, 40).astype(np.float32)
    classes = np.tile(np.arange(20, dtype=np.int32), 2)
    calls = []
    real = cv2.dnn.NMSBoxes
    try:
        cv2.dnn.NMSBoxes = lambda *a, **k: calls.append(1) or real(*a, **k)
        got = nms(boxes, scores, classes, 0.45, 300)
    finally:
        cv2.dnn.NMSBoxes = real
    assert not calls
    np.testing.assert_array_equal(got, opencv_nms(boxes, scores, classes, 0.45, False))
    assert len(got) == 20


@pytest.mark.usefixtures('numpy_decoders')
def test_python_nms_gives_up_past_its_pair_budget_and_opencv_answers():
    """Many disjoint boxes of one class: the greedy pass returns None, NMSBoxes decides."""
    rng = np.random.default_rng(9)
    xy = np.stack(np.meshgrid(np.arange(6) * 100.0, np.arange(4) * 100.0), -1).reshape(-1, 2)
    boxes = np.concatenate([xy, xy + 60], axis=1)
    boxes = np.concatenate([boxes, boxes + 3]).astype(np.float32)     # 24 pairs, overlapping
    scores = rng.uniform(0.3, 0.9, len(boxes)).astype(np.float32)
    classes = np.zeros(len(boxes), np.int32)
    lists = boxes.tolist(), scores.tolist(), classes.tolist()
    assert greedy_nms(*lists, 0.45, 300, max_pairs=50) is None
    unbounded = greedy_nms(*lists, 0.45, 300)
    calls = []
    real = cv2.dnn.NMSBoxes
    try:
        cv2.dnn.NMSBoxes = lambda *a, **k: calls.append(1) or real(*a, **k)
        got = nms(boxes, scores, classes, 0.45, 300)
    finally:
        cv2.dnn.NMSBoxes = real
    assert calls
    want = opencv_nms(boxes, scores, classes, 0.45, False)
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(unbounded, want)
    assert len(got) == 24


@pytest.mark.parametrize('last', [True, False])
@pytest.mark.parametrize('kind', ['float32', 'int8', 'uint8'])
def test_grid_rows_and_score_sum_scan_equal_the_dequantised_tensor(last, kind):
    rng = np.random.default_rng(31)
    real = rng.normal(-3.0, 2.0, (1, 20, 30, 7) if last else (1, 7, 20, 30)).astype(np.float32)
    one = rng.uniform(0.0, 1.0, (1, 20, 30, 1) if last else (1, 1, 20, 30)).astype(np.float32)
    if kind == 'float32':
        tensor, sums = real, one
    else:
        dtype = np.int8 if kind == 'int8' else np.uint8
        tensor = quantize(real, 0.05, -20 if kind == 'int8' else 120, dtype)
        sums = quantize(one, 1 / 255, -128 if kind == 'int8' else 0, dtype)
    deq = tensor.dequantize() if isinstance(tensor, QuantizedTensor) else tensor
    per_cell = deq[0].reshape(-1, 7) if last else deq[0].reshape(7, -1).T
    cells = rng.choice(600, 25, replace=False)
    got = grid_rows(tensor, last, 600, cells)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, per_cell[cells])
    sums_real = (sums.dequantize() if isinstance(sums, QuantizedTensor) else sums).reshape(-1)
    for thr in (0.0, 0.25, 0.5, 0.999, 2.0):
        np.testing.assert_array_equal(one_channel_at_least(sums, thr),
                                      np.flatnonzero(sums_real >= thr))


def _grids():
    """(tensor, channels_last, threshold) per scan path: flat, vertical, NaN, flood, ints."""
    rng = np.random.default_rng(41)
    cases = []
    for cells, channels in ((400, 80), (1600, 80), (6400, 80), (1600, 3)):
        for last in (True, False):
            shape = (1, cells // 80, 80, channels) if last else (1, channels, cells // 80, 80)
            real = rng.normal(-6.0, 1.5, shape).astype(np.float32)
            flat = real.reshape(-1)
            flat[rng.choice(flat.size, 30, replace=False)] = rng.uniform(0.0, 3.0, 30)
            clean = real.copy()
            flat[rng.choice(flat.size, 3, replace=False)] = np.nan     # a broken output
            cases += [(real, last, 0.0), (real, last, -7.0),
                      (quantize(clean, 0.05, 10), last, 0.0),
                      (quantize(clean + 6.0, 0.05, 0, np.uint8), last, 6.0),
                      (quantize(clean, 0.05, 10), last, -7.0)]
    return cases


@pytest.mark.parametrize('tensor, last, thr', _grids())
def test_grid_scan_finds_exactly_the_cells_of_a_full_comparison(tensor, last, thr):
    real = tensor.dequantize() if isinstance(tensor, QuantizedTensor) else tensor
    per_cell = real[0].reshape(-1, real.shape[-1]) if last else \
        real[0].reshape(real.shape[1], -1).T
    with np.errstate(invalid='ignore'):
        expected = np.flatnonzero((per_cell >= thr).any(axis=1))
    got = grid_cells_at_least(tensor, last, len(per_cell), thr)
    np.testing.assert_array_equal(got, expected)


def _yolov5_heads(rng, last, logits, nc=6, size=160):
    """Three YOLOv5 strides of background with planted slots; every box channel low."""
    per = 5 + nc
    heads, planted = [], []
    for level, stride in enumerate((8, 16, 32)):
        g = size // stride
        low = -6.0 if logits else 0.002
        real = np.full((g * g, 3, per), low, np.float32)
        real += rng.uniform(0.0, 0.5 if logits else 0.001, real.shape).astype(np.float32)
        for slot in rng.choice(g * g * 3, 4, replace=False):
            cell, anchor = divmod(int(slot), 3)
            real[cell, anchor, 4] = rng.uniform(1.0, 4.0) if logits else rng.uniform(0.5, 1)
            real[cell, anchor, 5 + rng.integers(nc)] = 3.0 if logits else 0.9
            planted.append((level, int(slot)))
        chw = real.reshape(g, g, 3 * per)
        heads.append(chw[None] if last else np.ascontiguousarray(chw.transpose(2, 0, 1))[None])
    return heads, planted


def _dense_yolov5(heads, last, logits, anchors, thr):
    """Every slot of every stride decoded with the YOLOv5 formulas, in float64."""
    slots, scores, classes, boxes = [], [], [], []
    first = 0
    for head, stride, level_anchors in zip(heads, (8, 16, 32), anchors):
        real = (head.dequantize() if isinstance(head, QuantizedTensor) else head)[0]
        real = real.astype(np.float64)
        if not last:
            real = real.transpose(1, 2, 0)
        g = real.shape[0]
        p = real.reshape(g * g, 3, -1)
        p = 1 / (1 + np.exp(-p)) if logits else p
        score = p[..., 4] * p[..., 5:].max(-1)
        cell, anchor = np.nonzero(score >= thr)
        col, row = cell % g, cell // g
        xy = (p[cell, anchor, :2] * 2 - 0.5 + np.stack([col, row], 1)) * stride
        wh = (p[cell, anchor, 2:4] * 2) ** 2 * np.asarray(level_anchors, np.float64)[anchor]
        slots.append(first + cell * 3 + anchor)
        scores.append(score[cell, anchor])
        classes.append(p[cell, anchor, 5:].argmax(-1))
        boxes.append(np.concatenate([xy - wh / 2, xy + wh / 2], 1))
        first += g * g * 3
    return (np.concatenate(slots), np.concatenate(scores), np.concatenate(classes),
            np.concatenate(boxes))


@pytest.mark.parametrize('layout', ['rdk_yolov5', 'rknn_yolov5'])
@pytest.mark.parametrize('kind', ['float32', 'int8'])
def test_yolov5_candidates_equal_a_dense_decode_of_every_slot(layout, kind):
    """Objectness selects the slots (the box channels, all low here, do not); rows, boxes."""
    from edge_perception.decoders.anchor_based import decode_anchor
    from edge_perception.layouts import match_layout, YOLOV5_ANCHORS
    last, logits = layout == 'rdk_yolov5', layout == 'rdk_yolov5'
    rng = np.random.default_rng(51)
    heads, planted = _yolov5_heads(rng, last, logits)
    if kind == 'int8':
        heads = [quantize(h, 0.05 if logits else 1 / 255, 10 if logits else -128)
                 for h in heads]
    binding = match_layout([h.shape for h in heads], (160, 160), 6, layout)
    slots, score, class_id, boxes = _dense_yolov5(heads, last, logits, YOLOV5_ANCHORS, 0.25)
    assert len(slots) == len(planted) == 12
    xyxy, got_score, got_class, got_slots = decode_anchor(heads, binding, 0.25)
    np.testing.assert_array_equal(got_slots, slots)
    np.testing.assert_array_equal(got_class, class_id)
    np.testing.assert_allclose(got_score, score, rtol=1e-5)
    np.testing.assert_allclose(xyxy, boxes, rtol=1e-5, atol=1e-4)
