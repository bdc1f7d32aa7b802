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
Per-instance heads of kept detections: mask coefficients, prototypes -> masks, keypoints.

Run after NMS, on the few kept detections only: their rows are gathered by anchor index from
whichever tensor the layout puts them in (the dense output's extra channels, a per-stride
grid, or a global (1, K, 3, anchors) tensor) and dequantised there. A mask is computed and
kept inside its box only (``InstanceMasks``): the prototypes are cropped to the box at
prototype resolution, combined with the coefficients, sampled bilinearly at the box's source
pixels (separable, through the inverse letterbox) and thresholded at logit 0 (probability
0.5), as ultralytics' ``process_mask_native`` does on the whole image.
"""

from typing import Optional, Tuple

import numpy as np

from .planes import Plane, sigmoid
from ..instance_masks import InstanceMasks
from ..layouts import Binding
from ..preprocess import Letterbox
from ..tensors import QuantizedTensor


def _level_of(binding: Binding, anchor: np.ndarray):
    """Yield (level, positions in ``anchor``, cell indices) per stride."""
    offset = 0
    for level in binding.levels:
        cells = level.grid_h * level.grid_w
        where = np.flatnonzero((anchor >= offset) & (anchor < offset + cells))
        if len(where):
            yield level, where, anchor[where] - offset
        offset += cells


def gather_rows(outputs, binding: Binding, role: str, anchor: np.ndarray,
                channels: int) -> np.ndarray:
    """(n, channels) float32 rows of per-anchor ``role`` ('coef' or 'kpt') at ``anchor``."""
    out = np.zeros((len(anchor), channels), np.float32)
    if not len(anchor):
        return out
    if binding.layout.family == 'dense':
        first = 4 + binding.num_classes
        dense = outputs[binding.global_outputs['dense']]
        return Plane(dense, binding.dense_transposed, slice(first, first + channels)).rows(anchor)
    for level, where, cells in _level_of(binding, anchor):
        out[where] = Plane(outputs[level.outputs[role]], binding.layout.channels_last).rows(cells)
    return out


def _take_anchors(tensor, anchor: np.ndarray) -> np.ndarray:
    """(n, K, 3) float32 from a (1, K, 3, anchors) tensor, dequantising only those anchors."""
    if isinstance(tensor, QuantizedTensor):
        picked = QuantizedTensor(tensor.data[0][..., anchor], tensor.scale, tensor.zero_point,
                                 None if not tensor.per_channel else tensor.axis - 1)
        values = picked.dequantize()
    else:
        values = np.asarray(tensor)[0][..., anchor].astype(np.float32)
    return np.ascontiguousarray(values.transpose(2, 0, 1))


def keypoints(outputs, binding: Binding, anchor: np.ndarray) -> np.ndarray:
    """(n, K, 3) float32 keypoints of the given anchors: x, y in input pixels, visibility."""
    k = binding.num_keypoints
    if 'kpts' in binding.global_outputs:
        return _take_anchors(outputs[binding.global_outputs['kpts']], anchor)
    rows = gather_rows(outputs, binding, 'kpt', anchor, 3 * k).reshape(-1, k, 3)
    if binding.layout.keypoints == 'grid':
        # raw offsets: x = (2 * raw + column) * stride; visibility is a logit
        for level, where, cells in _level_of(binding, anchor):
            col = (cells % level.grid_w).astype(np.float32)[:, None]
            row = (cells // level.grid_w).astype(np.float32)[:, None]
            rows[where, :, 0] = (rows[where, :, 0] * 2 + col) * level.stride
            rows[where, :, 1] = (rows[where, :, 1] * 2 + row) * level.stride
        rows[:, :, 2] = sigmoid(rows[:, :, 2])
    return rows


def _proto_crop(protos, channels_last: bool, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    """(m, h, w) or (h, w, m) float32 prototypes of one region, dequantised there only."""
    quant = protos if isinstance(protos, QuantizedTensor) else None
    data = quant.data if quant is not None else np.asarray(protos)
    crop = data[0, y0:y1, x0:x1] if channels_last else data[0, :, y0:y1, x0:x1]
    if quant is None:
        return crop.astype(np.float32, copy=False)
    if quant.per_channel:
        return QuantizedTensor(crop[None], quant.scale, quant.zero_point, quant.axis) \
            .dequantize()[0]
    return (crop.astype(np.float32) - np.float32(quant.zero_point)) * np.float32(quant.scale)


def _taps(positions: np.ndarray, first: int, cells: int):
    """Bilinear taps of prototype coordinates: cell floor(p) - first, the next one, weight."""
    low = positions.astype(np.intp)             # floor: positions are >= 0
    frac = (positions - low).astype(np.float32)
    low -= first
    return low, np.minimum(low + 1, cells - 1), frac


def _sample(logits: np.ndarray, sy: np.ndarray, sx: np.ndarray, cy0: int,
            cx0: int) -> np.ndarray:
    """
    Bilinear samples (len(sy), len(sx)) of a logit window whose first cell is (cy0, cx0).

    Separable: columns first, at the window's height (small), then whole rows gathered and
    blended (contiguous row copies); plain element-wise numpy (no BLAS call, whose threads
    stall on small busy CPUs), work = the box's area.
    """
    y0, y1, fy = _taps(sy, cy0, logits.shape[0])
    x0, x1, fx = _taps(sx, cx0, logits.shape[1])
    cols = logits[:, x0] * (1 - fx)
    cols += logits[:, x1] * fx
    fy = fy[:, None]
    out = cols[y0]
    out *= 1 - fy
    lower = cols[y1]
    lower *= fy
    out += lower
    return out


def instance_masks(coef: np.ndarray, protos, channels_last: bool, boxes_source: np.ndarray,
                   input_hw: Tuple[int, int], letterbox: Optional[Letterbox]) -> InstanceMasks:
    """
    Return the masks at source resolution, each computed and stored inside its box only.

    coef: (n, m) mask coefficients. protos: (1, m, ph, pw) or (1, ph, pw, m) prototypes.
    boxes_source: (n, 4) boxes in source pixels (input pixels when letterbox is None).

    The mask logits are sampled bilinearly at each source pixel centre mapped through the
    letterbox to prototype coordinates (half-pixel centres, clamped to the prototype grid),
    thresholded at 0, and pixel column u belongs to a box when x1 <= u < x2 (rows alike), as
    ultralytics' crop_mask keeps them. Without a letterbox this is ultralytics' predict
    default, ``process_mask(upsample=True)`` at input size; with one, its
    ``process_mask_native`` (``retina_masks=True``) but within half a prototype cell of the
    letterbox content's edges, where ultralytics repeats the content's last cell and we, as
    its input-size masks and rknn_model_zoo do, blend with the padding's cell. Only the
    prototype cells under the box are read; the float work per instance is the box's area in
    source pixels, and so is the memory kept.
    """
    if letterbox is None:
        letterbox = Letterbox(1.0, 1.0, 0, 0, input_hw[1], input_hw[0])
    shape = protos.shape
    ph, pw = (shape[1], shape[2]) if channels_last else (shape[2], shape[3])
    src_w, src_h = letterbox.src_width, letterbox.src_height
    # source pixel u -> prototype cell coordinate  a * u + b  (cell centres at integers)
    ax = letterbox.scale_x * pw / input_hw[1]
    ay = letterbox.scale_y * ph / input_hw[0]
    bx = (0.5 * letterbox.scale_x + letterbox.pad_x) * pw / input_hw[1] - 0.5
    by = (0.5 * letterbox.scale_y + letterbox.pad_y) * ph / input_hw[0] - 0.5
    x0s, y0s, crops = [], [], []
    for i, (x1, y1, x2, y2) in enumerate(np.asarray(boxes_source, np.float64)):
        # pixels x1 <= u < x2, y1 <= v < y2 (ultralytics' crop_mask)
        u0, u1 = min(src_w, max(0, int(np.ceil(x1)))), min(src_w, int(np.ceil(x2)))
        v0, v1 = min(src_h, max(0, int(np.ceil(y1)))), min(src_h, int(np.ceil(y2)))
        x0s.append(u0)
        y0s.append(v0)
        if u1 <= u0 or v1 <= v0:
            crops.append(np.zeros((max(0, v1 - v0), max(0, u1 - u0)), bool))
            continue
        sx = np.minimum(np.maximum(ax * np.arange(u0, u1) + bx, 0), pw - 1)
        sy = np.minimum(np.maximum(ay * np.arange(v0, v1) + by, 0), ph - 1)
        cx0, cy0 = int(sx[0]), int(sy[0])
        cx1, cy1 = min(pw, int(sx[-1]) + 2), min(ph, int(sy[-1]) + 2)
        crop = _proto_crop(protos, channels_last, cy0, cy1, cx0, cx1)
        if channels_last:
            logits = crop @ coef[i]
        else:
            logits = (coef[i] @ crop.reshape(len(coef[i]), -1)).reshape(cy1 - cy0, cx1 - cx0)
        box_logits = _sample(np.asarray(logits, np.float32), sy, sx, cy0, cx0)
        crops.append(box_logits > 0)
    return InstanceMasks(x0s, y0s, crops, src_h, src_w)
