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
Our decoders against D-Robotics' own post-processing (golden results committed as data).

test/golden/rdk/ holds seeds and planted objects (cases.json), the generator that turns them
into raw RDK head outputs as the vendor's code reads them (generator.py, numpy only), and what
the vendor's postProcess functions (D-Robotics/rdk_model_zoo, see its README.md) returned on
exactly those tensors. Here the tensors are regenerated and decoded by edge_perception, with
the layout recognised from the shapes and the vendor's thresholds, and every vendor result
must come out: same detections and classes, scores within 1e-4, boxes and keypoints within
0.5 px of the vendor's (int-truncated) source-pixel values, masks with IoU >= 0.98.
"""

import hashlib
import importlib.util
import json
import os

from edge_perception import decode, Letterbox, QuantizedTensor
from edge_perception.layouts import match_layout
from edge_perception.tensors import shape_of
import numpy as np
import pytest

from .helpers import REPO_ROOT

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rdk')
_spec = importlib.util.spec_from_file_location('rdk_golden_generator',
                                               os.path.join(GOLDEN, 'generator.py'))
generator = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generator)
CASES = {case['name']: case for case in generator.load_cases(os.path.join(GOLDEN, 'cases.json'))}

TASK = {'detect': 'detect', 'segment': 'segment', 'pose': 'pose', 'yolov5': 'detect',
        'classify': 'classify'}
LAYOUT = {'detect': 'rdk', 'segment': 'rdk_seg', 'pose': 'rdk_pose', 'yolov5': 'rdk_yolov5',
          'classify': 'rdk_cls'}
SCORE_TOL = 1e-4
# The vendor truncates source-pixel coordinates with int(): its value v stands for [v, v + 1).
# Ours must lie within 0.5 px of that interval's centre (+ float32 rounding of ~4000 px).
PX_TOL = 0.5 + 1e-2
MASK_IOU = 0.98
PROTO_FRAME = 4.0        # 640 input / 160 prototypes: one source pixel = one prototype cell


def _golden(name):
    with open(os.path.join(GOLDEN, name + '.json')) as f:
        return json.load(f)


def _params():
    out = []
    for name, case in CASES.items():
        out.append(pytest.param(name, 'float', id=f'{name}-float'))
        if case.get('quantize') == 'int8':
            out.append(pytest.param(name, 'quantized', id=f'{name}-QuantizedTensor'))
    return out


def _outputs(case, form):
    """Return the raw outputs: float32 (dequantised if int8) or QuantizedTensor(int8, scale)."""
    if form == 'quantized':
        return [QuantizedTensor(q, scale, 0) for q, scale in generator.generate(case)]
    return generator.vendor_inputs(case)


def _letterbox(case, gold):
    """Our Letterbox equal to the vendor's mapping back to the source frame."""
    frame = gold['frame']
    src_w, src_h = case['source']
    if case['head'] == 'yolov5':       # vendor: source = input * (source / input), a stretch
        return Letterbox(1.0 / frame['x_scale'], 1.0 / frame['y_scale'], 0, 0, src_w, src_h)
    assert (frame['img_w'], frame['img_h']) == (src_w, src_h)
    return Letterbox(frame['x_scale'], frame['y_scale'], frame['x_shift'], frame['y_shift'],
                     src_w, src_h)


def _decode(case, outputs, letterbox):
    return decode(outputs, input_size=tuple(case['input']), task=TASK[case['head']],
                  letterbox=letterbox, confidence_threshold=case['score_thres'],
                  nms_threshold=case['nms_thres'], agnostic_nms=case['head'] == 'yolov5')


def _by_class_then_score(classes, scores):
    return sorted(range(len(classes)), key=lambda i: (int(classes[i]), -float(scores[i])))


def _within_truncation(ours, vendor):
    """Largest distance of our coordinates from the centres of the vendor's int intervals."""
    return float(np.max(np.abs(np.asarray(ours, np.float64) - (np.asarray(vendor) + 0.5))))


def _mask_canvas(det, size):
    """Place the vendor's prototype-resolution crop mask on the full prototype grid."""
    runs = det['mask_rle']
    flat = np.repeat(np.arange(len(runs)) % 2, runs).astype(bool)
    h, w = det['mask_shape']
    x0, y0 = det['mask_origin']
    canvas = np.zeros(size, bool)
    canvas[y0:y0 + h, x0:x0 + w] = flat.reshape(h, w)
    return canvas


def _iou(a, b):
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


@pytest.mark.parametrize('name', list(CASES))
def test_generator_reproduces_the_vendors_inputs(name):
    # the golden results hold only for the very tensors the vendor's code was run on
    data = b''.join(o.tobytes() for o in generator.vendor_inputs(CASES[name]))
    assert hashlib.sha256(data).hexdigest() == _golden(name)['inputs_sha256']


@pytest.mark.parametrize('name, form', _params())
def test_layout_recognised_from_vendor_shapes(name, form):
    case = CASES[name]
    shapes = [shape_of(o) for o in _outputs(case, form)]
    binding = match_layout(shapes, tuple(case.get('input', (224, 224))),
                           task=TASK[case['head']])
    assert binding.layout.name == LAYOUT[case['head']]
    assert binding.num_classes == case['num_classes']


@pytest.mark.parametrize('name, form', [p for p in _params()
                                        if CASES[p.values[0]]['head'] != 'classify'])
def test_detections_match_vendor(name, form):
    case, gold = CASES[name], _golden(name)
    ours = _decode(case, _outputs(case, form), _letterbox(case, gold))
    vendor = gold['detections']
    assert len(ours.confidence) == len(vendor), (ours.class_id, [d['cls'] for d in vendor])
    order = _by_class_then_score(ours.class_id, ours.confidence)
    vorder = _by_class_then_score([d['cls'] for d in vendor], [d['score'] for d in vendor])
    for i, j in zip(order, vorder):
        want = vendor[j]
        assert ours.class_id[i] == want['cls']
        assert abs(float(ours.confidence[i]) - want['score']) <= SCORE_TOL
        assert _within_truncation(ours.xyxy[i], want['box']) <= PX_TOL, \
            (ours.xyxy[i], want['box'])
        if case['head'] == 'pose':
            kpts = np.asarray(want['keypoints'])
            assert _within_truncation(ours.keypoints[i, :, :2], kpts[:, :2]) <= PX_TOL
            visibility = 1 / (1 + np.exp(-kpts[:, 2]))     # the vendor keeps the logit
            np.testing.assert_allclose(ours.keypoints[i, :, 2], visibility, atol=SCORE_TOL)


@pytest.mark.parametrize('name, form', [p for p in _params()
                                        if CASES[p.values[0]]['head'] == 'segment'])
def test_masks_match_vendor(name, form):
    # The vendor returns each mask at prototype resolution, cropped to int(box * 160 / 640);
    # decoding into a 160x160 "source" frame puts our mask on the same grid.
    case, gold = CASES[name], _golden(name)
    in_h, in_w = case['input']
    size = (in_h // 4, in_w // 4)
    proto_frame = Letterbox(PROTO_FRAME, PROTO_FRAME, 0, 0, size[1], size[0])
    ours = _decode(case, _outputs(case, form), proto_frame)
    vendor = gold['detections']
    assert len(ours.masks) == len(vendor)
    order = _by_class_then_score(ours.class_id, ours.confidence)
    vorder = _by_class_then_score([d['cls'] for d in vendor], [d['score'] for d in vendor])
    ious = [_iou(ours.masks[i], _mask_canvas(vendor[j], size)) for i, j in zip(order, vorder)]
    assert min(ious) >= MASK_IOU, ious


@pytest.mark.parametrize('name, form', [p for p in _params()
                                        if CASES[p.values[0]]['head'] == 'classify'])
def test_top5_matches_vendor(name, form):
    case, gold = CASES[name], _golden(name)
    ours = decode(_outputs(case, form), task='classify', top_k=5)
    assert [int(c) for c in ours.class_id] == [t['cls'] for t in gold['top5']]
    np.testing.assert_allclose(ours.confidence, [t['score'] for t in gold['top5']],
                               atol=SCORE_TOL)
