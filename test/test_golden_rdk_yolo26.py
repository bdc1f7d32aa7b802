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
Our YOLO26 RDK layouts against rdk_model_zoo's own YOLO26 post-processing.

test/golden/rdk_yolo26/generator.py (which knows nothing of edge_perception) rebuilds each
case's raw BPU outputs from the seeds in cases.json; the golden JSON files hold what the zoo's
runtime/python/yolo26_det.py and yolo26_obb.py computed for exactly those tensors (README.md
there): their candidates (every cell above the threshold, decoded) and their final detections
(after their NMS). Our layouts are recognised from the shapes alone and decoded with the zoo's
threshold; top-k without NMS (the one-to-one head, as ultralytics predicts it) must give the
zoo's candidates exactly (classes, scores within 1e-4, boxes within 1e-3 px; oriented boxes by
their corners, cv2.boxPoints of the zoo's rotated rectangles), and the zoo's NMS only removes
boxes: its final detections are ours minus the overlaps it suppressed.

The angle: ultralytics' OBB26 head (8.4) emits radians (its dist2rbox and loss read the raw
convolution), and so do we; the zoo's yolo26_obb.py reads (sigmoid(v) - 0.5) * pi. The
comparison gives our decoder the zoo's reading of each angle as radians; a test pins that the
two readings differ, so neither convention can be swapped in silently.
"""

import importlib.util
import json
import math
import os

import cv2
from edge_perception.decoders import decode, OrientedDetections
from edge_perception.layouts import match_layout
import numpy as np
import pytest

from .helpers import REPO_ROOT

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rdk_yolo26')
SCORE_TOL = 1e-4
BOX_TOL = 1e-3      # px: float32 vs the zoo's float64 arithmetic
LAYOUT = {'yolo26_det': 'rdk_yolo26', 'yolo26_obb': 'rdk_yolo26_obb'}


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        'rdk_yolo26_golden_generator', os.path.join(GOLDEN, 'generator.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
with open(os.path.join(GOLDEN, 'cases.json')) as _f:
    CASES = {c['name']: c for c in json.load(_f)['cases']}


def _case(name):
    """(case, golden record, outputs) after checking the tensors are the vendor's."""
    case = CASES[name]
    with open(os.path.join(GOLDEN, f'{name}.json')) as f:
        gold = json.load(f)
    outputs, planted = generator.outputs_for(case)
    for i, (mine, theirs) in enumerate(zip(generator.fingerprint(outputs), gold['tensors'])):
        assert mine[0] == theirs[0], f'output {i} shape changed'
        assert mine[1] == pytest.approx(theirs[1], rel=1e-6, abs=1e-3), (
            f'output {i} of {name} is not the tensor the golden result was made from: '
            "the generator or numpy's random stream changed; regenerate (README.md)")
    assert len(outputs) == len(gold['tensors'])
    return case, gold, outputs, planted


def _zoo_angle_as_radians(outputs):
    """Return the zoo's reading of the angle outputs, (sigmoid(v) - 0.5) * pi, in radians."""
    return [(1.0 / (1.0 + np.exp(-o)) - 0.5) * math.pi if o.shape[-1] == 1 else o
            for o in outputs]


def _decode(case, outputs, max_detections=300):
    return decode(outputs, input_size=tuple(case['input_hw']),
                  confidence_threshold=case['score_thres'], max_detections=max_detections)


def _corners(xywhr):
    """cv2's corners of a rotated rectangle (the zoo hands these to cv2.dnn.NMSBoxesRotated)."""
    cx, cy, w, h, a = xywhr
    return cv2.boxPoints(((cx, cy), (w, h), math.degrees(a)))


def _corner_error(ours, theirs):
    """Largest distance from one of their corners to the nearest of ours (order-free)."""
    return max(float(np.min(np.linalg.norm(ours - p, axis=1))) for p in theirs)


def _match(det, gold, tol, key):
    """Pair every golden record with one detection of ours; return the unpaired of ours."""
    free = set(range(len(det)))
    for g in sorted(gold, key=lambda r: -r['score']):
        cands = [i for i in free if det.class_id[i] == g['class']
                 and abs(float(det.confidence[i]) - g['score']) < SCORE_TOL]
        assert cands, f'no detection of ours for the record of the zoo: {g}'
        errs = {i: key(i, g) for i in cands}
        best = min(errs, key=errs.get)
        assert errs[best] < tol, f'box {errs[best]:.4f} px from the record of the zoo: {g}'
        free.discard(best)
    return sorted(free)


def _box_error(det):
    if isinstance(det, OrientedDetections):
        return lambda i, g: _corner_error(det.corners[i], _corners(g['xywhr']))
    return lambda i, g: float(np.abs(det.xyxy[i] - np.asarray(g['box'])).max())


@pytest.mark.parametrize('name', sorted(CASES))
def test_recognised_from_the_shapes(name):
    case, _, outputs, _ = _case(name)
    binding = match_layout([o.shape for o in outputs], tuple(case['input_hw']))
    assert binding.layout.name == LAYOUT[case['head']], binding.describe()
    assert binding.num_classes == case['num_classes']
    assert binding.reg_max == 1


@pytest.mark.parametrize('name', sorted(CASES))
def test_candidates_are_the_zoos(name):
    case, gold, outputs, _ = _case(name)
    if case['head'] == 'yolo26_obb':
        outputs = _zoo_angle_as_radians(outputs)
    det = _decode(case, outputs)
    assert len(gold['candidates']) >= 8, 'the case is vacuous'
    assert len(det) == len(gold['candidates']), (len(det), len(gold['candidates']))
    assert not _match(det, gold['candidates'], BOX_TOL, _box_error(det))
    assert list(det.confidence) == sorted(det.confidence, reverse=True)    # top-k order


@pytest.mark.parametrize('name', sorted(CASES))
def test_the_zoos_nms_only_removes_overlaps(name):
    """Their final detections are among ours; what their NMS removed overlaps a kept box."""
    case, gold, outputs, _ = _case(name)
    if case['head'] == 'yolo26_obb':
        outputs = _zoo_angle_as_radians(outputs)
    det = _decode(case, outputs)
    if case['head'] == 'yolo26_det':      # integer pixels (int() of the clipped box)
        extra = _match(det, gold['detections'], 1.0, _box_error(det))
    else:
        extra = _match(det, gold['detections'], BOX_TOL, _box_error(det))
    assert len(extra) == len(gold['candidates']) - len(gold['detections'])
    kept = [i for i in range(len(det)) if i not in extra]
    for i in extra:
        if isinstance(det, OrientedDetections):
            overlap = [cv2.rotatedRectangleIntersection(
                ((float(det.xywhr[i][0]), float(det.xywhr[i][1])),
                 (float(det.xywhr[i][2]), float(det.xywhr[i][3])), math.degrees(det.angle[i])),
                ((float(det.xywhr[k][0]), float(det.xywhr[k][1])),
                 (float(det.xywhr[k][2]), float(det.xywhr[k][3])), math.degrees(det.angle[k])))[0]
                for k in kept if det.confidence[k] > det.confidence[i]]
            assert any(o != cv2.INTERSECT_NONE for o in overlap), det[i]
        else:
            x1, y1, x2, y2 = det.xyxy[i]
            assert any(det.class_id[k] == det.class_id[i] and det.confidence[k] > det.confidence[i]
                       and min(x2, det.xyxy[k][2]) > max(x1, det.xyxy[k][0])
                       and min(y2, det.xyxy[k][3]) > max(y1, det.xyxy[k][1]) for k in kept), det[i]


def test_the_duplicate_is_kept_by_top_k_and_removed_by_the_zoos_nms():
    case, gold, outputs, planted = _case('yolo26_det_640_nc80')
    dup = next(o for o in planted if o.get('duplicate'))
    det = _decode(case, outputs)
    ours = [i for i in range(len(det)) if abs(float(det.confidence[i]) - dup['score']) < 1e-4]
    assert len(ours) == 1 and np.abs(det.xyxy[ours[0]] - dup['box']).max() < BOX_TOL
    assert not any(abs(g['score'] - dup['score']) < 1e-4 for g in gold['detections'])


def test_scores_at_the_threshold_as_the_zoo():
    """0.2505 is kept and 0.2495 is not, at the zoo's 0.25, in both heads."""
    for name in ('yolo26_det_640_nc80', 'yolo26_obb_640_nc15'):
        case, gold, outputs, planted = _case(name)
        det = _decode(case, _zoo_angle_as_radians(outputs))
        scores = [round(float(s), 4) for s in det.confidence]
        assert 0.2505 in scores and 0.2495 not in scores, scores
        assert any(round(g['score'], 4) == 0.2505 for g in gold['candidates'])
        assert not any(round(g['score'], 4) == 0.2495 for g in gold['candidates'])


def test_the_zoos_angle_reading_is_not_ultralytics():
    """Given the raw angle output, we read radians: the zoo's boxes turn by a different angle."""
    case, gold, outputs, _ = _case('yolo26_obb_640_nc15')
    det = _decode(case, outputs)
    assert len(det) == len(gold['candidates'])
    raw = np.concatenate([o.reshape(-1) for o in outputs if o.shape[-1] == 1])
    worst = max(_corner_error(det.corners[i], _corners(g['xywhr']))
                for i, g in zip(range(len(det)), sorted(gold['candidates'],
                                                        key=lambda r: -r['score'])))
    assert worst > 5.0, 'the raw angle decoded like the zoo: is the angle read as a sigmoid?'
    # our angles are the raw values of the kept cells (radians, ultralytics' OBB26)
    assert all(np.min(np.abs(raw - a)) < 1e-6 for a in det.angle)
