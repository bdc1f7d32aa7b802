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

Used by the tests (decoders must recover the boxes, masks and keypoints) and by the benchmark
(decode timing on realistic 640x640, 80-class tensors without needing the vendors' runtimes).
Instance masks are planted as signed-distance fields in prototype channels of their own (one
channel per object, one-hot coefficients), so the decoded mask boundary is the planted one;
``source_mask`` gives the exact expected mask at source resolution. Classification and
semantic outputs come from ``make_class_outputs`` and ``make_semantic_outputs``.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .layouts import ALL_LAYOUTS, DENSE_STRIDES, YOLOV5_ANCHORS
from .tensors import quantize, QuantizedTensor

# Signed distance (input pixels) is clipped to this in the prototypes; mask coefficients of a
# planted object are one-hot with this value.
_SDF_CLIP = 24.0
_COEF = 1.0


@dataclass
class SyntheticObject:
    """
    An object to plant: box in input pixels, class, probability, and the stride to use.

    mask: instance mask shape for segmentation layouts: 'box' (the whole box) or 'ellipse'
    (inscribed in the box). keypoints: (K, 3) x, y in input pixels and visibility probability,
    for pose layouts.
    """

    xyxy: Tuple[float, float, float, float]
    class_id: int
    score: float = 0.9
    stride: Optional[int] = None
    mask: str = 'box'
    keypoints: Optional[np.ndarray] = None

    def signed_distance(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Approximate signed distance (input px, > 0 inside) of points to the mask shape."""
        x1, y1, x2, y2 = self.xyxy
        if self.mask == 'box':
            return np.minimum(np.minimum(x - x1, x2 - x), np.minimum(y - y1, y2 - y))
        if self.mask == 'ellipse':
            cx, cy, rx, ry = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) / 2, (y2 - y1) / 2
            radius = np.sqrt(((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2)
            return (1 - radius) * min(rx, ry)
        raise ValueError(f'unknown mask shape {self.mask!r} (box, ellipse)')

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
                   min_gap: float = 24.0, num_keypoints: int = 0,
                   masks: Sequence[str] = ('box',)) -> List[SyntheticObject]:
    """
    Return n non-overlapping objects (distinct grid cells at every stride) of varied sizes.

    num_keypoints: give each object that many keypoints inside its box. masks: mask shapes
    to cycle through.
    """
    rng = np.random.default_rng(seed)
    objects = _random_boxes(n, num_classes, input_hw, rng, min_gap)
    for i, obj in enumerate(objects):
        obj.mask = masks[i % len(masks)]
        if num_keypoints:
            x1, y1, x2, y2 = obj.xyxy
            obj.keypoints = np.stack([rng.uniform(x1, x2, num_keypoints),
                                      rng.uniform(y1, y2, num_keypoints),
                                      rng.uniform(0.05, 0.95, num_keypoints)],
                                     axis=1).astype(np.float32)
    return objects


def _random_boxes(n, num_classes, input_hw, rng, min_gap):
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
                 int32_boxes: bool = False, reg_max: int = 16, mask_dim: int = 32,
                 num_keypoints: Optional[int] = None) -> list:
    """
    Raw outputs of a detection, segmentation or pose head in ``layout`` with ``objects`` planted.

    background: class probability range of empty cells (raise it to make many candidates).
    quantized: RKNN-style per-tensor int8 (uint8-free) outputs (RKNN pose keypoints: float16,
    as the vendor's export emits them). int32_boxes: the older RDK .bin variant with int32 box
    (and mask coefficient) heads and a per-channel scale. mask_dim: prototype channels (at
    most this many objects in a segmentation head). num_keypoints: K of a pose head (default:
    the objects' own K, else 17).
    """
    spec = ALL_LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    heads = _Heads(spec, objects, input_hw, rng, mask_dim, num_keypoints, reg_max)
    if spec.family == 'dense':
        return _dense(objects, num_classes, input_hw, rng, background, heads)
    if spec.family == 'anchor':
        return _anchor(spec, objects, num_classes, input_hw, rng, background, quantized)
    if spec.family != 'dfl':
        raise ValueError(f'layout {layout} is a {spec.task} layout: use make_class_outputs or '
                         'make_semantic_outputs')
    return _dfl(spec, objects, num_classes, input_hw, rng, background, quantized, score_sum,
                int32_boxes, reg_max, heads)


def _placement(obj: SyntheticObject, input_hw, reg_max: int = 16):
    """(stride, row, col, anchor index over all strides) of the cell that holds ``obj``."""
    stride = obj.pick_stride(reg_max=reg_max)
    x1, y1, x2, y2 = obj.xyxy
    col, row = int((x1 + x2) / 2 // stride), int((y1 + y2) / 2 // stride)
    offset = 0
    for s in DENSE_STRIDES:
        if s == stride:
            break
        offset += (input_hw[0] // s) * (input_hw[1] // s)
    return stride, row, col, offset + row * (input_hw[1] // stride) + col


class _Heads:
    """The per-object extras of segmentation (coefficients, prototypes) and pose heads."""

    def __init__(self, spec, objects, input_hw, rng, mask_dim, num_keypoints, reg_max):
        self.spec, self.objects, self.input_hw, self.rng = spec, objects, input_hw, rng
        self.reg_max = reg_max
        self.task = spec.task
        self.mask_dim = mask_dim if spec.task == 'segment' else 0
        if self.mask_dim and len(objects) > mask_dim:
            raise ValueError(f'{len(objects)} objects need as many prototype channels, '
                             f'the head has {mask_dim}')
        self.k = 0
        if spec.task == 'pose':
            ks = {len(o.keypoints) for o in objects if o.keypoints is not None}
            if len(ks) > 1 or any(o.keypoints is None for o in objects):
                raise ValueError('pose objects need keypoints, all of the same count')
            self.k = num_keypoints or (ks.pop() if ks else 17)

    @property
    def extra(self) -> int:
        """Return the per-anchor channels after the classes in a dense output."""
        return self.mask_dim or 3 * self.k

    def dense_rows(self, i: int) -> np.ndarray:
        """Return object ``i``'s extra dense channels (coefficients or decoded keypoints)."""
        if self.mask_dim:
            row = np.zeros(self.mask_dim, np.float32)
            row[i] = _COEF
            return row
        return self.objects[i].keypoints.reshape(-1)

    def grid_roles(self, stride: int) -> dict:
        """Return the (h, w, C) grids of the extra roles ('coef' or 'kpt') at one stride."""
        h, w = self.input_hw[0] // stride, self.input_hw[1] // stride
        if self.mask_dim:
            grid = self.rng.normal(0, 0.3, (h, w, self.mask_dim)).astype(np.float32)
            for i, obj in enumerate(self.objects):
                s, row, col, _ = _placement(obj, self.input_hw, self.reg_max)
                if s == stride:
                    grid[row, col] = self.dense_rows(i)
            return {'coef': grid}
        if self.spec.keypoints == 'grid':
            grid = self.rng.normal(0, 1, (h, w, 3 * self.k)).astype(np.float32)
            for obj in self.objects:
                s, row, col, _ = _placement(obj, self.input_hw, self.reg_max)
                if s == stride:
                    kp = obj.keypoints
                    raw = np.stack([(kp[:, 0] / stride - col) / 2, (kp[:, 1] / stride - row) / 2,
                                    _logits(kp[:, 2])], axis=1)
                    grid[row, col] = raw.reshape(-1)
            return {'kpt': grid}
        return {}

    def global_outputs(self, quantized: bool) -> list:
        """Return the outputs after the per-stride ones: prototypes or (1, K, 3, A) keypoints."""
        if self.mask_dim:
            return [self._protos(quantized)]
        if 'kpts' in self.spec.global_roles:
            total = sum((self.input_hw[0] // s) * (self.input_hw[1] // s) for s in DENSE_STRIDES)
            kpts = np.empty((1, self.k, 3, total), np.float32)
            kpts[0, :, :2] = self.rng.uniform(0, min(self.input_hw), (self.k, 2, total))
            kpts[0, :, 2] = self.rng.uniform(0, 1, (self.k, total))
            for obj in self.objects:
                kpts[0, :, :, _placement(obj, self.input_hw, self.reg_max)[3]] = obj.keypoints
            return [kpts.astype(np.float16) if quantized else kpts]
        return []

    def _protos(self, quantized: bool):
        ph, pw = self.input_hw[0] // 4, self.input_hw[1] // 4
        protos = self.rng.normal(0, 4, (self.mask_dim, ph, pw)).astype(np.float32)
        y, x = np.mgrid[0:ph, 0:pw].astype(np.float32)
        x, y = (x + 0.5) * 4, (y + 0.5) * 4          # cell centres in input pixels
        for i, obj in enumerate(self.objects):
            protos[i] = np.clip(obj.signed_distance(x, y), -_SDF_CLIP, _SDF_CLIP)
        tensor = protos[None].transpose(0, 2, 3, 1) if self.spec.channels_last else protos[None]
        tensor = np.ascontiguousarray(tensor)
        return quantize(tensor, _SDF_CLIP / 120, 0) if quantized else tensor


def source_mask(obj: SyntheticObject, letterbox=None, input_hw=(640, 640)) -> np.ndarray:
    """
    Return the (H, W) bool mask a decoder should give for ``obj`` at source resolution.

    A source pixel is in the mask when its centre, mapped to the input, lies inside both the
    object's mask shape and its box (masks are cropped to their box).
    """
    if letterbox is None:
        sx = sy = 1.0
        px = py = 0
        w, h = input_hw[1], input_hw[0]
    else:
        sx, sy, px, py = letterbox.scale_x, letterbox.scale_y, letterbox.pad_x, letterbox.pad_y
        w, h = letterbox.src_width, letterbox.src_height
    mask = np.zeros((h, w), bool)
    x1, y1, x2, y2 = obj.xyxy
    # only source pixels whose centre can fall inside the box are evaluated
    u0, u1 = max(0, int((x1 - px) / sx) - 1), min(w, int((x2 - px) / sx) + 2)
    v0, v1 = max(0, int((y1 - py) / sy) - 1), min(h, int((y2 - py) / sy) + 2)
    if u1 <= u0 or v1 <= v0:
        return mask
    v, u = np.mgrid[v0:v1, u0:u1].astype(np.float64)
    x, y = (u + 0.5) * sx + px, (v + 0.5) * sy + py
    inside = (x >= x1) & (x <= x2) & (y >= y1) & (y <= y2)
    mask[v0:v1, u0:u1] = inside & (obj.signed_distance(x, y) > 0)
    return mask


def _dense(objects, nc, input_hw, rng, background, heads=None):
    grids = [(input_hw[0] // s, input_hw[1] // s, s) for s in DENSE_STRIDES]
    total = sum(h * w for h, w, _ in grids)
    extra = heads.extra if heads is not None else 0
    out = np.zeros((1, 4 + nc + extra, total), np.float32)
    out[0, 4:4 + nc] = _background(rng, (nc, total), *background)
    out[0, 0:2] = rng.uniform(0, min(input_hw), (2, total))
    out[0, 2:4] = rng.uniform(4, 64, (2, total))
    if extra:
        out[0, 4 + nc:] = rng.normal(0, 1, (extra, total))
    for i, obj in enumerate(objects):
        index = _placement(obj, input_hw)[3]
        x1, y1, x2, y2 = obj.xyxy
        out[0, :4, index] = [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]
        out[0, 4 + obj.class_id, index] = obj.score
        if extra:
            out[0, 4 + nc:, index] = heads.dense_rows(i)
    if heads is None:
        return [out]
    return [out] + heads.global_outputs(False)


def _to_layout(grid_hwc: np.ndarray, channels_last: bool) -> np.ndarray:
    return grid_hwc[None] if channels_last else np.ascontiguousarray(
        grid_hwc.transpose(2, 0, 1)[None])


def _per_channel_int32(tensor, channels_last, rng):
    axis = 3 if channels_last else 1
    scales = rng.uniform(1e-4, 3e-4, tensor.shape[axis]).astype(np.float32)
    shape = [1, 1, 1, 1]
    shape[axis] = -1
    return QuantizedTensor(np.round(tensor / scales.reshape(shape)).astype(np.int32),
                           scales, 0, axis)


def _dfl(spec, objects, nc, input_hw, rng, background, quantized, score_sum, int32_boxes,
         reg_max, heads=None):
    levels = {s: (np.zeros((input_hw[0] // s, input_hw[1] // s, 4 * reg_max), np.float32),
                  _background(rng, (input_hw[0] // s, input_hw[1] // s, nc), *background))
              for s in DENSE_STRIDES}
    for box, _ in levels.values():
        box[:] = rng.normal(0, 1, box.shape)
    for obj in objects:
        stride, row, col, _ = _placement(obj, input_hw, reg_max)
        box, cls = levels[stride]
        x1, y1, x2, y2 = obj.xyxy
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
        extras = heads.grid_roles(stride) if heads is not None else {}
        if 'boxcls' in spec.level_roles[0]:
            extras['boxcls'] = np.concatenate([box, cls], axis=2)
        box_t, cls_t, sum_t = (_to_layout(t.astype(np.float32), spec.channels_last)
                               for t in (box, cls, total))
        extras = {role: _to_layout(t, spec.channels_last) for role, t in extras.items()}
        if quantized:
            box_t = quantize(box_t, scale=0.12, zero_point=0)
            cls_t = quantize(cls_t, 1 / 255, -128) if spec.scores == 'sigmoid' \
                else quantize(cls_t, 0.07, 0)
            sum_t = quantize(sum_t, 1 / 255, -128)
            scales = {'coef': 1 / 64, 'boxcls': 0.12, 'kpt': 1 / 8}
            extras = {role: quantize(t, scales[role], 0) for role, t in extras.items()}
        if int32_boxes:
            box_t = _per_channel_int32(box_t, spec.channels_last, rng)
            if 'coef' in extras:
                extras['coef'] = _per_channel_int32(extras['coef'], spec.channels_last, rng)
        roles = dict({'box': box_t, 'cls': cls_t, 'score_sum': sum_t}, **extras)
        order = spec.level_roles[0] if score_sum else spec.level_roles[-1]
        outputs.extend(roles[r] for r in order)
    if heads is not None:
        outputs.extend(heads.global_outputs(quantized))
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


def make_class_outputs(layout: str, probabilities: Sequence[float],
                       quantized: bool = False) -> list:
    """
    Raw outputs of a classifier in ``layout`` whose softmax gives ``probabilities``.

    quantized: int8 logits with a per-tensor scale (RKNN), for the logit layouts.
    """
    spec = ALL_LAYOUTS[layout]
    probs = np.asarray(probabilities, np.float64)
    if spec.scores == 'softmax':
        values = probs.astype(np.float32)
    else:
        values = np.log(np.clip(probs, 1e-12, None))
        values = (values - values.max() + 4.0).astype(np.float32)    # any shift: softmax
    tensor = values.reshape((1, -1) + (1,) * (spec.rank - 2))
    if quantized:
        if spec.scores == 'softmax':
            raise ValueError('quantised outputs are logits; pick a logit layout')
        return [quantize(tensor, float(np.abs(tensor).max()) / 120 or 1.0, 0)]
    return [tensor]


def random_class_map(height: int, width: int, num_classes: int, seed: int = 0,
                     regions: int = 6, cell: int = 1) -> np.ndarray:
    """(height, width) int class map: background 0 and ``regions`` random rectangles."""
    rng = np.random.default_rng(seed)
    class_map = np.zeros((height, width), np.int64)
    for _ in range(regions):
        h, w = (int(v) * cell for v in rng.integers(2, 6, 2) * max(1, min(height, width) // 16))
        y, x = int(rng.integers(0, max(1, height - h))), int(rng.integers(0, max(1, width - w)))
        y, x = y - y % cell, x - x % cell
        class_map[y:y + h, x:x + w] = int(rng.integers(1, num_classes))
    return class_map


def make_semantic_outputs(layout: str, class_map: np.ndarray, num_classes: int,
                          quantized: bool = False, seed: int = 0) -> list:
    """Raw (1, C, H, W) / (1, H, W, C) logits whose argmax is ``class_map``."""
    spec = ALL_LAYOUTS[layout]
    rng = np.random.default_rng(seed)
    h, w = class_map.shape
    logits = rng.uniform(-2.0, 0.0, (h, w, num_classes)).astype(np.float32)
    rows, cols = np.mgrid[0:h, 0:w]
    logits[rows, cols, class_map] = rng.uniform(2.0, 3.0, (h, w))
    tensor = _to_layout(logits, spec.channels_last)
    return [quantize(tensor, 3.0 / 120, 0) if quantized else tensor]
