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
Our decoders against rknn_model_zoo's own post-processing (golden results in test/golden/rknn).

test/golden/rknn/generator.py (which knows nothing of edge_perception) rebuilds each case's raw
RKNN outputs from the seeds in cases.json; the golden JSON files hold what the vendor's Python
demos (yolov8, yolov5, yolov8_seg, yolov8_pose, resnet/mobilenet) returned for exactly those
tensors (README.md there). Our decoders recognise the layout from the shapes, decode with the
vendor's thresholds and must give the same detections: count, classes, scores within 1e-4,
boxes within 0.5 px (input pixels, and source pixels through the vendor's letterbox), masks
with IoU >= 0.98, keypoints as the vendor's (which floors x, y to whole pixels).
Quantised cases run twice: on the dequantised floats the vendor got, and on the raw int8
as ``QuantizedTensor`` (per-tensor scale and zero point).
"""

import importlib.util
import json
import os

import cv2
from edge_perception.decoders import decode
from edge_perception.layouts import match_layout
from edge_perception.preprocess import letterbox
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

from .helpers import REPO_ROOT

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rknn')
SCORE_TOL = 1e-4
BOX_TOL = 0.5
MASK_IOU = 0.98
MASK_IOU_MIN_AREA = 2000


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        'rknn_golden_generator', os.path.join(GOLDEN, 'generator.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
with open(os.path.join(GOLDEN, 'cases.json')) as _f:
    CASES = {c['name']: c for c in json.load(_f)['cases']}


def _params(heads):
    out = []
    for name, case in CASES.items():
        if case['head'] not in heads:
            continue
        for dtype in case['dtypes']:
            forms = ('float', 'quantized') if dtype == 'int8' else ('float',)
            out += [pytest.param(name, dtype, form, id=f'{name}-{dtype}-{form}')
                    for form in forms]
    return out


def _golden(name, dtype):
    path = os.path.join(GOLDEN, f'{name}_{dtype}.json')
    with open(path) as f:
        return json.load(f)


def _outputs(name, dtype, form):
    """Regenerate the case's outputs; check they are the tensors the vendor was given."""
    case, gold = CASES[name], _golden(name, dtype)
    floats, quants = generator.outputs_for(case, dtype)
    got = generator.fingerprint(floats)
    for i, (mine, theirs) in enumerate(zip(got, gold['fingerprint'])):
        assert mine['shape'] == theirs['shape'], f'output {i} shape changed'
        assert mine['sum'] == pytest.approx(theirs['sum'], rel=1e-6, abs=1e-3), (
            f'output {i} of {name}/{dtype} differs from the tensor the golden result was made '
            "from: the generator or numpy's random stream changed; regenerate (README.md)")
    assert len(got) == len(gold['fingerprint'])
    for q, recorded in zip(quants, gold['quantization']):
        if q is None:
            assert recorded is None
        else:
            assert (q[1], q[2]) == (pytest.approx(recorded['scale'], rel=1e-7),
                                    recorded['zero_point'])
    if form == 'quantized':
        return case, gold, [f if q is None else QuantizedTensor(q[0], q[1], q[2])
                            for f, q in zip(floats, quants)]
    return case, gold, floats


def _match(gold_dets, boxes, xyxy, score, class_id):
    """Pair each golden detection with ours (same class, closest box); return the pairs."""
    assert len(xyxy) == len(gold_dets), (
        f'{len(xyxy)} detections, the vendor has {len(gold_dets)}:\nours '
        + str(sorted(zip(class_id.tolist(), np.round(score, 4).tolist())))
        + '\nvendor ' + str(sorted((d['class'], round(d['score'], 4)) for d in gold_dets)))
    free = set(range(len(xyxy)))
    pairs = []
    for gi, det in sorted(enumerate(gold_dets), key=lambda t: -t[1]['score']):
        cands = [i for i in free if class_id[i] == det['class']]
        assert cands, f'no detection of class {det["class"]} left for {det}'
        best = min(cands, key=lambda i: np.abs(xyxy[i] - boxes[gi]).max()
                   + abs(score[i] - det['score']))
        free.discard(best)
        pairs.append((gi, best))
    return pairs


def _check_boxes(gold_dets, boxes, det, what):
    pairs = _match(gold_dets, np.asarray(boxes, np.float64), det.xyxy, det.confidence,
                   det.class_id)
    for gi, oi in pairs:
        g = gold_dets[gi]
        assert abs(float(det.confidence[oi]) - g['score']) < SCORE_TOL, (what, g, det[oi])
        err = np.abs(det.xyxy[oi] - np.asarray(boxes[gi])).max()
        assert err < BOX_TOL, f'{what}: box {det.xyxy[oi]} vs vendor {boxes[gi]} ({err:.3f} px)'
    return pairs


def _our_letterbox(case, gold):
    sh, sw = gold['letterbox']['source_hw']
    h, w = case['input_hw']
    _, box = letterbox(np.zeros((sh, sw, 3), np.uint8), w, h)
    return box


def _decode(case, gold, outputs, task, lb=None, **kw):
    thr = gold['thresholds']
    return decode(outputs, input_size=tuple(case['input_hw']), task=task, letterbox=lb,
                  confidence_threshold=thr['confidence'], nms_threshold=thr['nms'],
                  max_detections=thr.get('max_detections', 300), **kw)


@pytest.mark.parametrize('name, dtype, form', _params(('yolov8', 'yolov5')))
def test_detect_matches_vendor(name, dtype, form):
    case, gold, outputs = _outputs(name, dtype, form)
    det = _decode(case, gold, outputs, 'detect')
    want = {'yolov8': 'rknn', 'yolov5': 'rknn_yolov5'}[case['head']]
    assert det is not None
    _check_boxes(gold['detections'], [d['box'] for d in gold['detections']], det, 'input px')
    assert len(gold['detections']) >= 5        # the case is not vacuous
    if 'letterbox' in gold:
        src = _decode(case, gold, outputs, 'detect', _our_letterbox(case, gold))
        _check_boxes(gold['detections'], gold['letterbox']['boxes'], src, 'source px')
    shapes = [tuple(o.shape) for o in outputs]
    assert match_layout(shapes, tuple(case['input_hw'])).layout.name == want


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return 1.0 if union == 0 else np.logical_and(a, b).sum() / union


def _check_mask(ours, vendor, what):
    """
    Check one mask against the vendor's.

    IoU >= 0.98 for masks of MASK_IOU_MIN_AREA pixels or more, and for every mask: each pixel
    where we differ lies on the vendor mask's edge (within 1 px of its boundary).

    A 0.5 px disagreement along the edge costs a small mask more than 2 % IoU (a box mostly in
    the letterbox pad keeps a few hundred source pixels), hence the area floor for the IoU.
    """
    kernel = np.ones((3, 3), np.uint8)
    v = vendor.astype(np.uint8)
    band = cv2.dilate(v, kernel).astype(bool) & ~cv2.erode(v, kernel).astype(bool)
    stray = (ours ^ vendor) & ~band
    assert not stray.any(), f'{what}: {int(stray.sum())} pixels differ away from the mask edge'
    if vendor.sum() >= MASK_IOU_MIN_AREA:
        iou = _iou(ours, vendor)
        assert iou >= MASK_IOU, f'{what}: IoU {iou:.4f} with the vendor'


def _masks(gold, key):
    with np.load(os.path.join(GOLDEN, gold['masks_file'])) as data:
        packed = data[key]
    n = packed.shape[0]
    width = gold['mask_shape'][2] if key == 'masks' else gold['letterbox']['source_hw'][1]
    return np.unpackbits(packed, axis=-1, count=width).astype(bool).reshape(n, -1, width)


@pytest.mark.parametrize('name, dtype, form', _params(('yolov8_seg',)))
def test_segment_matches_vendor(name, dtype, form):
    case, gold, outputs = _outputs(name, dtype, form)
    det = _decode(case, gold, outputs, 'segment')
    gold_dets = gold['detections']
    pairs = _check_boxes(gold_dets, [d['box'] for d in gold_dets], det, 'input px')
    assert len(gold_dets) >= 5
    vendor = _masks(gold, 'masks')
    assert det.masks.shape == vendor.shape
    for gi, oi in pairs:
        assert vendor[gi].sum() > 500, 'a golden mask is (nearly) empty: the case is weak'
        _check_mask(det.masks[oi], vendor[gi], f'mask {gi}')
    if 'letterbox' in gold:
        src = _decode(case, gold, outputs, 'segment', _our_letterbox(case, gold))
        pairs = _check_boxes(gold_dets, gold['letterbox']['boxes'], src, 'source px')
        vendor_src = _masks(gold, 'source_masks')
        assert src.masks.shape == vendor_src.shape
        for gi, oi in pairs:
            _check_mask(src.masks[oi], vendor_src[gi], f'source mask {gi}')


def _check_keypoints(ours, vendor, what):
    """Check keypoints: the vendor floors x, y (``keypoint[..., 0:2] // 1``), keeps visibility."""
    ours, vendor = np.asarray(ours, np.float64), np.asarray(vendor, np.float64)
    assert ours.shape == vendor.shape, what
    assert np.all(vendor[:, :2] == np.round(vendor[:, :2])), f'{what}: vendor x, y not floored'
    # ours keep the sub-pixel part: within 0.5 px of the centre of the vendor's whole pixel
    err = np.abs(ours[:, :2] - (vendor[:, :2] + 0.5)).max()
    assert err <= 0.5 + 1e-3, f'{what}: keypoints {err - 0.5:.3f} px outside the pixel'
    assert np.abs(ours[:, 2] - vendor[:, 2]).max() < SCORE_TOL, what


@pytest.mark.parametrize('name, dtype, form', _params(('yolov8_pose',)))
def test_pose_matches_vendor(name, dtype, form):
    case, gold, outputs = _outputs(name, dtype, form)
    det = _decode(case, gold, outputs, 'pose')
    gold_dets = gold['detections']
    assert len(gold_dets) >= 4
    pairs = _check_boxes(gold_dets, [d['box'] for d in gold_dets], det, 'input px')
    for gi, oi in pairs:
        _check_keypoints(det.keypoints[oi], gold_dets[gi]['keypoints'], f'detection {gi}')
    if 'letterbox' in gold:
        src = _decode(case, gold, outputs, 'pose', _our_letterbox(case, gold))
        lb = gold['letterbox']['detections']
        # the pose demo does not clip its boxes to the image (yolov8's get_real_box does, and
        # so do we): compare with the vendor's boxes clipped to the source
        sh, sw = gold['letterbox']['source_hw']
        clipped = np.clip([d['box'] for d in lb], 0, [sw, sh, sw, sh])
        pairs = _check_boxes(gold_dets, clipped, src, 'source px')
        for gi, oi in pairs:
            # the vendor maps its floored input-pixel keypoints: compare in the same frame
            _check_keypoints(src.keypoints[oi], lb[gi]['keypoints'], f'source {gi}')


@pytest.mark.parametrize('name, dtype, form', _params(('classify',)))
def test_classify_matches_vendor(name, dtype, form):
    case, gold, outputs = _outputs(name, dtype, form)
    # (1, nc) is both the ultralytics export (softmax inside) and RKNN's (logits): the shapes
    # cannot tell them apart, so the vendor hint breaks the tie, as the RKNN backend does.
    top = decode(outputs, task='classify', vendor='rknn', top_k=5)
    assert [int(c) for c in top.class_id] == [t['class'] for t in gold['top5']]
    np.testing.assert_allclose(top.confidence, [t['score'] for t in gold['top5']],
                               atol=SCORE_TOL)
