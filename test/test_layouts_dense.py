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
Plain ONNX forms of the objectness heads give the zoo's detections for the same raw tensors.

The YOLOX repository's ONNX export (``decode_in_inference`` off) is rknn_model_zoo's YOLOX head
before the zoo cut it: per stride (1, 5+nc, H, W) flattened, concatenated and transposed to
(1, anchors, 5+nc) (rknn_model_zoo examples/yolox/README.md). The YOLOv5/YOLOv7 repositories'
exports decode the boxes inside the model (their Detect layer: per stride
(1, 3, H, W, 5+nc), xy = (2s - 0.5 + cell) x stride, wh = (2s)^2 x anchor, concatenated to
(1, 3 x cells, 5+nc)). Built from the zoo golden cases' tensors (test/golden/rknn_more), both
forms must decode to the zoo's own golden detections.
"""

import importlib.util
import json
import os

from edge_perception.decoders import decode
from edge_perception.layouts import match_layout
import numpy as np
import pytest

from .helpers import REPO_ROOT

GOLDEN = os.path.join(REPO_ROOT, 'test', 'golden', 'rknn_more')


def _generator():
    spec = importlib.util.spec_from_file_location(
        'rknn_more_generator_dense', os.path.join(GOLDEN, 'generator.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _generator()
with open(os.path.join(GOLDEN, 'cases.json')) as _f:
    CASES = {c['name']: c for c in json.load(_f)['cases']}


def _gold(name, dtype):
    with open(os.path.join(GOLDEN, f'{name}_{dtype}.json')) as f:
        return json.load(f)


def _yolox_onnx(per_stride):
    return np.concatenate([p.reshape(1, p.shape[1], -1) for p in per_stride], axis=2) \
        .transpose(0, 2, 1).copy()


def _yolov7_onnx(per_stride, anchors, input_hw):
    rows = []
    for p, level in zip(per_stride, anchors):
        _, c, h, w = p.shape
        y = p.reshape(3, c // 3, h, w).transpose(0, 2, 3, 1).astype(np.float64)   # (3,H,W,85)
        stride = input_hw[0] // h
        gy, gx = np.meshgrid(np.arange(h), np.arange(w), indexing='ij')
        grid = np.stack([gx, gy], axis=-1)[None]
        y[..., 0:2] = (y[..., 0:2] * 2 - 0.5 + grid) * stride
        y[..., 2:4] = (y[..., 2:4] * 2) ** 2 * np.asarray(level, np.float64)[:, None, None, :]
        rows.append(y.reshape(-1, c // 3))
    return np.concatenate(rows)[None].astype(np.float32)


def _check(det, gold):
    dets = gold['detections']
    assert len(det) == len(dets) >= 8
    order = np.argsort(-det.confidence, kind='stable')
    for g in sorted(dets, key=lambda d: -d['score']):
        cands = [i for i in order if det.class_id[i] == g['class']
                 and abs(det.confidence[i] - g['score']) < 1e-4]
        assert cands, g
        assert min(np.abs(det.xyxy[i] - g['box']).max() for i in cands) < 0.5, g


@pytest.mark.parametrize('dtype', ['float32', 'int8'])
def test_yolox_onnx_export_form(dtype):
    case, gold = CASES['yolox_640'], _gold('yolox_640', dtype)
    floats, _ = generator.outputs_for(case, dtype)
    dense = _yolox_onnx(floats)
    assert dense.shape == (1, 8400, 85)
    # the same shape as YOLOv6's decoded export: the card names the form
    assert match_layout([dense.shape], (640, 640), 80).layout.name == 'onnx_yolov5'
    thr = gold['thresholds']
    det = decode([dense], input_size=(640, 640), layout='onnx_yolox',
                 class_names=[str(i) for i in range(80)], agnostic_nms=True,
                 confidence_threshold=thr['confidence'], nms_threshold=thr['nms'])
    _check(det, gold)


@pytest.mark.parametrize('dtype', ['float32', 'int8'])
def test_yolov7_onnx_export_form(dtype):
    case, gold = CASES['yolov7_640'], _gold('yolov7_640', dtype)
    floats, _ = generator.outputs_for(case, dtype)
    dense = _yolov7_onnx(floats, generator.YOLOV7_ANCHORS, case['input_hw'])
    assert dense.shape == (1, 25200, 85)
    assert match_layout([dense.shape], (640, 640), 80).layout.name == 'onnx_yolov5'
    thr = gold['thresholds']
    det = decode([dense], input_size=(640, 640), class_names=[str(i) for i in range(80)],
                 confidence_threshold=thr['confidence'], nms_threshold=thr['nms'])
    _check(det, gold)
