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
"""Decoders on synthetic raw outputs with objects at known positions, for every layout."""

from edge_perception import decode, DecodeOptions, Decoder, letterbox, QuantizedTensor
from edge_perception.decoders.nms import nms
from edge_perception.decoders.planes import Plane
from edge_perception.layouts import LAYOUTS, match_layout
from edge_perception.synthetic import make_outputs, random_objects, SyntheticObject
from edge_perception.tensors import quantize
import numpy as np
import pytest

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

ALL = list(LAYOUTS)
GRID = [n for n in ALL if LAYOUTS[n].family != 'dense']


def recovered(detections, objects):
    """Largest coordinate error between each planted object and its detection."""
    assert len(detections) == len(objects)
    worst = 0.0
    for obj in objects:
        err = np.abs(detections.xyxy - np.array(obj.xyxy, np.float32)).max(axis=1)
        i = int(err.argmin())
        assert detections.class_id[i] == obj.class_id
        assert detections.confidence[i] == pytest.approx(obj.score, abs=0.02)
        worst = max(worst, float(err[i]))
    return worst


@pytest.mark.parametrize('layout', ALL)
@pytest.mark.parametrize('score_sum', [True, False])
def test_float_outputs_recover_boxes_within_half_a_pixel(layout, score_sum):
    objects = random_objects(20, 80, seed=3)
    outs = make_outputs(layout, objects, 80, score_sum=score_sum)
    assert recovered(decode(outs), objects) < 0.5


@pytest.mark.parametrize('layout', GRID)
def test_int8_outputs_recover_boxes_within_the_quantisation_step(layout):
    objects = random_objects(12, 80, seed=4)
    outs = make_outputs(layout, objects, 80, quantized=True)
    assert all(isinstance(o, QuantizedTensor) for o in outs)
    # DFL logits are quantised with scale 0.12 (and YOLOv5 logits with 0.07, squared for wh):
    # a few pixels at most, never a lost or misplaced object.
    assert recovered(decode(outs), objects) < 4.0


def test_rdk_int32_box_heads_with_per_channel_scale():
    objects = random_objects(10, 80, seed=5)
    outs = make_outputs('rdk', objects, 80, int32_boxes=True)
    box = outs[1]
    assert box.data.dtype == np.int32 and box.per_channel and box.axis == 3
    assert recovered(decode(outs), objects) < 0.5


def test_letterbox_maps_boxes_to_source_pixels():
    src = np.zeros((480, 640, 3), np.uint8)
    _, info = letterbox(src, 640, 640)
    source_box = (100.0, 50.0, 300.0, 250.0)
    (x1, y1), (x2, y2) = info.points_to_input(np.array([source_box[:2], source_box[2:]]))
    outs = make_outputs('rknn', [SyntheticObject((x1, y1, x2, y2), 7, 0.8)], 80)
    det = decode(outs, letterbox=info)
    np.testing.assert_allclose(det.xyxy[0], source_box, atol=0.5)


def test_names_filter_threshold_and_max_detections():
    objects = [SyntheticObject((10, 10, 60, 60), 0, 0.9),
               SyntheticObject((200, 200, 300, 300), 1, 0.6),
               SyntheticObject((400, 100, 500, 220), 2, 0.3)]
    outs = make_outputs('rdk', objects, 3)
    names = ('person', 'car', 'dog')
    det = decode(outs, class_names=names)
    assert sorted(det.names) == ['car', 'dog', 'person']
    assert decode(outs, class_names=names, confidence_threshold=0.5).names == ['person', 'car']
    assert decode(outs, class_names=names, classes=(1, 2)).names == ['car', 'dog']
    assert decode(outs, class_names=names, max_detections=1).names == ['person']


def test_no_objects_gives_empty_detections_with_the_class_table():
    for layout in ALL:
        det = decode(make_outputs(layout, [], 4), class_names='abcd')
        assert len(det) == 0 and det.class_names == tuple('abcd')


def test_many_candidates_are_all_decoded_and_suppressed():
    """A background above the threshold everywhere: every cell is a candidate, NMS copes."""
    outs = make_outputs('rdk', [], 80, background=(0.3, 0.31))
    det = decode(outs, confidence_threshold=0.25, max_detections=10000)
    assert 0 < len(det) <= 8400


def test_nms_is_class_aware_unless_agnostic():
    boxes = np.array([[0, 0, 100, 100], [5, 5, 105, 105], [0, 0, 100, 100]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    classes = np.array([0, 0, 1], np.int32)
    assert nms(boxes, scores, classes, 0.5, 100).tolist() == [0, 2]
    assert nms(boxes, scores, classes, 0.5, 100, agnostic=True).tolist() == [0]
    assert nms(boxes, scores, classes, 0.5, 1).tolist() == [0]
    assert nms(boxes[:0], scores[:0], classes[:0], 0.5, 100).tolist() == []


@pytest.mark.parametrize('dtype,scale,zp', [(np.int8, 1 / 255, -128), (np.uint8, 1 / 255, 0),
                                            (np.int8, 0.07, 3)])
def test_raw_threshold_equals_thresholding_dequantised_values(dtype, scale, zp):
    rng = np.random.default_rng(0)
    real = rng.uniform(-2, 2, (1, 5, 8, 8)).astype(np.float32)
    q = quantize(real, scale, zp, dtype)
    plane = Plane(q, channels_last=False)
    deq = q.dequantize().reshape(5, 64)
    for thr in (-1.0, 0.0, 0.25, 0.5, 0.99, 5.0):
        expected = np.flatnonzero((deq >= thr).any(axis=0))
        np.testing.assert_array_equal(plane.cells_at_least(thr), expected)


def test_per_channel_dequantisation():
    data = np.arange(12, dtype=np.int32).reshape(1, 1, 4, 3)
    q = QuantizedTensor(data, np.array([1.0, 0.5, 0.25]), 0, axis=-1)
    np.testing.assert_allclose(q.dequantize()[0, 0, 1], [3, 2, 1.25])
    with pytest.raises(ValueError, match='channel'):
        QuantizedTensor(data, np.array([1.0, 0.5]), 0, axis=3)


def test_decoder_is_bound_once_and_reused():
    outs = make_outputs('rknn', random_objects(5, 80, seed=9), 80)
    binding = match_layout([o.shape for o in outs], (640, 640))
    decoder = Decoder(binding)
    first = decoder(outs, None, DecodeOptions())
    second = decoder(outs, None, DecodeOptions(confidence_threshold=0.99))
    assert len(first) == 5 and len(second) == 0


def test_invalid_decode_options_are_rejected():
    with pytest.raises(ValueError, match='confidence_threshold'):
        DecodeOptions(confidence_threshold=1.5)
    with pytest.raises(ValueError, match='max_detections'):
        DecodeOptions(max_detections=0)


@pytest.mark.parametrize('max_det', [1, 5, 50, 5000])
def test_nms_on_the_best_candidates_equals_full_nms(max_det):
    """The top-K shortcut keeps exactly what a full greedy NMS keeps, in the same order."""
    import cv2
    rng = np.random.default_rng(max_det)
    xy = rng.uniform(0, 600, (3000, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 120, (3000, 2))], axis=1).astype(np.float32)
    scores = rng.uniform(0.25, 1.0, 3000).astype(np.float32)
    classes = rng.integers(0, 3, 3000).astype(np.int32)
    ours = nms(boxes, scores, classes, 0.45, max_det)
    span = float(boxes.max()) + 1.0
    shifted = boxes + (classes * span)[:, None]
    shifted[:, 2:] -= shifted[:, :2]
    full = np.asarray(cv2.dnn.NMSBoxes(shifted.tolist(), scores.tolist(), 0.0, 0.45)).reshape(-1)
    np.testing.assert_array_equal(ours, full[:max_det])


def _plane_cases():
    """(tensor, channels_last, threshold): every path of Plane.cells_at_least."""
    rng = np.random.default_rng(11)
    cases = []
    for cells, channels in ((400, 80), (6400, 80), (1600, 3)):   # small, large (vertical), few
        for last in (True, False):
            shape = (1, 80, cells // 80, channels) if last else (1, channels, 80, cells // 80)
            real = rng.normal(-6.0, 1.5, shape).astype(np.float32)
            flat = real.reshape(-1)
            flat[rng.choice(flat.size, 30, replace=False)] = rng.uniform(0.0, 3.0, 30)
            flat[rng.choice(flat.size, 5, replace=False)] = np.nan    # a broken output
            cases.append((real, last, 0.0))
            cases.append((quantize(np.nan_to_num(real), 0.05, 10), last, 0.0))
            cases.append((real, last, -7.0))            # a flood: most cells pass
    return cases


@pytest.mark.parametrize('tensor, last, thr', _plane_cases())
def test_cells_at_least_equals_a_full_comparison(tensor, last, thr):
    """Every scan path (vertical, flat, flood, one channel) finds exactly the passing cells."""
    real = tensor.dequantize() if isinstance(tensor, QuantizedTensor) else tensor
    per_cell = real[0].reshape(-1, real.shape[-1]) if last else \
        real[0].reshape(real.shape[1], -1).T
    with np.errstate(invalid='ignore'):
        expected = np.flatnonzero((per_cell >= thr).any(axis=1))
    np.testing.assert_array_equal(Plane(tensor, last).cells_at_least(thr), expected)
    one = Plane(tensor, last, slice(1, 2))                      # a single channel
    with np.errstate(invalid='ignore'):
        single = np.flatnonzero(per_cell[:, 1] >= thr)
    np.testing.assert_array_equal(one.cells_at_least(thr), single)


@pytest.mark.parametrize('last', [True, False])
def test_hits_at_least_lists_every_entry_cell_major(last):
    rng = np.random.default_rng(12)
    real = rng.normal(-5.0, 1.0, (1, 40, 40, 9) if last else (1, 9, 40, 40)).astype(np.float32)
    per_cell = real[0].reshape(-1, 9) if last else real[0].reshape(9, -1).T
    per_cell[rng.choice(1600, 25, replace=False), rng.integers(0, 9, 25)] = 1.0
    for tensor in (real, quantize(real, 0.04, -3)):
        values = tensor.dequantize() if isinstance(tensor, QuantizedTensor) else real
        per = values[0].reshape(-1, 9) if last else values[0].reshape(9, -1).T
        cells, channels = Plane(tensor, last, slice(1, 9, 3)).hits_at_least(0.5)
        want = np.argwhere(per[:, 1:9:3] >= 0.5)              # row-major: cell, then channel
        np.testing.assert_array_equal(np.stack([cells, channels], axis=1), want)


def test_dfl_distances_are_the_softmax_expectation_even_for_wide_logits():
    from edge_perception.decoders.anchor_free import dfl_distances
    rng = np.random.default_rng(13)
    logits = rng.normal(0.0, 3.0, (50, 64))
    logits[7] *= 40.0                       # bins spanning hundreds: exp overflows unshifted
    logits[8, :16] -= 200.0                 # one side far below the others
    bins = logits.reshape(-1, 4, 16)
    p = np.exp(bins - bins.max(axis=2, keepdims=True))
    want = (p * np.arange(16)).sum(axis=2) / p.sum(axis=2)
    got = dfl_distances(logits.astype(np.float32), 16)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=2e-4)
    assert dfl_distances(np.zeros((0, 64), np.float32), 16).shape == (0, 4)


@pytest.mark.parametrize('max_det', [3, 5000])
def test_nms_with_tied_scores_keeps_opencvs_order(max_det):
    """Ties (scores in steps of 0.1) are ordered as OpenCV's stable sort orders them."""
    import cv2
    rng = np.random.default_rng(14)
    xy = rng.uniform(0, 300, (400, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 80, (400, 2))], axis=1).astype(np.float32)
    scores = np.round(rng.uniform(0.3, 1.0, 400), 1).astype(np.float32)
    classes = rng.integers(0, 2, 400).astype(np.int32)
    span = float(boxes.max()) + 1.0
    shifted = boxes.astype(np.float64) + (classes * span)[:, None]
    shifted[:, 2:] -= shifted[:, :2]
    full = np.asarray(cv2.dnn.NMSBoxes(shifted.tolist(), scores.tolist(), 0.0, 0.45)).reshape(-1)
    np.testing.assert_array_equal(nms(boxes, scores, classes, 0.45, max_det), full[:max_det])
