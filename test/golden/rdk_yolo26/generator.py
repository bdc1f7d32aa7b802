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
Seeded raw RDK BPU outputs of rdk_model_zoo's YOLO26 heads, with planted objects.

Written from D-Robotics/rdk_model_zoo samples/vision/ultralytics_yolo26 (README.md here) and
independent of edge_perception (nothing is imported from it). The tensor order, shapes and
conventions are what the zoo's runtime/python/yolo26_det.py and yolo26_obb.py read
(``outputs[i].buffer``, NHWC float32, strides 8, 16, 32):

- ``yolo26_det``: per stride cls (1, H, W, nc) raw logits, then box (1, H, W, 4): distances
  l, t, r, b from the cell centre in grid units (no DFL): 6 outputs.
- ``yolo26_obb``: per stride cls, box, angle (1, H, W, 1): 9 outputs. The angle tensor holds
  the value v the zoo's code turns into (sigmoid(v) - 0.5) * pi radians; the planted boxes are
  encoded so that the zoo's reading gives them.

Background cells have class logits far below any threshold and positive distances; each
planted object sits in one cell (its best class the planted score's logit, the other classes
far lower). Only ``np.random.default_rng`` is used (its streams are the same on numpy 1.21
and 2.x).
"""

import math

import numpy as np

STRIDES = (8, 16, 32)


def _logit(p):
    return math.log(p / (1.0 - p))


def _levels(case):
    h, w = case['input_hw']
    return [(s, h // s, w // s) for s in STRIDES]


def _iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _random_objects(rng, case, count, score_range, placed):
    h, w = case['input_hw']
    out, tries = [], 0
    while len(out) < count and tries < 100 * count:
        tries += 1
        side = min(h, w)
        bw = float(rng.uniform(0.05 * side, 0.45 * side))
        bh = float(rng.uniform(0.05 * side, 0.45 * side))
        x1 = float(rng.uniform(1, w - bw - 1))
        y1 = float(rng.uniform(1, h - bh - 1))
        box = [x1, y1, x1 + bw, y1 + bh]
        # well apart (IoU < 0.3 with every other object): an NMS-free head's output
        if any(_iou(box, o['box']) >= 0.3 for o in placed + out):
            continue
        obj = {'class': int(rng.integers(case['num_classes'])), 'box': box,
               'score': float(rng.uniform(*score_range))}
        if case['head'] == 'yolo26_obb':
            obj['angle'] = float(rng.uniform(-1.4, 1.4))
        out.append(obj)
    return out


def objects(case):
    """Return the case's planted objects: cases.json's own, then seeded random ones."""
    rng = np.random.default_rng(case['seed'] + 1000)
    planted = [dict(o) for o in case.get('objects', ())]
    planted += _random_objects(rng, case, case.get('random_objects', 0), (0.3, 0.97), planted)
    return planted


def _distances(obj, stride, gx, gy):
    """l, t, r, b (grid units) from the centre of cell (gx, gy) that decode to the object."""
    x1, y1, x2, y2 = obj['box']
    cx, cy = gx + 0.5, gy + 0.5
    if 'angle' not in obj:
        return [cx - x1 / stride, cy - y1 / stride, x2 / stride - cx, y2 / stride - cy]
    a = obj['angle']
    ox, oy = (x1 + x2) / 2 / stride - cx, (y1 + y2) / 2 / stride - cy
    xf = ox * math.cos(a) + oy * math.sin(a)
    yf = -ox * math.sin(a) + oy * math.cos(a)
    w, h = (x2 - x1) / stride, (y2 - y1) / stride
    return [w / 2 - xf, h / 2 - yf, w / 2 + xf, h / 2 + yf]


def _place(obj, levels, used):
    """(level index, gx, gy, distances) at the finest stride whose cell holds the centre."""
    for i, (stride, gh, gw) in enumerate(levels):
        if obj.get('stride') and obj['stride'] != stride:
            continue
        x1, y1, x2, y2 = obj['box']
        gx = int(min(max((x1 + x2) / 2 // stride, 0), gw - 1))
        gy = int(min(max((y1 + y2) / 2 // stride, 0), gh - 1))
        if (i, gx, gy) in used:
            continue
        dist = _distances(obj, stride, gx, gy)
        if min(dist) < 0.05 or max(dist) > 40:
            continue
        used.add((i, gx, gy))
        return i, gx, gy, dist
    return None


def outputs_for(case):
    """Return (the outputs in the zoo's order, float32 NHWC; the planted objects)."""
    rng = np.random.default_rng(case['seed'])
    nc = case['num_classes']
    obb = case['head'] == 'yolo26_obb'
    levels = _levels(case)
    cls = [rng.normal(-9.0, 1.0, (1, gh, gw, nc)) for _, gh, gw in levels]
    box = [rng.uniform(0.3, 4.0, (1, gh, gw, 4)) for _, gh, gw in levels]
    angle = [rng.normal(0.0, 1.0, (1, gh, gw, 1)) for _, gh, gw in levels]
    used = set()
    planted = objects(case)
    for obj in planted:
        place = _place(obj, levels, used)
        if place is None:
            obj['placed'] = False
            continue
        i, gx, gy, dist = place
        box[i][0, gy, gx] = dist
        cls[i][0, gy, gx] = rng.normal(-7.0, 1.0, nc)
        cls[i][0, gy, gx, obj['class']] = _logit(obj['score'])
        if obb:
            angle[i][0, gy, gx, 0] = _logit(obj['angle'] / math.pi + 0.5)
    out = []
    for i in range(len(levels)):
        out += [cls[i], box[i]] + ([angle[i]] if obb else [])
    return [np.ascontiguousarray(o, dtype=np.float32) for o in out], planted


def fingerprint(tensors):
    """(shape, float64 sum) of each tensor: the golden files record them."""
    return [[list(t.shape), float(np.asarray(t, np.float64).sum())] for t in tensors]
