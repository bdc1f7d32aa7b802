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
Seeded raw RKNN head outputs with planted objects, as rknn_model_zoo's demos receive them.

Written from airockchip/rknn_model_zoo's Python post-processing (see README.md here), and
deliberately independent of edge_perception (nothing is imported from it): the tensor order,
shapes and activations below are what the vendor's code reads, so a decoder that disagrees
with the vendor about a convention cannot also agree with these tensors by construction.

Heads (all NCHW float32, the order RKNNLite returns them in):
- ``yolov8``: per stride 8, 16, 32: box (1, 64, H, W) raw DFL logits, cls (1, nc, H, W)
  probabilities (sigmoid inside the model), score_sum (1, 1, H, W) = clip(sum cls, 0, 1)
  when ``score_sum`` is true (9 outputs, else 6).
- ``yolov8_seg``: per stride box, cls, score_sum, mask coefficients (1, 32, H, W); then the
  prototypes (1, 32, H/4, W/4): 13 outputs.
- ``yolov8_pose``: per stride (1, 64 + nc, H, W) = DFL logits + raw class logits; then the
  keypoints (1, 17, 3, anchors), x, y decoded in input pixels, visibility a probability.
- ``yolov5``: per stride (1, 3 * (5 + nc), H, W), every channel sigmoided; channel
  a * (5 + nc) + k: k = 0..3 box (x, y, w, h), 4 objectness, 5.. classes.
- ``classify``: (1, nc) logits.

Only ``np.random.default_rng`` is used (its streams are the same on numpy 1.21 and 2.x).
"""

import math

import numpy as np

STRIDES = (8, 16, 32)
REG_MAX = 16
MASK_DIM = 32
NUM_KEYPOINTS = 17
# rknn_model_zoo examples/yolov5/model/anchors_yolov5.txt (width, height per stride)
YOLOV5_ANCHORS = (((10, 13), (16, 30), (33, 23)),
                  ((30, 61), (62, 45), (59, 119)),
                  ((116, 90), (156, 198), (373, 326)))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return math.log(p / (1.0 - p))


class _Grid:
    """Which cells of which stride already hold a planted row (no two plants share one)."""

    def __init__(self, input_hw):
        self.h, self.w = input_hw
        self.used = set()

    def shape(self, stride):
        return self.h // stride, self.w // stride

    def take(self, stride, gx, gy, slot=0):
        key = (stride, gx, gy, slot)
        if key in self.used:
            return False
        self.used.add(key)
        return True


def _random_boxes(rng, count, input_hw, num_classes, score_range, min_side, max_side):
    h, w = input_hw
    objects = []
    for _ in range(count):
        bw = float(rng.uniform(min_side, min(max_side, w - 2)))
        bh = float(rng.uniform(min_side, min(max_side, h - 2)))
        x1 = float(rng.uniform(1, w - bw - 1))
        y1 = float(rng.uniform(1, h - bh - 1))
        objects.append({'class': int(rng.integers(num_classes)),
                        'box': [x1, y1, x1 + bw, y1 + bh],
                        'score': float(rng.uniform(*score_range))})
    return objects


def _objects(case, rng):
    """Planted objects (explicit ones, then seeded random ones) and near-threshold distractors."""
    nc, hw = case['num_classes'], tuple(case['input_hw'])
    planted = [dict(o) for o in case.get('objects', ())]
    planted += _random_boxes(rng, case.get('random_objects', 0), hw, nc, (0.35, 0.97), 24,
                             min(hw) * 0.6)
    low, high = case.get('distractor_scores', (0.15, 0.35))
    distractors = _random_boxes(rng, case.get('distractors', 0), hw, nc, (low, high), 20,
                                min(hw) * 0.4)
    return planted, distractors


def _distances(box, stride, gx, gy):
    """DFL distances (grid units) of ``box`` from cell (gx, gy); None when they do not fit."""
    x1, y1, x2, y2 = box
    cx, cy = gx + 0.5, gy + 0.5
    dist = [cx - x1 / stride, cy - y1 / stride, x2 / stride - cx, y2 / stride - cy]
    if min(dist) < 0.05 or max(dist) > REG_MAX - 1.2:
        return None
    return dist


def _dfl_cell(box, stride, grid, rng):
    """Pick the cell of ``box``'s centre at ``stride``; None when the distances do not fit."""
    x1, y1, x2, y2 = box
    gx = int(min(max((x1 + x2) / 2 // stride, 0), grid.w // stride - 1))
    gy = int(min(max((y1 + y2) / 2 // stride, 0), grid.h // stride - 1))
    dist = _distances(box, stride, gx, gy)
    return None if dist is None else (gx, gy, dist)


def _place_dfl(box, grid, rng, prefer=None):
    """(stride, gx, gy, distances) for a box; the finest stride that fits, or ``prefer``."""
    strides = [prefer] if prefer else STRIDES
    for stride in strides:
        found = _dfl_cell(box, stride, grid, rng)
        if found and grid.take(stride, found[0], found[1]):
            return (stride,) + found
    return None


def _dfl_logits(dist, rng):
    """(64,) DFL bin logits whose softmax expectation per side is about ``dist``."""
    out = rng.normal(-9.0, 0.5, (4, REG_MAX))
    for side, d in enumerate(dist):
        lo = int(math.floor(d))
        frac = d - lo
        out[side, lo] = math.log(max(1.0 - frac, 1e-4))
        if lo + 1 < REG_MAX:
            out[side, lo + 1] = math.log(max(frac, 1e-4))
    return out.reshape(-1)


def _jitter(box, rng, pixels):
    return [float(v + rng.uniform(-pixels, pixels)) for v in box]


def _levels(case):
    h, w = case['input_hw']
    return [(s, h // s, w // s) for s in STRIDES]


def _plant_rows(case, rng):
    """Every row to write: (stride, gx, gy, distances, class, score, shape id, keypoints)."""
    grid = _Grid(tuple(case['input_hw']))
    planted, distractors = _objects(case, rng)
    rows = []
    shapes = []
    for kind, objects in (('object', planted), ('distractor', distractors)):
        for obj in objects:
            place = _place_dfl(obj['box'], grid, rng, obj.get('stride'))
            if place is None:
                continue
            shape_id = len(shapes)
            shapes.append(dict(obj, kind=kind))
            kpts = _keypoints_in(obj['box'], rng) if case['head'] == 'yolov8_pose' else None
            rows.append((place, obj['class'], obj['score'], shape_id, kpts))
            if kind == 'object' and case.get('duplicates', True):
                # a neighbour cell with a weaker, shifted copy: NMS has to remove it
                stride, gx, gy, _ = place
                for dx, dy in ((1, 0), (0, 1), (-1, 0)):
                    dup = _jitter(obj['box'], rng, 0.04 * (obj['box'][2] - obj['box'][0]))
                    nx, ny = gx + dx, gy + dy
                    dist = _distances(dup, stride, nx, ny)
                    if dist is None or not (0 <= nx < grid.w // stride) or \
                            not (0 <= ny < grid.h // stride) or not grid.take(stride, nx, ny):
                        continue
                    jk = None if kpts is None else kpts + rng.normal(0, 1.0, kpts.shape) * \
                        np.array([1.0, 1.0, 0.0])
                    rows.append(((stride, nx, ny, dist), obj['class'],
                                 obj['score'] * 0.85, shape_id, jk))
                    break
    return rows, shapes


def _keypoints_in(box, rng):
    x1, y1, x2, y2 = box
    k = np.empty((NUM_KEYPOINTS, 3))
    k[:, 0] = rng.uniform(x1, x2, NUM_KEYPOINTS)
    k[:, 1] = rng.uniform(y1, y2, NUM_KEYPOINTS)
    k[:, 2] = rng.uniform(0.02, 0.99, NUM_KEYPOINTS)
    return k


def _mask_field(shape, ph, pw, input_hw):
    """Smooth mask logits at prototype resolution whose zero level is the planted shape."""
    h, w = input_hw
    ys = (np.arange(ph) + 0.5) * (h / ph)
    xs = (np.arange(pw) + 0.5) * (w / pw)
    x1, y1, x2, y2 = shape['box']
    kind = shape.get('mask', 'ellipse')
    if kind == 'box':
        # a rectangle reaching beyond the box: the mask is what the box crops out of it
        grow = 0.15 * min(x2 - x1, y2 - y1)
        dx = np.minimum(xs - (x1 - grow), (x2 + grow) - xs)[None, :]
        dy = np.minimum(ys - (y1 - grow), (y2 + grow) - ys)[:, None]
        field = np.minimum(dx, dy) * 0.4
    else:
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        rx, ry = 0.42 * (x2 - x1), 0.42 * (y2 - y1)
        r2 = ((xs - cx) / rx)[None, :] ** 2 + ((ys - cy) / ry)[:, None] ** 2
        field = 6.0 * (1.0 - r2)
    return np.clip(field, -8.0, 8.0)


def _yolov8_family(case, rng):
    nc = case['num_classes']
    levels = _levels(case)
    seg = case['head'] == 'yolov8_seg'
    pose = case['head'] == 'yolov8_pose'
    box = [rng.normal(0.0, 1.5, (1, 4 * REG_MAX, gh, gw)) for _, gh, gw in levels]
    if pose:
        cls = [rng.normal(-9.0, 1.5, (1, nc, gh, gw)) for _, gh, gw in levels]   # logits
    else:
        cls = [_sigmoid(rng.normal(-9.0, 1.5, (1, nc, gh, gw))) for _, gh, gw in levels]
    coef = [rng.normal(0.0, 1.0, (1, MASK_DIM, gh, gw)) for _, gh, gw in levels] if seg else []
    rows, shapes = _plant_rows(case, rng)
    index = {s: i for i, (s, _, _) in enumerate(levels)}
    anchors = sum(gh * gw for _, gh, gw in levels)
    kpts = None
    if pose:
        kpts = np.empty((1, NUM_KEYPOINTS, 3, anchors))
        first = 0
        for s, gh, gw in levels:
            col = np.tile(np.arange(gw), gh)
            row = np.repeat(np.arange(gh), gw)
            n = gh * gw
            for axis, cell in ((0, col), (1, row)):
                raw = rng.normal(0.0, 0.7, (NUM_KEYPOINTS, n))
                kpts[0, :, axis, first:first + n] = (2 * raw + cell) * s
            kpts[0, :, 2, first:first + n] = _sigmoid(rng.normal(-1.0, 2.0, (NUM_KEYPOINTS, n)))
            first += n
    for (stride, gx, gy, dist), cls_id, score, shape_id, k in rows:
        i = index[stride]
        shape = shapes[shape_id]
        box[i][0, :, gy, gx] = _dfl_logits(dist, rng)
        if pose:
            cls[i][0, :, gy, gx] = rng.normal(-6.0, 1.0, nc)
            cls[i][0, cls_id, gy, gx] = _logit(score)
            first = sum(gh * gw for s, gh, gw in levels if s < stride)
            kpts[0, :, :, first + gy * levels[i][2] + gx] = k
        else:
            others = rng.uniform(0.0, shape.get('others', 0.5), nc) * score
            cls[i][0, :, gy, gx] = others
            cls[i][0, cls_id, gy, gx] = score
        if seg:
            c = rng.normal(0.0, 0.05, MASK_DIM)
            c[shape_id] = 1.0 + rng.uniform(-0.1, 0.1)
            coef[i][0, :, gy, gx] = c
    outputs = []
    for i in range(len(levels)):
        if pose:
            outputs.append(np.concatenate([box[i], cls[i]], axis=1))
            continue
        outputs += [box[i], cls[i]]
        if case.get('score_sum', True):
            outputs.append(np.clip(cls[i].sum(axis=1, keepdims=True), 0.0, 1.0))
        if seg:
            outputs.append(coef[i])
    if seg:
        h, w = case['input_hw']
        ph, pw = h // 4, w // 4
        protos = rng.normal(0.0, 0.3, (1, MASK_DIM, ph, pw))
        if len(shapes) > MASK_DIM:
            raise ValueError(f'{len(shapes)} masks, at most {MASK_DIM} prototype channels')
        for shape_id, shape in enumerate(shapes):
            protos[0, shape_id] = _mask_field(shape, ph, pw, case['input_hw'])
        outputs.append(protos)
    if pose:
        outputs.append(kpts)
    return [np.ascontiguousarray(o, dtype=np.float32) for o in outputs]


def _yolov5(case, rng):
    nc = case['num_classes']
    per = 5 + nc
    levels = _levels(case)
    preds = []
    for _, gh, gw in levels:
        p = np.empty((3, per, gh, gw))
        p[:, :4] = _sigmoid(rng.normal(0.0, 1.0, (3, 4, gh, gw)))
        p[:, 4] = _sigmoid(rng.normal(-9.0, 1.5, (3, gh, gw)))
        p[:, 5:] = _sigmoid(rng.normal(-4.0, 2.0, (3, nc, gh, gw)))
        preds.append(p)
    grid = _Grid(tuple(case['input_hw']))
    planted, distractors = _objects(case, rng)
    for obj in planted + distractors:
        x1, y1, x2, y2 = obj['box']
        bw, bh = x2 - x1, y2 - y1
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        # the anchor whose shape is closest (in log ratio) and can encode this size
        best = None
        for li, (stride, gh, gw) in enumerate(levels):
            for a, (aw, ah) in enumerate(YOLOV5_ANCHORS[li]):
                rw, rh = bw / aw, bh / ah
                if not (0.05 < rw < 3.6 and 0.05 < rh < 3.6):
                    continue
                cost = abs(math.log(rw)) + abs(math.log(rh))
                if best is None or cost < best[0]:
                    best = (cost, li, a)
        if best is None:
            continue
        _, li, a = best
        stride, gh, gw = levels[li]
        gx, gy = int(cx // stride), int(cy // stride)
        if not (0 <= gx < gw and 0 <= gy < gh) or not grid.take(stride, gx, gy, a):
            continue
        aw, ah = YOLOV5_ANCHORS[li][a]
        p = preds[li]
        p[a, 0, gy, gx] = (cx / stride - gx + 0.5) / 2
        p[a, 1, gy, gx] = (cy / stride - gy + 0.5) / 2
        p[a, 2, gy, gx] = math.sqrt(bw / aw) / 2
        p[a, 3, gy, gx] = math.sqrt(bh / ah) / 2
        best_cls = float(obj.get('cls_prob', rng.uniform(0.8, 0.99)))
        obj_p = min(obj['score'] / best_cls, 0.999)
        p[a, 4, gy, gx] = obj_p
        p[a, 5:, gy, gx] = rng.uniform(0.0, 0.6, nc) * best_cls
        p[a, 5 + obj['class'], gy, gx] = best_cls
    return [np.ascontiguousarray(p.reshape(1, 3 * per, p.shape[2], p.shape[3]), np.float32)
            for p in preds]


def _classify(case, rng):
    logits = rng.normal(0.0, 1.5, (1, case['num_classes']))
    for cls_id, value in case.get('top', ()):
        logits[0, cls_id] = value
    return [logits.astype(np.float32)]


HEADS = {'yolov8': _yolov8_family, 'yolov8_seg': _yolov8_family,
         'yolov8_pose': _yolov8_family, 'yolov5': _yolov5, 'classify': _classify}


def generate(case):
    """Return the float32 outputs of ``case`` (a dict from cases.json), in the vendor's order."""
    rng = np.random.default_rng(case['seed'])
    return HEADS[case['head']](case, rng)


def quantize(real):
    """
    Per-tensor asymmetric int8, as RKNN quantises an output: (q int8, scale, zero point).

    scale = (max - min) / 255 and the zero point puts min at -128 (with 0 representable),
    the affine scheme of rknn-toolkit2's 'asymmetric_quantized-8'.
    """
    lo, hi = min(float(real.min()), 0.0), max(float(real.max()), 0.0)
    scale = float(np.float32((hi - lo) / 255.0 or 1.0))
    zero_point = int(min(max(round(-128 - lo / scale), -128), 127))
    q = np.clip(np.round(real.astype(np.float64) / scale) + zero_point, -128, 127)
    return q.astype(np.int8), scale, zero_point


def dequantize(q, scale, zero_point):
    """float32 values of an int8 tensor, as RKNNLite returns outputs with want_float."""
    return (q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)


def outputs_for(case, dtype):
    """
    Return (float32 outputs the vendor code gets, [(q, scale, zero point) or None] per output).

    dtype 'float32': the generated outputs. 'int8': every output quantised per tensor
    (indices in ``case['float_outputs']`` stay float, as a hybrid-quantised model keeps them)
    and dequantised again.
    """
    outputs = generate(case)
    if dtype == 'float32':
        return outputs, [None] * len(outputs)
    keep_float = set(case.get('float_outputs', ()))
    floats, quants = [], []
    for i, out in enumerate(outputs):
        if i in keep_float or (i - len(outputs)) in keep_float:
            floats.append(out)
            quants.append(None)
            continue
        q, scale, zero = quantize(out)
        floats.append(dequantize(q, scale, zero))
        quants.append((q, scale, zero))
    return floats, quants


def fingerprint(outputs):
    """Shape and float64 sum of each output: regenerated tensors must equal the recorded ones."""
    return [{'shape': list(o.shape), 'sum': float(np.asarray(o, np.float64).sum())}
            for o in outputs]
