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
Box-local masks against ultralytics' own mask code, the functions its predict calls.

``SegmentationPredictor.construct_result`` calls ``ops.process_mask(proto, coef, boxes,
input_hw, upsample=True)`` by default (masks at the network input's size) and
``ops.process_mask_native(proto, coef, boxes_source, source_hw)`` with ``retina_masks=True``
(source size). Both are run here on seeded prototypes, coefficients and boxes, and our
``instance_masks`` must give the same pixels. Float summation order may flip a pixel whose
logit is ~0: ultralytics is run twice with every logit shifted by -EPS and +EPS (a constant
33rd prototype channel), and ours must lie between the two. The one documented difference:
within half a prototype cell of the letterbox content's padded edges, process_mask_native
repeats the content's last cell where we interpolate towards the padding's cell (as
process_mask does at input size and rknn_model_zoo does); those rows are compared apart.
"""

import cv2
from edge_perception.decoders.instances import instance_masks
from edge_perception.preprocess import letterbox
import numpy as np
import pytest
import torch
from ultralytics.utils import ops

INPUT = (640, 640)
EPS = 1e-4


def _case(n, src_hw, seed):
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(32, 160, 160)).astype(np.float32)
    protos = np.stack([cv2.GaussianBlur(p, (0, 0), 2.0) for p in noise]) * 4
    coef = rng.normal(size=(n, 32)).astype(np.float32)
    h, w = src_hw
    x1, y1 = rng.uniform(-20, w - 5, n), rng.uniform(-20, h - 5, n)
    boxes = np.stack([x1, y1, x1 + rng.uniform(0.3, w / 2, n), y1 + rng.uniform(0.3, h / 2, n)],
                     axis=1)
    boxes[:2] = [[0, 0, w, h], [w - 7.5, h - 3.25, w, h]]
    boxes[:, 0::2] = np.clip(boxes[:, 0::2], 0, w)
    boxes[:, 1::2] = np.clip(boxes[:, 1::2], 0, h)
    return protos, coef, boxes.astype(np.float32)


def _bracket(function, protos, coef, boxes, shape):
    """Return ultralytics' masks with every logit lowered and raised by EPS (lower, upper)."""
    extended = torch.from_numpy(np.concatenate([protos, np.ones((1,) + protos.shape[1:],
                                                                np.float32)]))
    out = []
    for shift in (-EPS, EPS):
        c = torch.from_numpy(np.concatenate([coef, np.full((len(coef), 1), shift, np.float32)],
                                            axis=1))
        out.append(function(extended, c, torch.from_numpy(boxes.copy()), shape).numpy() > 0)
    return out


def _check_between(ours, lower, upper):
    assert ours.shape == lower.shape
    assert not (lower & ~ours).any(), int((lower & ~ours).sum())
    assert not (ours & ~upper).any(), int((ours & ~upper).sum())
    assert (upper & ~lower).sum() <= lower.size // 100000     # near-zero logits are rare
    assert lower.any() and not upper.all()


def test_predict_default_process_mask_at_input_size():
    protos, coef, boxes = _case(30, INPUT, seed=1)
    ours = instance_masks(coef, protos[None], False, boxes, INPUT, None).dense()
    lower, upper = _bracket(lambda p, c, b, s: ops.process_mask(p, c, b, s, upsample=True),
                            protos, coef, boxes, INPUT)
    _check_between(ours, lower, upper)


@pytest.mark.parametrize('src_hw', [(480, 640), (720, 1280), (1080, 1920), (810, 1080)])
def test_retina_masks_process_mask_native_at_source_size(src_hw):
    _, info = letterbox(np.zeros(src_hw + (3,), np.uint8), INPUT[1], INPUT[0])
    protos, coef, boxes = _case(30, src_hw, seed=2)
    ours = instance_masks(coef, protos[None], False, boxes, INPUT, info).dense()
    lower, upper = _bracket(ops.process_mask_native, protos, coef, boxes, src_hw)
    # rows (columns) within half a prototype cell of a padded content edge: compared apart
    band = np.zeros(src_hw, bool)
    per_cell_y, per_cell_x = INPUT[0] / 160 / info.scale_y, INPUT[1] / 160 / info.scale_x
    if info.pad_y:
        rows = np.arange(src_hw[0])
        band[((rows + 0.5) < per_cell_y / 2) | ((rows + 0.5) > src_hw[0] - per_cell_y / 2)] = 1
    if info.pad_x:
        cols = np.arange(src_hw[1])
        band[:, ((cols + 0.5) < per_cell_x / 2) | ((cols + 0.5) > src_hw[1] - per_cell_x / 2)] = 1
    assert band.mean() < 0.02
    _check_between(ours[:, ~band], lower[:, ~band], upper[:, ~band])
    # in the band the two only differ where the padding's cell changes the sign
    inside = ours[:, band] != lower[:, band]
    assert inside.mean() < 0.5
