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
Our decoders against rknn_model_zoo's own post-processing for the heads beyond YOLOv5/YOLOv8.

test/golden/rknn_more/generator.py (which knows nothing of edge_perception) rebuilds each case's
raw RKNN outputs from the seeds in cases.json; the golden JSON files hold what the zoo's Python
demos (yolov6, ppyoloe, yolo11, yolov10, yolox, yolov7, yolov8_obb) returned for exactly those
tensors (README.md there). Our decoders recognise the layout (by shape, or by name where the
shapes equal another head's), decode with the vendor's thresholds and must give the same
detections: count, classes, scores within 1e-4, boxes within 0.5 px, OBB angles within 1e-4.
Quantised cases run on the dequantised floats the vendor got and on the raw int8.
"""

import importlib.util
import json
import os

from edge_perception.decoders import decode, OrientedDetections
from edge_perception.layouts import match_layout
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

from .helpers import REPO_ROOT

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rknn_more')
SCORE_TOL = 1e-4
BOX_TOL = 0.5
ANGLE_TOL = 1e-4
# head -> (our layout, whether the shapes name it or the card must)
LAYOUT = {'yolov6': ('rknn_yolov6', True), 'ppyoloe': ('rknn_ppyoloe', True),
          'yolo11': ('rknn', True), 'yolov10': ('rknn_yolov10', False),
          'yolox': ('rknn_yolox', True), 'yolov7': ('rknn_yolov7', False),
          'yolov8_obb': ('rknn_obb', True)}


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        'rknn_more_golden_generator', os.path.join(GOLDEN, 'generator.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
with open(os.path.join(GOLDEN, 'cases.json')) as _f:
    CASES = {c['name']: c for c in json.load(_f)['cases']}
PARAMS = [pytest.param(name, dtype, form, id=f'{name}-{dtype}-{form}')
          for name, case in CASES.items() for dtype in case['dtypes']
          for form in (('float', 'quantized') if dtype == 'int8' else ('float',))]


def _outputs(name, dtype, form):
    """Regenerate the case's outputs; check they are the tensors the vendor was given."""
    case = CASES[name]
    with open(os.path.join(GOLDEN, f'{name}_{dtype}.json')) as f:
        gold = json.load(f)
    floats, quants = generator.outputs_for(case, dtype)
    got = generator.fingerprint(floats)
    assert len(got) == len(gold['fingerprint'])
    for i, (mine, theirs) in enumerate(zip(got, gold['fingerprint'])):
        assert mine['shape'] == theirs['shape'], f'output {i} shape changed'
        assert mine['sum'] == pytest.approx(theirs['sum'], rel=1e-6, abs=1e-3), (
            f'output {i} of {name}/{dtype} is not the tensor the golden result was made from: '
            "the generator or numpy's random stream changed; regenerate (README.md)")
    for q, recorded in zip(quants, gold['quantization']):
        assert (q is None) == (recorded is None)
        if q is not None:
            assert (q[1], q[2]) == (pytest.approx(recorded['scale'], rel=1e-7),
                                    recorded['zero_point'])
    if form == 'quantized':
        return case, gold, [QuantizedTensor(q[0], q[1], q[2]) for q in quants]
    return case, gold, floats


def _pairs(gold_dets, det):
    """Pair each golden detection with ours (same class, closest box and score)."""
    assert len(det) == len(gold_dets), (
        f'{len(det)} detections, the vendor has {len(gold_dets)}:\nours '
        + str(sorted(zip(det.class_id.tolist(), np.round(det.confidence, 4).tolist())))
        + '\nvendor ' + str(sorted((d['class'], round(d['score'], 4)) for d in gold_dets)))
    free, pairs = set(range(len(det))), []
    for gi, g in sorted(enumerate(gold_dets), key=lambda t: -t[1]['score']):
        cands = [i for i in free if det.class_id[i] == g['class']]
        assert cands, f'no detection of class {g["class"]} left for {g}'
        best = min(cands, key=lambda i: np.abs(det.xyxy[i] - g['box']).max()
                   + abs(det.confidence[i] - g['score']))
        free.discard(best)
        pairs.append((g, best))
    return pairs


@pytest.mark.parametrize('name, dtype, form', PARAMS)
def test_zoo_heads_match_vendor(name, dtype, form):
    case, gold, outputs = _outputs(name, dtype, form)
    layout, by_shape = LAYOUT[case['head']]
    shapes = [tuple(o.shape) for o in outputs]
    hw = tuple(case['input_hw'])
    if by_shape:
        assert match_layout(shapes, hw).layout.name == layout
    else:       # the shapes are another head's: recognised as that, this one is named
        assert match_layout(shapes, hw).layout.name != layout
    thr = gold['thresholds']
    det = decode(outputs, input_size=hw, layout=layout if not by_shape else 'auto',
                 confidence_threshold=thr['confidence'], nms_threshold=thr['nms'],
                 max_detections=thr.get('max_detections', 300),
                 agnostic_nms=case.get('agnostic_nms', False))
    gold_dets = gold['detections']
    assert len(gold_dets) >= 8          # the case is not vacuous
    for g, i in _pairs(gold_dets, det):
        assert abs(float(det.confidence[i]) - g['score']) < SCORE_TOL, (g, det[i])
        err = np.abs(det.xyxy[i] - np.asarray(g['box'])).max()
        assert err < BOX_TOL, f'box {det.xyxy[i]} vs vendor {g["box"]} ({err:.3f} px)'
        if 'angle' in g:
            assert isinstance(det, OrientedDetections)
            assert abs(float(det.angle[i]) - g['angle']) < ANGLE_TOL, (g, det[i])
