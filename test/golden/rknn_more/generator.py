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
Seeded raw RKNN head outputs with planted objects for the zoo heads beyond YOLOv5/YOLOv8.

Written from airockchip/rknn_model_zoo's Python post-processing (README.md here) and
independent of edge_perception (nothing is imported from it), as test/golden/rknn's generator:
the tensor order, shapes and activations below are what the vendor's code reads.

Heads (NCHW float32, in the order RKNNLite returns them):
- ``yolov6``: per stride box (1, 4, H, W) distances l, t, r, b in grid units (no DFL), cls
  (1, nc, H, W) probabilities, score_sum (1, 1, H, W): 9 outputs.
- ``ppyoloe``: per stride box (1, 68, H, W) DFL logits (17 bins), cls, score_sum: 9 outputs.
- ``yolov10`` / ``yolo11``: per stride box (1, 64, H, W) DFL logits (16 bins), cls, score_sum.
- ``yolox``: per stride (1, 5 + nc, H, W): x, y offsets from the cell corner and log w, h (grid
  units, raw), objectness and class probabilities (sigmoid inside the model): 3 outputs.
- ``yolov7``: per stride (1, 3 * (5 + nc), H, W), all sigmoided, YOLOv7's anchors.
- ``yolov8_obb``: per stride (1, 64 + nc, H, W) DFL logits + raw class logits, then the angle
  (1, 1, anchors) as the model's sigmoid (angle = (value - 0.25) * pi): 4 outputs.

Only ``np.random.default_rng`` is used (its streams are the same on numpy 1.21 and 2.x).
"""

import importlib.util
import math
import os

import numpy as np


def _rknn_generator():
    """test/golden/rknn's generator (loaded by path, as the tests load both): its int8 scheme."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'rknn',
                        'generator.py')
    spec = importlib.util.spec_from_file_location('rknn_golden_generator_base', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_BASE = _rknn_generator()
quantize, dequantize, fingerprint = _BASE.quantize, _BASE.dequantize, _BASE.fingerprint

STRIDES = (8, 16, 32)
# rknn_model_zoo examples/yolov7/model/anchors_yolov7.txt (width, height per stride)
YOLOV7_ANCHORS = (((12, 16), (19, 36), (40, 28)),
                  ((36, 75), (76, 55), (72, 146)),
                  ((142, 110), (192, 243), (459, 401)))
BINS = {'yolov10': 16, 'yolo11': 16, 'ppyoloe': 17, 'yolov8_obb': 16}


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p):
    return math.log(p / (1.0 - p))


def _levels(case):
    h, w = case['input_hw']
    return [(s, h // s, w // s) for s in STRIDES]


def _random_objects(rng, case, count, score_range, min_side, max_side):
    h, w = case['input_hw']
    out = []
    for _ in range(count):
        bw = float(rng.uniform(min_side, min(max_side, w - 2)))
        bh = float(rng.uniform(min_side, min(max_side, h - 2)))
        x1 = float(rng.uniform(1, w - bw - 1))
        y1 = float(rng.uniform(1, h - bh - 1))
        obj = {'class': int(rng.integers(case['num_classes'])), 'box': [x1, y1, x1 + bw, y1 + bh],
               'score': float(rng.uniform(*score_range))}
        if case['head'] == 'yolov8_obb':
            obj['angle'] = float(rng.uniform(-0.7, 2.3))
        out.append(obj)
    return out


def _objects(case, rng):
    planted = [dict(o) for o in case.get('objects', ())]
    low = case.get('score_floor', 0.35)
    planted += _random_objects(rng, case, case.get('random_objects', 0), (low, 0.97), 24,
                               min(case['input_hw']) * 0.5)
    d_low, d_high = case.get('distractor_scores', (0.1, 0.24))
    planted += [dict(o, distractor=True) for o in _random_objects(
        rng, case, case.get('distractors', 0), (d_low, d_high), 20, min(case['input_hw']) * 0.4)]
    return planted


def _dfl_logits(dist, bins, rng):
    out = rng.normal(-9.0, 0.5, (4, bins))
    for side, d in enumerate(dist):
        lo = int(math.floor(d))
        frac = d - lo
        out[side, lo] = math.log(max(1.0 - frac, 1e-4))
        if lo + 1 < bins:
            out[side, lo + 1] = math.log(max(frac, 1e-4))
    return out.reshape(-1)


def _ltrb(box, stride, gx, gy):
    x1, y1, x2, y2 = box
    cx, cy = gx + 0.5, gy + 0.5
    return [cx - x1 / stride, cy - y1 / stride, x2 / stride - cx, y2 / stride - cy]


def _rotated_ltrb(obj, stride, gx, gy):
    """l, t, r, b (grid units) whose rotated decoding gives the planted oriented box."""
    x1, y1, x2, y2 = obj['box']
    a = obj['angle']
    ox, oy = (x1 + x2) / 2 / stride - (gx + 0.5), (y1 + y2) / 2 / stride - (gy + 0.5)
    xf = ox * math.cos(a) + oy * math.sin(a)
    yf = -ox * math.sin(a) + oy * math.cos(a)
    w, h = (x2 - x1) / stride, (y2 - y1) / stride
    return [w / 2 - xf, h / 2 - yf, w / 2 + xf, h / 2 + yf]


def _place(obj, case, used, max_dist):
    """(stride, gx, gy, distances) at the finest stride that encodes the box, or None."""
    strides = [obj['stride']] if obj.get('stride') else STRIDES
    h, w = case['input_hw']
    for stride in strides:
        x1, y1, x2, y2 = obj['box']
        gx = int(min(max((x1 + x2) / 2 // stride, 0), w // stride - 1))
        gy = int(min(max((y1 + y2) / 2 // stride, 0), h // stride - 1))
        dist = _rotated_ltrb(obj, stride, gx, gy) if 'angle' in obj else \
            _ltrb(obj['box'], stride, gx, gy)
        if min(dist) < 0.05 or max(dist) > max_dist or (stride, gx, gy) in used:
            continue
        used.add((stride, gx, gy))
        return stride, gx, gy, dist
    return None


def _split_head(case, rng):
    """yolov6, ppyoloe, yolov10, yolo11 (box, cls, score_sum per stride) and yolov8_obb."""
    head, nc = case['head'], case['num_classes']
    levels = _levels(case)
    index = {s: i for i, (s, _, _) in enumerate(levels)}
    obb = head == 'yolov8_obb'
    bins = BINS.get(head, 1)
    if head == 'yolov6':
        box = [rng.uniform(0.5, 3.0, (1, 4, gh, gw)) for _, gh, gw in levels]
        max_dist = 60.0
    else:
        box = [rng.normal(0.0, 1.5, (1, 4 * bins, gh, gw)) for _, gh, gw in levels]
        max_dist = bins - 1.2
    if obb:
        cls = [rng.normal(-9.0, 1.5, (1, nc, gh, gw)) for _, gh, gw in levels]      # logits
        anchors = sum(gh * gw for _, gh, gw in levels)
        angle = _sigmoid(rng.normal(0.0, 1.0, (1, 1, anchors)))
    else:
        cls = [_sigmoid(rng.normal(-9.0, 1.5, (1, nc, gh, gw))) for _, gh, gw in levels]
    used = set()
    for obj in _objects(case, rng):
        copies = [obj]
        if not obj.get('distractor') and case.get('duplicates', True):
            dup = dict(obj, score=obj['score'] * 0.85, duplicate=True)
            shift = 0.03 * (obj['box'][2] - obj['box'][0])
            dup['box'] = [v + float(rng.uniform(-shift, shift)) for v in obj['box']]
            copies.append(dup)
        first_place = None
        for copy in copies:
            if copy.get('duplicate'):
                if first_place is None:
                    continue
                stride, gx, gy, _ = first_place
                place = None
                for dx, dy in ((1, 0), (0, 1), (-1, 0)):
                    nx, ny = gx + dx, gy + dy
                    gh, gw = levels[index[stride]][1:]
                    if not (0 <= nx < gw and 0 <= ny < gh) or (stride, nx, ny) in used:
                        continue
                    dist = _rotated_ltrb(copy, stride, nx, ny) if obb else \
                        _ltrb(copy['box'], stride, nx, ny)
                    if min(dist) < 0.05 or max(dist) > max_dist:
                        continue
                    used.add((stride, nx, ny))
                    place = (stride, nx, ny, dist)
                    break
            else:
                place = _place(copy, case, used, max_dist)
                first_place = place
            if place is None:
                continue
            stride, gx, gy, dist = place
            i = index[stride]
            if head == 'yolov6':
                box[i][0, :, gy, gx] = dist
            else:
                box[i][0, :, gy, gx] = _dfl_logits(dist, bins, rng)
            score = copy['score']
            if obb:
                cls[i][0, :, gy, gx] = rng.normal(-6.0, 1.0, nc)
                cls[i][0, copy['class'], gy, gx] = _logit(score)
                first = sum(gh * gw for s, gh, gw in levels if s < stride)
                angle[0, 0, first + gy * levels[i][2] + gx] = copy['angle'] / math.pi + 0.25
            else:
                cls[i][0, :, gy, gx] = rng.uniform(
                    0.0, copy.get('others', case.get('others', 0.5)), nc) * score
                cls[i][0, copy['class'], gy, gx] = score
                if 'second' in copy:
                    cls[i][0, copy['second'][0], gy, gx] = copy['second'][1] * (
                        0.85 if copy.get('duplicate') else 1.0)
    outputs = []
    for i in range(len(levels)):
        if obb:
            outputs.append(np.concatenate([box[i], cls[i]], axis=1))
            continue
        outputs += [box[i], cls[i]]
        if case.get('score_sum', True):
            outputs.append(np.clip(cls[i].sum(axis=1, keepdims=True), 0.0, 1.0))
    if obb:
        outputs.append(angle)
    return [np.ascontiguousarray(o, dtype=np.float32) for o in outputs]


def _yolox(case, rng):
    nc = case['num_classes']
    levels = _levels(case)
    preds = []
    for _, gh, gw in levels:
        p = np.empty((5 + nc, gh, gw))
        p[0:2] = rng.normal(0.5, 0.3, (2, gh, gw))
        p[2:4] = rng.normal(0.0, 0.5, (2, gh, gw))
        p[4] = _sigmoid(rng.normal(-9.0, 1.5, (gh, gw)))
        p[5:] = _sigmoid(rng.normal(-4.0, 2.0, (nc, gh, gw)))
        preds.append(p)
    used = set()
    for obj in _objects(case, rng):
        x1, y1, x2, y2 = obj['box']
        side = max(x2 - x1, y2 - y1)
        # the stride a YOLOX head would use: the box spans about 2-12 cells there
        li = 0 if side < 96 else (1 if side < 256 else 2)
        if obj.get('stride'):
            li = STRIDES.index(obj['stride'])
        stride, gh, gw = levels[li]
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        gx, gy = int(cx // stride), int(cy // stride)
        if (stride, gx, gy) in used:
            continue
        used.add((stride, gx, gy))
        p = preds[li]
        p[0, gy, gx] = cx / stride - gx
        p[1, gy, gx] = cy / stride - gy
        p[2, gy, gx] = math.log((x2 - x1) / stride)
        p[3, gy, gx] = math.log((y2 - y1) / stride)
        best = float(obj.get('cls_prob', rng.uniform(0.8, 0.99)))
        p[4, gy, gx] = min(obj['score'] / best, 0.999)
        p[5:, gy, gx] = rng.uniform(0.0, 0.6, nc) * best
        p[5 + obj['class'], gy, gx] = best
    return [np.ascontiguousarray(p[None], np.float32) for p in preds]


def _yolov7(case, rng):
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
    used = set()
    for obj in _objects(case, rng):
        x1, y1, x2, y2 = obj['box']
        bw, bh = x2 - x1, y2 - y1
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        best = None
        for li in range(len(levels)):
            for a, (aw, ah) in enumerate(YOLOV7_ANCHORS[li]):
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
        if not (0 <= gx < gw and 0 <= gy < gh) or (stride, gx, gy, a) in used:
            continue
        used.add((stride, gx, gy, a))
        aw, ah = YOLOV7_ANCHORS[li][a]
        p = preds[li]
        p[a, 0, gy, gx] = (cx / stride - gx + 0.5) / 2
        p[a, 1, gy, gx] = (cy / stride - gy + 0.5) / 2
        p[a, 2, gy, gx] = math.sqrt(bw / aw) / 2
        p[a, 3, gy, gx] = math.sqrt(bh / ah) / 2
        best_cls = float(obj.get('cls_prob', rng.uniform(0.8, 0.99)))
        p[a, 4, gy, gx] = min(obj['score'] / best_cls, 0.999)
        p[a, 5:, gy, gx] = rng.uniform(0.0, 0.6, nc) * best_cls
        p[a, 5 + obj['class'], gy, gx] = best_cls
    return [np.ascontiguousarray(p.reshape(1, 3 * per, p.shape[2], p.shape[3]), np.float32)
            for p in preds]


HEADS = {'yolov6': _split_head, 'ppyoloe': _split_head, 'yolov10': _split_head,
         'yolo11': _split_head, 'yolov8_obb': _split_head, 'yolox': _yolox, 'yolov7': _yolov7}


def generate(case):
    """Return the float32 outputs of ``case`` (a dict from cases.json), in the vendor's order."""
    rng = np.random.default_rng(case['seed'])
    return HEADS[case['head']](case, rng)


def outputs_for(case, dtype):
    """(float32 outputs the vendor code gets, [(q, scale, zero point) or None] per output)."""
    outputs = generate(case)
    if dtype == 'float32':
        return outputs, [None] * len(outputs)
    floats, quants = [], []
    for out in outputs:
        q, scale, zero = quantize(out)
        floats.append(dequantize(q, scale, zero))
        quants.append((q, scale, zero))
    return floats, quants
