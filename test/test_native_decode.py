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
The compiled decoder kernels (edge_perception/_native.c) against the numpy rules they replace.

Every candidate of the per-stride DFL, ultralytics dense and YOLOv5 anchor decoders (anchor,
class, score, box) and every NMS decision, over dtypes (int8/uint8/int16/int32
per-channel/float32/float64), both memory orders, score_sum that filters and that does not,
NaN, thresholds on a value exactly, floods of candidates. The vendor goldens and ultralytics
hold both paths too (``decode_path`` in conftest.py runs those modules twice); this file pins
the candidates before NMS, which a golden's final detections can hide (a kernel that lost a
third of the duplicates still passed them).
"""

from edge_perception import native
from edge_perception.decoders import DecodeOptions, Decoder, FAMILIES
from edge_perception.decoders.nms import greedy_nms, nms
from edge_perception.layouts import match_layout
from edge_perception.synthetic import make_outputs, random_objects
from edge_perception.tensors import quantize, QuantizedTensor, shape_of
import numpy as np
import pytest

from .conftest import NATIVE_FIX

KERNELS = native.KERNELS


def test_the_kernels_are_built():
    assert KERNELS is not None, f'{NATIVE_FIX} ({native.problem()})'


TASKS = {'rknn_seg': 'segment', 'rdk_seg': 'segment', 'rdk_pose': 'pose',
         'ultralytics_seg': 'segment', 'ultralytics_pose': 'pose'}


def _binding(outs, layout):
    return match_layout([shape_of(o) for o in outs], (640, 640), 80, layout,
                        task=TASKS.get(layout, 'detect'))


def _objects(layout, n, seed):
    return random_objects(n, 80, seed=seed, num_keypoints=17 if layout in TASKS and
                          TASKS[layout] == 'pose' else 0)


def _both(outs, binding, threshold, monkeypatch):
    """Return (compiled, numpy) candidates and whether the compiled kernel ran."""
    calls = []

    class Spy:

        def dfl_decode(self, *args):
            calls.append(1)
            return KERNELS.dfl_decode(*args)

        def anchor_decode(self, *args):
            calls.append(1)
            return KERNELS.anchor_decode(*args)

    family = FAMILIES[binding.layout.family]
    monkeypatch.setattr(native, 'KERNELS', Spy())
    fast = family(outs, binding, threshold)
    monkeypatch.setattr(native, 'KERNELS', None)
    slow = family(outs, binding, threshold)
    monkeypatch.setattr(native, 'KERNELS', KERNELS)
    return fast, slow, bool(calls)


def assert_same_candidates(fast, slow, min_count=1):
    """Identical anchors and classes; scores and boxes to float rounding (exp, DFL sums)."""
    xyxy, score, class_id, anchor = fast
    assert len(slow[3]) >= min_count
    np.testing.assert_array_equal(anchor, slow[3])
    np.testing.assert_array_equal(class_id, slow[2])
    assert xyxy.dtype == slow[0].dtype and score.dtype == slow[1].dtype
    assert class_id.dtype == slow[2].dtype and anchor.dtype == slow[3].dtype
    assert xyxy.shape == slow[0].shape
    np.testing.assert_allclose(score, slow[1], rtol=3e-7, atol=0)
    np.testing.assert_allclose(xyxy, slow[0], rtol=0, atol=2e-3)


def _as_dtype(tensor, kind, rng):
    """Return the same head in another element type (the real values kept where they fit)."""
    if kind == 'float64':
        return np.asarray(tensor, np.float64)
    if kind == 'uint8':            # int8 -> uint8: the same values, zero point + 128
        return QuantizedTensor((tensor.data.astype(np.int16) + 128).astype(np.uint8),
                               tensor.scale, tensor.zero_point + 128)
    if kind == 'int16':             # 256 steps per int8 step
        return QuantizedTensor(tensor.data.astype(np.int16) * 256 + rng.integers(
            -100, 100, tensor.data.shape).astype(np.int16), tensor.scale / 256,
            tensor.zero_point * 256)
    return tensor


DFL_LAYOUTS = ['rknn', 'rknn_nhwc', 'rdk', 'rknn_seg', 'rdk_seg', 'rdk_pose']


@pytest.mark.parametrize('layout', DFL_LAYOUTS)
@pytest.mark.parametrize('kind', ['float32', 'float64', 'int8', 'uint8', 'int16'])
@pytest.mark.parametrize('score_sum', [True, False])
def test_candidates_equal_the_numpy_decoder(layout, kind, score_sum, monkeypatch):
    """Objects over a lively background (many duplicate candidates), every dtype and order."""
    rng = np.random.default_rng(1)
    quantized = kind in ('int8', 'uint8', 'int16')
    outs = make_outputs(layout, _objects(layout, 20, 2), 80, quantized=quantized,
                        score_sum=score_sum, background=(0.0, 0.3), seed=3)
    outs = [_as_dtype(o, kind, rng) if isinstance(o, (QuantizedTensor, np.ndarray))
            and np.ndim(getattr(o, 'data', o)) == 4 else o for o in outs]
    binding = _binding(outs, layout)
    for threshold in (0.25, 0.29, 0.6):
        fast, slow, ran = _both(outs, binding, threshold, monkeypatch)
        assert ran, 'the compiled kernel did not take these tensors'
        assert_same_candidates(fast, slow, 20 if threshold < 0.5 else 1)


ANCHOR_LAYOUTS = ['rknn_yolov5', 'rdk_yolov5', 'rknn_yolov7']


@pytest.mark.parametrize('layout', ANCHOR_LAYOUTS)
@pytest.mark.parametrize('kind', ['float32', 'float64', 'int8', 'uint8', 'int16'])
def test_anchor_candidates_equal_the_numpy_decoder(layout, kind, monkeypatch):
    """YOLOv5-style heads (objectness pre-filter, anchor boxes), both memory orders."""
    rng = np.random.default_rng(14)
    quantized = kind in ('int8', 'uint8', 'int16')
    outs = make_outputs(layout, random_objects(20, 80, seed=15), 80, quantized=quantized,
                        background=(0.0, 0.3), seed=16)
    outs = [_as_dtype(o, kind, rng) for o in outs]
    binding = _binding(outs, layout)
    for threshold in (0.25, 0.6):
        fast, slow, ran = _both(outs, binding, threshold, monkeypatch)
        assert ran, 'the compiled kernel did not take these tensors'
        assert_same_candidates(fast, slow, 20 if threshold < 0.5 else 1)


@pytest.mark.parametrize('layout', ['rknn_yolov5', 'rdk_yolov5'])
def test_anchor_heads_with_nan_classes_and_boxes(layout, monkeypatch):
    """A NaN class score drops its slot; a NaN box channel keeps it with a NaN box (numpy)."""
    outs = make_outputs(layout, random_objects(20, 80, seed=17), 80, background=(0.0, 0.3))
    binding = _binding(outs, layout)
    rng = np.random.default_rng(18)
    for tensor in outs:
        flat = tensor.reshape(-1)
        flat[rng.choice(flat.size, 3000, replace=False)] = np.nan
    fast, slow, ran = _both(outs, binding, 0.25, monkeypatch)
    assert ran
    np.testing.assert_array_equal(fast[3], slow[3])
    np.testing.assert_array_equal(np.isnan(fast[0]), np.isnan(slow[0]))
    finite = ~np.isnan(slow[0])
    np.testing.assert_allclose(fast[0][finite], slow[0][finite], atol=2e-3)
    assert len(slow[3]) >= 10


def test_int32_box_heads_with_per_channel_scales(monkeypatch):
    outs = make_outputs('rdk', random_objects(15, 80, seed=5), 80, int32_boxes=True,
                        background=(0.0, 0.3))
    assert outs[1].per_channel
    fast, slow, ran = _both(outs, _binding(outs, 'rdk'), 0.25, monkeypatch)
    assert ran
    assert_same_candidates(fast, slow, 15)


@pytest.mark.parametrize('layout', ['rknn', 'rdk'])
def test_a_flood_of_candidates_and_a_score_sum_that_does_not_filter(layout, monkeypatch):
    """Every cell above the threshold: > 1/8 pass score_sum, the full scan decides."""
    outs = make_outputs(layout, [], 80, background=(0.3, 0.31))
    fast, slow, ran = _both(outs, _binding(outs, layout), 0.25, monkeypatch)
    assert ran
    assert_same_candidates(fast, slow, 8000)


@pytest.mark.parametrize('layout', ['rknn', 'rknn_nhwc', 'rdk'])
def test_nan_scores_drop_their_cell_as_numpy_does(layout, monkeypatch):
    outs = make_outputs(layout, random_objects(20, 80, seed=6), 80, background=(0.0, 0.3))
    binding = _binding(outs, layout)
    rng = np.random.default_rng(7)
    for level in binding.levels:
        cls = outs[level.outputs['cls']]
        flat = cls.reshape(-1)
        flat[rng.choice(flat.size, 200, replace=False)] = np.nan
    fast, slow, ran = _both(outs, binding, 0.25, monkeypatch)
    assert ran
    assert_same_candidates(fast, slow, 10)


@pytest.mark.parametrize('layout', ['rknn', 'rdk'])
def test_a_threshold_exactly_on_a_score_keeps_it(layout, monkeypatch):
    """A score equal to the threshold passes (real >= threshold, float32 as numpy compares)."""
    outs = make_outputs(layout, random_objects(10, 80, seed=8), 80, background=(0.0, 0.3))
    binding = _binding(outs, layout)
    _, slow, _ = _both(outs, binding, 0.25, monkeypatch)
    for value in slow[1][:5]:
        fast, exact, ran = _both(outs, binding, float(value), monkeypatch)
        assert ran
        assert_same_candidates(fast, exact)
        if binding.layout.scores == 'sigmoid':     # logits: the cell's logit decides
            assert float(value) in exact[1].tolist() and float(value) in fast[1].tolist()


def test_four_distance_boxes_and_17_bin_dfl(monkeypatch):
    """Random rknn_yolov6 (ltrb: four distances) and rknn_ppyoloe (17 bins) heads."""
    rng = np.random.default_rng(9)
    for layout, box_channels in (('rknn_yolov6', 4), ('rknn_ppyoloe', 68)):
        outs = []
        for stride in (8, 16, 32):
            cells = (640 // stride, 640 // stride)
            outs += [rng.uniform(0, 20 if box_channels == 4 else 3,
                                 (1, box_channels) + cells).astype(np.float32),
                     rng.uniform(0, 0.3, (1, 80) + cells).astype(np.float32)]
        binding = _binding(outs, layout)
        fast, slow, ran = _both(outs, binding, 0.29, monkeypatch)
        assert ran
        assert_same_candidates(fast, slow, 10)


def test_tensors_the_kernel_does_not_take_go_to_numpy(monkeypatch):
    """Per-channel class scales, a strided view, float16: the numpy path, the same result."""
    outs = make_outputs('rknn', random_objects(10, 80, seed=10), 80, background=(0.0, 0.3))
    binding = _binding(outs, 'rknn')
    cls_index = binding.levels[0].outputs['cls']
    variants = []
    per_channel = list(outs)
    per_channel[cls_index] = QuantizedTensor(
        np.round(outs[cls_index] * 255).astype(np.int16), np.full(80, 1 / 255), 0, axis=1)
    variants.append(per_channel)
    strided = list(outs)
    strided[cls_index] = np.asfortranarray(outs[cls_index])
    variants.append(strided)
    half = list(outs)
    half[cls_index] = outs[cls_index].astype(np.float16)
    variants.append(half)
    for variant in variants:
        fast, slow, ran = _both(variant, binding, 0.25, monkeypatch)
        assert not ran
        assert_same_candidates(fast, slow, 10)


@pytest.mark.parametrize('layout', ['ultralytics', 'ultralytics_seg', 'ultralytics_pose'])
@pytest.mark.parametrize('kind', ['float32', 'float64', 'uint8'])
def test_dense_candidates_equal_the_numpy_decoder(layout, kind, monkeypatch):
    """The ultralytics (1, 4+nc[+extra], A) head: class rows scanned, cx cy w h boxes."""
    outs = make_outputs(layout, _objects(layout, 20, 12), 80, background=(0.0, 0.3), seed=4)
    if kind == 'float64':
        outs[0] = outs[0].astype(np.float64)
    elif kind == 'uint8':       # pixels and scores on one grid: 1/255 steps up to 1
        outs[0] = quantize(np.minimum(outs[0], 1.0), 1 / 255, 0, np.uint8)
    binding = _binding(outs, layout)
    for threshold in (0.25, 0.6):
        fast, slow, ran = _both(outs, binding, threshold, monkeypatch)
        assert ran
        assert_same_candidates(fast, slow, 15 if threshold < 0.5 else 1)


def test_a_transposed_dense_head_goes_to_numpy(monkeypatch):
    outs = make_outputs('ultralytics', random_objects(10, 80, seed=13), 80)
    transposed = [np.ascontiguousarray(outs[0].transpose(0, 2, 1))]
    binding = _binding(transposed, 'ultralytics')
    assert binding.dense_transposed
    fast, slow, ran = _both(transposed, binding, 0.25, monkeypatch)
    assert not ran
    assert_same_candidates(fast, slow, 10)


@pytest.mark.parametrize('layout', ['rknn_seg', 'rdk_seg', 'rdk_pose', 'rdk', 'ultralytics',
                                    'ultralytics_seg', 'ultralytics_pose', 'rknn_yolov5',
                                    'rdk_yolov5'])
def test_the_decoder_gives_the_same_detections_masks_and_keypoints(layout, monkeypatch):
    # the default quiet background: over a lively one, scores a float32 ulp apart (exp)
    # may swap two of hundreds of background detections in the output order
    outs = make_outputs(layout, _objects(layout, 12, 11), 80)
    decoder = Decoder(_binding(outs, layout), input_hw=(640, 640))
    options = DecodeOptions(0.25, 0.45, 300)
    fast = decoder(outs, None, options)
    monkeypatch.setattr(native, 'KERNELS', None)
    slow = decoder(outs, None, options)
    assert len(fast) == len(slow) >= 12
    np.testing.assert_array_equal(fast.class_id, slow.class_id)
    np.testing.assert_allclose(fast.xyxy, slow.xyxy, atol=2e-3)
    np.testing.assert_allclose(fast.confidence, slow.confidence, rtol=3e-7)
    if slow.masks is not None:
        np.testing.assert_array_equal(fast.masks.dense(), slow.masks.dense())
    if slow.keypoints is not None:
        np.testing.assert_allclose(fast.keypoints, slow.keypoints, atol=1e-4)
    # a class filter runs between decode and NMS: the unfused compiled path
    wanted = DecodeOptions(0.25, 0.45, 300, classes=tuple(int(c) for c in slow.class_id[:3]))
    filtered = decoder(outs, None, wanted)
    monkeypatch.setattr(native, 'KERNELS', KERNELS)
    np.testing.assert_array_equal(decoder(outs, None, wanted).class_id, filtered.class_id)
    assert set(filtered.class_id.tolist()) == set(wanted.classes)


def _scene(rng, n, n_classes):
    """Clustered boxes with ties, duplicates, empty boxes, zero and NaN scores."""
    centres = rng.uniform(0, 600, (max(n // 4, 1), 2))
    xy = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 8, (n, 2))
    wh = rng.uniform(0, 80, (n, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1)
    boxes[rng.random(n) < 0.05, 2] = boxes[rng.random(n) < 0.05, 0][:1].sum()   # empty
    copies = rng.random(n) < 0.1            # exact duplicates: an overlap of exactly 1
    boxes[copies] = boxes[rng.integers(0, n, int(copies.sum()))]
    scores = rng.choice(np.linspace(0.05, 1.0, 12), n)       # many ties
    scores[rng.random(n) < 0.05] = 0.0
    scores[rng.random(n) < 0.03] = np.nan
    return boxes, scores, rng.integers(0, n_classes, n).astype(np.int32)


@pytest.mark.parametrize('dtype', [np.float32, np.float64])
@pytest.mark.parametrize('agnostic', [False, True])
def test_nms_keeps_what_the_python_greedy_pass_keeps(dtype, agnostic, monkeypatch):
    """The same rule: every kept index in the same order, thousands of random scenes."""
    rng = np.random.default_rng(12)
    for trial in range(300):
        n = int(rng.integers(0, 400 if trial % 10 == 0 else 60))
        boxes, scores, classes = _scene(rng, max(n, 1), int(rng.integers(1, 6)))
        boxes, scores = boxes.astype(dtype), scores.astype(dtype)
        iou = float(rng.choice([0.0, 0.3, 0.45, 0.7, 1.0]))
        max_det = int(rng.choice([1, 5, 300]))
        want = greedy_nms(boxes.tolist(), scores.tolist(),
                          [0] * len(scores) if agnostic else classes.tolist(), iou, max_det)
        got = nms(boxes, scores, classes, iou, max_det, agnostic)
        assert got.dtype == np.intp
        np.testing.assert_array_equal(got, want)
        monkeypatch.setattr(native, 'KERNELS', None)
        numpy_path = nms(boxes, scores, classes, iou, max_det, agnostic)
        monkeypatch.setattr(native, 'KERNELS', KERNELS)
        # the numpy path hands large scenes to OpenCV (float32 overlaps): the same boxes
        # unless an overlap sits within float rounding of the threshold
        if len(scores) <= 96:
            np.testing.assert_array_equal(got, numpy_path)


def test_nms_input_errors_are_reported():
    with pytest.raises(ValueError, match='n, 4'):
        KERNELS.greedy_nms(np.zeros((3, 4), np.float32), np.zeros(2, np.float32), None,
                           0.5, 10)
    with pytest.raises(TypeError, match='format'):
        KERNELS.greedy_nms(np.zeros((2, 4), np.complex64), np.zeros(2, np.float32), None,
                           0.5, 10)


def test_a_stale_build_is_refused_and_named(monkeypatch):
    """An in-place build from an older checkout: numpy decodes, doctor names the file."""
    import types
    import edge_perception
    stale = types.ModuleType('edge_perception._native')
    stale.VERSION, stale.__file__ = native.VERSION - 1, '/old/_native.so'
    monkeypatch.delattr(edge_perception, '_native', raising=False)
    monkeypatch.setitem(__import__('sys').modules, 'edge_perception._native', stale)
    monkeypatch.setattr(native, 'KERNELS', None)
    assert native.load() is None
    assert 'stale build' in native.problem() and '/old/_native.so' in native.problem()
