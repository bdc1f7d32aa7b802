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
Seeded raw RDK BPU head outputs with planted objects, written from D-Robotics' own decoders.

Self-contained (numpy only; it knows nothing of edge_perception's layout table): what each
tensor holds was read from D-Robotics/rdk_model_zoo's Python post-processing (see README.md
here) and the output shapes from its hrt_model_exec reference logs.

- ultralytics_yolo detect: 6 outputs, per stride 8/16/32: cls (1, H, W, nc) RAW class logits,
  box (1, H, W, 4*reg_max) DFL bin logits (side-major: l, t, r, b, each reg_max bins).
- seg: 10 outputs, per stride cls, box, mask coefficients (1, H, W, 32), then prototypes
  (1, 160, 160, 32); a mask is coefficients . prototypes at prototype resolution.
- pose: 9 outputs, per stride cls (1, H, W, 1) logits, box, keypoints (1, H, W, K*3) raw:
  x = (2 * raw + column) * stride (same for y), visibility a logit.
- classify: (1, nc, 1, 1) logits.
- yolov5: 3 outputs (1, H, W, 3*(5+nc)) logits, channel a*(5+nc)+k: x, y, w, h, objectness,
  classes; x = (2 * sigmoid + column - 0.5) * stride, w = (2 * sigmoid) ** 2 * anchor.

``generate(case)`` returns the outputs in the vendor's order as float32 arrays, or (with
``case['quantize'] == 'int8'``) as (int8 array, scale) pairs: symmetric per-tensor quantisation,
zero point 0, as the BPU's int8 output nodes are; the vendor's runtime hands the dequantised
floats, ``dequantize`` gives them. np.random.default_rng only (stable across numpy versions).
"""

import json

import numpy as np

STRIDES = (8, 16, 32)
REG_MAX = 16
MASK_DIM = 32
YOLOV5_ANCHORS = (((10, 13), (16, 30), (33, 23)),
                  ((30, 61), (62, 45), (59, 119)),
                  ((116, 90), (156, 198), (373, 326)))


def _logit(p):
    p = np.clip(np.asarray(p, np.float64), 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def _stride_for(box, num_strides=3):
    """Return the stride an object of this size is planted on (DFL distances < reg_max)."""
    side = max(box[2] - box[0], box[3] - box[1])
    for stride, limit in zip(STRIDES[:num_strides], (96, 192, 10 ** 9)):
        if side <= limit:
            return stride
    return STRIDES[-1]


def _dfl_bins(distance, rng):
    """DFL logits (REG_MAX,) whose softmax expectation is close to ``distance`` (grid units)."""
    if not 0.0 <= distance < REG_MAX - 1:
        raise ValueError(f'distance {distance:.2f} cells is outside the DFL range')
    bins = rng.normal(-4.0, 1.0, REG_MAX)
    low = int(np.floor(distance))
    frac = distance - low
    bins[low] = np.log(max(1.0 - frac, 1e-3)) + 6.0
    bins[low + 1] = np.log(max(frac, 1e-3)) + 6.0
    return bins


def _cells(obj, stride, dups):
    """Grid cells (row, col) an object is planted in: its centre cell, then duplicates."""
    x1, y1, x2, y2 = obj['box']
    col, row = int((x1 + x2) / 2 // stride), int((y1 + y2) / 2 // stride)
    out = [(row, col)]
    for dr, dc in ((0, 1), (1, 0), (1, 1), (0, -1), (-1, 0))[:dups]:
        out.append((row + dr, col + dc))
    return out


def _class_logits(obj, num_classes, score, rng):
    """Class logits of one planted cell: best class at ``score``, a runner-up below it."""
    logits = np.minimum(rng.normal(-6.0, 1.5, num_classes), -3.0)
    best = _logit(score)
    if num_classes > 1:
        other = (obj['cls'] + 1 + int(rng.integers(num_classes - 1))) % num_classes
        logits[other] = best - rng.uniform(0.5, 2.0)
    logits[obj['cls']] = best
    return logits


def _background_cls(rng, h, w, num_classes):
    return np.minimum(rng.normal(-7.0, 1.5, (h, w, num_classes)), -3.0)


def _grids(case):
    in_h, in_w = case['input']
    return [(s, in_h // s, in_w // s) for s in STRIDES]


def _plant_dfl(case, rng, per_cell=None):
    """Per stride (cls, box) float64 grids with the case's objects and distractors planted."""
    nc = case['num_classes']
    levels = {}
    for stride, h, w in _grids(case):
        levels[stride] = {'cls': _background_cls(rng, h, w, nc),
                          'box': rng.normal(0.0, 2.0, (h, w, 4 * REG_MAX))}
    used = set()
    for index, obj in enumerate(case['objects']):
        stride = obj.get('stride') or _stride_for(obj['box'])
        level = levels[stride]
        x1, y1, x2, y2 = obj['box']
        for k, (row, col) in enumerate(_cells(obj, stride, obj.get('dups', 0))):
            if (stride, row, col) in used:
                raise ValueError(f'cell {row},{col} of stride {stride} is planted twice')
            used.add((stride, row, col))
            cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
            dists = ((cx - x1) / stride, (cy - y1) / stride,
                     (x2 - cx) / stride, (y2 - cy) / stride)
            level['box'][row, col] = np.concatenate([_dfl_bins(d, rng) for d in dists])
            score = obj['score'] * (1.0 - 0.08 * k)
            level['cls'][row, col] = _class_logits(obj, nc, score, rng)
            if per_cell is not None:
                per_cell(index, obj, stride, row, col)
    for dis in case.get('distractors', []):
        # a confident-looking cell whose best class stays under the threshold
        stride = dis['stride']
        row, col = dis['cell']
        if (stride, row, col) in used:
            raise ValueError(f'distractor cell {row},{col} of stride {stride} holds an object')
        levels[stride]['cls'][row, col] = _class_logits(dis, nc, dis['score'], rng)
    return levels


def _ellipse_field(box, shape_hw, input_hw, slope):
    """Mask logits on the prototype grid: positive inside the ellipse inscribed in ``box``."""
    ph, pw = shape_hw
    cell_h, cell_w = input_hw[0] / ph, input_hw[1] / pw
    x1, y1, x2, y2 = (box[0] / cell_w, box[1] / cell_h, box[2] / cell_w, box[3] / cell_h)
    ys, xs = np.mgrid[0:ph, 0:pw] + 0.5           # cell centres in cell units
    rx, ry = (x2 - x1) / 2, (y2 - y1) / 2
    d = np.sqrt(((xs - (x1 + x2) / 2) / rx) ** 2 + ((ys - (y1 + y2) / 2) / ry) ** 2)
    return np.clip(slope * min(rx, ry) * (1.0 - d), -12.0, 12.0)


def _detect(case, rng):
    levels = _plant_dfl(case, rng)
    return [t for s in STRIDES for t in (levels[s]['cls'], levels[s]['box'])]


def _segment(case, rng):
    in_h, in_w = case['input']
    ph, pw = in_h // 4, in_w // 4
    objects = case['objects']
    if len(objects) > MASK_DIM // 2:
        raise ValueError('at most 16 segmented objects per case')
    coefs = {}
    for stride, h, w in _grids(case):
        coefs[stride] = rng.normal(0.0, 1.0, (h, w, MASK_DIM))
    own = [rng.normal(0.0, 0.02, MASK_DIM) for _ in objects]
    for i, vec in enumerate(own):
        vec[:len(objects)] = rng.normal(0.0, 0.02, len(objects))
        vec[len(objects):] = rng.normal(0.0, 0.1, MASK_DIM - len(objects))
        vec[i] = 1.0

    def plant(index, obj, stride, row, col):
        coefs[stride][row, col] = own[index]

    levels = _plant_dfl(case, rng, plant)
    protos = rng.normal(0.0, 0.5, (ph, pw, MASK_DIM))
    slope = case.get('mask_slope', 6.0)
    for i, obj in enumerate(objects):
        protos[:, :, i] = _ellipse_field(obj['box'], (ph, pw), (in_h, in_w), slope)
    out = [t for s in STRIDES for t in (levels[s]['cls'], levels[s]['box'], coefs[s])]
    return out + [protos[None]]


def _keypoints_of(obj, rng, k):
    """Keypoints (k, 3) of a planted person: x, y inside its box, visibility probability."""
    if 'keypoints' in obj:
        return np.asarray(obj['keypoints'], np.float64)
    x1, y1, x2, y2 = obj['box']
    xs = rng.uniform(x1 + 2, x2 - 2, k)
    ys = rng.uniform(y1 + 2, y2 - 2, k)
    vis = np.where(rng.random(k) < 0.7, rng.uniform(0.6, 0.99, k), rng.uniform(0.01, 0.4, k))
    return np.stack([xs, ys, vis], axis=1)


def _pose(case, rng):
    k = case.get('num_keypoints', 17)
    kpts = {}
    for stride, h, w in _grids(case):
        kpts[stride] = rng.normal(0.0, 1.0, (h, w, 3 * k))
    points = [_keypoints_of(obj, rng, k) for obj in case['objects']]

    def plant(index, obj, stride, row, col):
        pts = points[index]
        raw = np.empty((k, 3))
        raw[:, 0] = (pts[:, 0] / stride - col) / 2
        raw[:, 1] = (pts[:, 1] / stride - row) / 2
        raw[:, 2] = _logit(pts[:, 2])
        kpts[stride][row, col] = raw.reshape(-1)

    levels = _plant_dfl(case, rng, plant)
    return [t for s in STRIDES for t in (levels[s]['cls'], levels[s]['box'], kpts[s])]


def _classify(case, rng):
    nc = case['num_classes']
    logits = rng.normal(0.0, 1.0, nc)
    for cls, value in case['planted']:
        logits[cls] = value
    return [logits.reshape(1, nc, 1, 1)]


def _yolov5(case, rng):
    nc = case['num_classes']
    per = 5 + nc
    out = {}
    for stride, h, w in _grids(case):
        grid = rng.normal(0.0, 1.0, (h, w, 3, per))
        grid[..., 4] = rng.normal(-8.0, 1.0, (h, w, 3))
        grid[..., 5:] = np.minimum(rng.normal(-5.0, 1.5, (h, w, 3, nc)), -2.0)
        out[stride] = grid
    for obj in case['objects']:
        x1, y1, x2, y2 = obj['box']
        bw, bh = x2 - x1, y2 - y1
        level = obj['level']
        stride = STRIDES[level]
        anchor = obj['anchor']
        aw, ah = YOLOV5_ANCHORS[level][anchor]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        col, row = int(cx // stride), int(cy // stride)
        sx = (cx / stride - col + 0.5) / 2
        sy = (cy / stride - row + 0.5) / 2
        sw, sh = np.sqrt(bw / aw) / 2, np.sqrt(bh / ah) / 2
        if not all(0.02 < v < 0.98 for v in (sx, sy, sw, sh)):
            raise ValueError(f'object {obj} does not fit anchor {level}/{anchor}')
        cell = out[stride][row, col, anchor]
        cell[:4] = _logit([sx, sy, sw, sh])
        p_obj = obj.get('objectness', 0.97)
        cell[4] = _logit(p_obj)
        cell[5:] = _class_logits(obj, nc, obj['score'] / p_obj, rng)
    return [out[s].reshape(1, out[s].shape[0], out[s].shape[1], 3 * per) for s in STRIDES]


HEADS = {'detect': _detect, 'segment': _segment, 'pose': _pose, 'classify': _classify,
         'yolov5': _yolov5}


def _shape(tensor):
    """Give a per-stride grid its batch axis: (1, H, W, C)."""
    return tensor if tensor.ndim == 4 else tensor[None]


def quantize_int8(tensor):
    """Symmetric per-tensor int8 (zero point 0): (int8 array, scale)."""
    scale = float(np.abs(tensor).max()) / 127.0
    q = np.clip(np.round(tensor / scale), -128, 127).astype(np.int8)
    return q, scale


def dequantize(q, scale):
    """Return the float32 tensor a runtime gives for an int8 output with ``scale``."""
    return q.astype(np.float32) * np.float32(scale)


def generate(case):
    """Raw outputs of ``case`` in the vendor's order (float32, or (int8, scale) pairs)."""
    rng = np.random.default_rng(case['seed'])
    outputs = [_shape(t).astype(np.float32) for t in HEADS[case['head']](case, rng)]
    if case.get('quantize') == 'int8':
        return [quantize_int8(t) for t in outputs]
    return outputs


def vendor_inputs(case):
    """Return the float32 tensors the vendor's post-processing gets (dequantised if int8)."""
    outputs = generate(case)
    if case.get('quantize') == 'int8':
        return [dequantize(q, s) for q, s in outputs]
    return outputs


def load_cases(path):
    """Read the cases of a cases file; a case's ``like`` copies another's parameters."""
    with open(path) as f:
        raw = json.load(f)['cases']
    by_name = {case['name']: case for case in raw}
    cases = []
    for case in raw:
        if 'like' in case:
            merged = dict(by_name[case['like']])
            merged.update({k: v for k, v in case.items() if k != 'like'})
            case = merged
        cases.append(case)
    return cases
