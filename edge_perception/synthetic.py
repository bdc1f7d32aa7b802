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
Synthetic raw head outputs with objects at known positions, in every supported layout.

Used by the tests (decoders must recover the boxes) and by the benchmark (decode timing on
realistic 640x640, 80-class tensors without needing the vendors' runtimes).
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .layouts import DENSE_STRIDES, LAYOUTS, YOLOV5_ANCHORS
from .tensors import quantize, QuantizedTensor


@dataclass
class SyntheticObject:
    """An object to plant: box in input pixels, class, probability, and the stride to use."""

    xyxy: Tuple[float, float, float, float]
    class_id: int
    score: float = 0.9
    stride: Optional[int] = None

    def pick_stride(self, anchors=None, reg_max: int = 16) -> int:
        """Return the given stride, else the finest one whose head can encode this box."""
        if self.stride:
            return self.stride
        w, h = self.xyxy[2] - self.xyxy[0], self.xyxy[3] - self.xyxy[1]
        for level, stride in enumerate(DENSE_STRIDES):
            if anchors is not None:   # YOLOv5: (2 * sigmoid)^2 * anchor reaches 4x the anchor
                if any(w < 3.8 * aw and h < 3.8 * ah for aw, ah in anchors[level]):
                    return stride
            elif min(w, h) >= stride and max(w, h) / 2 + stride / 2 <= (reg_max - 1) * stride:
                return stride
        raise ValueError(f'no stride of {DENSE_STRIDES} can encode box {self.xyxy}')


def random_objects(n: int, num_classes: int, input_hw=(640, 640), seed: int = 0,
                   min_gap: float = 24.0) -> List[SyntheticObject]:
    """Return n non-overlapping objects (distinct grid cells at every stride) of varied sizes."""
    rng = np.random.default_rng(seed)
    objects, centres = [], []
    while len(objects) < n:
        w, h = rng.uniform(20, 200, 2)
        cx = rng.uniform(w / 2 + 1, input_hw[1] - w / 2 - 1)
        cy = rng.uniform(h / 2 + 1, input_hw[0] - h / 2 - 1)
        if any(abs(cx - x) < max(min_gap, 33) and abs(cy - y) < max(min_gap, 33)
               for x, y in centres):
            continue
        centres.append((cx, cy))
        objects.append(SyntheticObject((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                       int(rng.integers(num_classes)),
                                       float(rng.uniform(0.5, 0.95))))
    return objects


def _dfl_logits(distance: float, reg_max: int) -> np.ndarray:
    """Bin logits whose softmax expectation is exactly ``distance`` (two-hot encoding)."""
    if not 0 <= distance <= reg_max - 1:
        raise ValueError(f'distance {distance:.2f} cells does not fit {reg_max} DFL bins')
    lo = int(np.floor(distance))
    hi = min(lo + 1, reg_max - 1)
    frac = distance - lo
    weights = np.full(reg_max, 1e-12)
    weights[lo] += 1 - frac
    weights[hi] += frac
    return np.log(weights).astype(np.float32)


def _logits(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p)).astype(np.float32)


def _background(rng, shape, low: float, high: float) -> np.ndarray:
    return rng.uniform(low, high, shape).astype(np.float32)


def make_outputs(layout: str, objects: Sequence[SyntheticObject], num_classes: int = 80,
                 input_hw=(640, 640), quantized: bool = False, score_sum: bool = True,
                 background: Tuple[float, float] = (0.0, 0.002), seed: int = 0,
                 int32_boxes: bool = False, reg_max: int = 16) -> list:
    """
    Raw outputs of a detection head in ``layout`` with ``objects`` planted.

    background: class probability range of empty cells (raise it to make many candidates).
    quantized: RKNN-style per-tensor int8 (uint8-free) outputs. int32_boxes: the older RDK
    .bin variant with int32 box heads and a per-channel scale.
    """
    spec = LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    if spec.family == 'dense':
        return [_dense(objects, num_classes, input_hw, rng, background)]
    if spec.family == 'anchor':
        return _anchor(spec, objects, num_classes, input_hw, rng, background, quantized)
    return _dfl(spec, objects, num_classes, input_hw, rng, background, quantized, score_sum,
                int32_boxes, reg_max)


def _dense(objects, nc, input_hw, rng, background):
    grids = [(input_hw[0] // s, input_hw[1] // s, s) for s in DENSE_STRIDES]
    total = sum(h * w for h, w, _ in grids)
    out = np.zeros((1, 4 + nc, total), np.float32)
    out[0, 4:] = _background(rng, (nc, total), *background)
    out[0, 0:2] = rng.uniform(0, min(input_hw), (2, total))
    out[0, 2:4] = rng.uniform(4, 64, (2, total))
    for obj in objects:
        stride = obj.pick_stride()
        offset = 0
        for h, w, s in grids:
            if s == stride:
                break
            offset += h * w
        x1, y1, x2, y2 = obj.xyxy
        index = offset + int((y1 + y2) / 2 // stride) * (input_hw[1] // stride) \
            + int((x1 + x2) / 2 // stride)
        out[0, :4, index] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
        out[0, 4 + obj.class_id, index] = obj.score
    return out


def _to_layout(grid_hwc: np.ndarray, channels_last: bool) -> np.ndarray:
    return grid_hwc[None] if channels_last else np.ascontiguousarray(
        grid_hwc.transpose(2, 0, 1)[None])


def _dfl(spec, objects, nc, input_hw, rng, background, quantized, score_sum, int32_boxes,
         reg_max):
    levels = {s: (np.zeros((input_hw[0] // s, input_hw[1] // s, 4 * reg_max), np.float32),
                  _background(rng, (input_hw[0] // s, input_hw[1] // s, nc), *background))
              for s in DENSE_STRIDES}
    for box, _ in levels.values():
        box[:] = rng.normal(0, 1, box.shape)
    for obj in objects:
        stride = obj.pick_stride(reg_max=reg_max)
        box, cls = levels[stride]
        x1, y1, x2, y2 = obj.xyxy
        col, row = int((x1 + x2) / 2 // stride), int((y1 + y2) / 2 // stride)
        ax, ay = col + 0.5, row + 0.5
        sides = (ax - x1 / stride, ay - y1 / stride, x2 / stride - ax, y2 / stride - ay)
        box[row, col] = np.concatenate([_dfl_logits(d, reg_max) for d in sides])
        cls[row, col, obj.class_id] = obj.score
    outputs = []
    for stride in DENSE_STRIDES:
        box, cls = levels[stride]
        total = np.clip(cls.sum(axis=2, keepdims=True), 0, 1)
        if spec.scores == 'logit':
            cls = _logits(cls)
        box_t, cls_t, sum_t = (_to_layout(t.astype(np.float32), spec.channels_last)
                               for t in (box, cls, total))
        if quantized:
            box_t = quantize(box_t, scale=0.12, zero_point=0)
            cls_t = quantize(cls_t, 1 / 255, -128) if spec.scores == 'sigmoid' \
                else quantize(cls_t, 0.07, 0)
            sum_t = quantize(sum_t, 1 / 255, -128)
        if int32_boxes:
            axis = 3 if spec.channels_last else 1
            scales = rng.uniform(1e-4, 3e-4, 4 * reg_max).astype(np.float32)
            shape = [1, 1, 1, 1]
            shape[axis] = -1
            box_t = QuantizedTensor(np.round(box_t / scales.reshape(shape)).astype(np.int32),
                                    scales, 0, axis)
        roles = {'box': box_t, 'cls': cls_t, 'score_sum': sum_t}
        order = spec.level_roles[0] if score_sum else spec.level_roles[-1]
        outputs.extend(roles[r] for r in order)
    return outputs


def _anchor(spec, objects, nc, input_hw, rng, background, quantized):
    per = 5 + nc
    grids = {s: np.zeros((input_hw[0] // s, input_hw[1] // s, 3, per), np.float32)
             for s in DENSE_STRIDES}
    for g in grids.values():
        g[...] = rng.uniform(0.2, 0.6, g.shape)
        g[..., 4] = rng.uniform(*background, g.shape[:3])
        g[..., 5:] = rng.uniform(0.0, 0.5, g.shape[:3] + (nc,))
    for obj in objects:
        stride = obj.pick_stride(YOLOV5_ANCHORS)
        level = DENSE_STRIDES.index(stride)
        x1, y1, x2, y2 = obj.xyxy
        w, h = x2 - x1, y2 - y1
        # The anchor whose shape needs the smallest correction (sqrt(w/anchor)/2 within (0,1)).
        a = int(np.argmin([abs(np.log(w / aw)) + abs(np.log(h / ah))
                           if w < 3.8 * aw and h < 3.8 * ah else np.inf
                           for aw, ah in YOLOV5_ANCHORS[level]]))
        aw, ah = YOLOV5_ANCHORS[level][a]
        cx, cy = (x1 + x2) / 2 / stride, (y1 + y2) / 2 / stride
        col, row = int(cx), int(cy)
        cell = grids[stride][row, col, a]
        cell[0], cell[1] = (cx - col + 0.5) / 2, (cy - row + 0.5) / 2
        cell[2], cell[3] = np.sqrt(w / aw) / 2, np.sqrt(h / ah) / 2
        if max(cell[2], cell[3]) >= 1:
            raise ValueError(f'object {obj.xyxy} is too large for stride {stride} anchors')
        cell[4] = 0.98
        cell[5:] = 0.0
        cell[5 + obj.class_id] = obj.score / 0.98
    outputs = []
    for stride in DENSE_STRIDES:
        grid = grids[stride].reshape(grids[stride].shape[0], grids[stride].shape[1], 3 * per)
        if spec.scores == 'logit':
            grid = _logits(grid)
        tensor = _to_layout(grid, spec.channels_last)
        if quantized:
            tensor = quantize(tensor, 1 / 255, -128) if spec.scores == 'sigmoid' \
                else quantize(tensor, 0.07, 0)
        outputs.append(tensor)
    return outputs
