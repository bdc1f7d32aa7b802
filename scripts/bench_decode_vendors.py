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
Decode speed of our decoders against the vendors' own post-processing and a one-pass floor.

For each head layout at 640x640 with 80 classes and ``--objects`` planted objects (raw tensors
from the golden generators in test/golden/), times interleaved in this one process:

- ours: ``edge_perception.Decoder`` (layout bound once), thresholds 0.25 / NMS 0.45;
- before (``--baseline DIR``): the same, from a copy of the package in DIR/edge_perception;
- vendor (``--rknn-zoo DIR``, ``--rdk-zoo DIR``: checkouts of airockchip/rknn_model_zoo and
  D-Robotics/rdk_model_zoo, imported from there at run time, never part of this repository):
  rknn_model_zoo's ``post_process`` (examples/yolov8, examples/yolov5) and rdk_model_zoo's
  ``postProcess`` (Ultralytics_YOLO_Detect_Bayese_YUV420SP, YOLOv5_Detect), on the float32
  tensors they read (int8 rows: the dequantised floats, as the runtimes hand them back);
- floor: ``max()`` of every output that holds class scores (the cls tensors, YOLOv5's whole
  pred tensors, the dense tensor's class rows), raw dtype as given: one flat pass reading each
  class score once, which a decoder without a score_sum pre-filter cannot avoid.

Medians over ``--repeat`` rounds; in each round every contestant of every row runs once, in a
new random order, each call after a cache flush (``--flush-mb``), timed in this thread's CPU
time (``--clock wall``: perf_counter). Each row also checks that ours gives the vendor's
detections (class, score within 1e-4, boxes within 0.5 px, or within the vendor's int
truncation); the exit status is 1 when one does not. rknn's yolov8
``post_process`` needs torch (its DFL): run in an environment with torch (``.venv-tools``).
"""

import argparse
import gc
import importlib.util
import logging
import math
import os
import statistics
import sys
import time
import types

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from edge_perception.decoders import DecodeOptions, Decoder  # noqa: E402
from edge_perception.layouts import match_layout  # noqa: E402
from edge_perception.tensors import QuantizedTensor  # noqa: E402

CONF, IOU = 0.25, 0.45
INPUT = 640
NC = 80
STRIDES = (8, 16, 32)
ANCHORS = (((10, 13), (16, 30), (33, 23)), ((30, 61), (62, 45), (59, 119)),
           ((116, 90), (156, 198), (373, 326)))
ROWS = (('rknn', 'float32'), ('rknn', 'int8'), ('rknn_6out', 'float32'), ('rknn_6out', 'int8'),
        ('rknn_nhwc', 'float32'), ('rknn_nhwc', 'int8'), ('rdk', 'float32'), ('rdk', 'int8'),
        ('rknn_yolov5', 'float32'), ('rknn_yolov5', 'int8'), ('rdk_yolov5', 'float32'),
        ('rdk_yolov5', 'int8'), ('ultralytics', 'float32'))


def _load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_package_copy(directory, name='edge_perception_before'):
    """Import DIR/edge_perception under another name (its relative imports stay inside)."""
    pkg = os.path.join(os.path.abspath(directory), 'edge_perception')
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(pkg, '__init__.py'), submodule_search_locations=[pkg])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------- raw tensors (golden generators)

def _generators():
    rknn = _load_file('rknn_golden_generator', os.path.join(REPO, 'test/golden/rknn/generator.py'))
    rdk = _load_file('rdk_golden_generator', os.path.join(REPO, 'test/golden/rdk/generator.py'))
    return rknn, rdk


def _iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0.0) * max(h, 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _rdk_objects(rng, count):
    """RDK detect objects whose centre cell and duplicate cell (col + 1) are all distinct."""
    used, objects = set(), []
    while len(objects) < count:
        side = rng.uniform(32, 400, 2)
        x1, y1 = rng.uniform(2, INPUT - side - 2)
        box = [float(x1), float(y1), float(x1 + side[0]), float(y1 + side[1])]
        big = max(side)
        stride = 8 if big <= 96 else 16 if big <= 192 else 32
        col, row = int((box[0] + box[2]) / 2 // stride), int((box[1] + box[3]) / 2 // stride)
        cells = {(stride, row, col), (stride, row, col + 1)}
        if col + 1 >= INPUT // stride or cells & used or not all(
                0 <= d < 14 for c in (col, col + 1) for d in _distances(box, stride, row, c)) \
                or any(_iou(box, o['box']) > IOU for o in objects):   # each one detectable
            continue
        used |= cells
        objects.append({'cls': int(rng.integers(NC)), 'box': box,
                        'score': float(rng.uniform(0.35, 0.97)), 'dups': 1})
    return objects


def _distances(box, stride, row, col):
    """DFL distances (l, t, r, b) of ``box`` from a cell centre, in grid units."""
    cx, cy = (col + 0.5) * stride, (row + 0.5) * stride
    return ((cx - box[0]) / stride, (cy - box[1]) / stride, (box[2] - cx) / stride,
            (box[3] - cy) / stride)


def _rdk_yolov5_objects(rng, count):
    """
    YOLOv5 objects on distinct (stride, cell, anchor) slots.

    rdk_model_zoo's YOLOv5 passes x1, y1, x2, y2 to cv2.dnn.NMSBoxes, which reads x, y, w, h
    (README of test/golden/rdk): scenes are drawn so that both readings agree on every pair.
    """
    used, objects = set(), []
    while len(objects) < count:
        level, anchor = int(rng.integers(3)), int(rng.integers(3))
        aw, ah = ANCHORS[level][anchor]
        bw, bh = aw * rng.uniform(0.6, 2.5), ah * rng.uniform(0.6, 2.5)
        if bw > INPUT - 8 or bh > INPUT - 8:
            continue
        x1, y1 = rng.uniform(2, INPUT - bw - 2), rng.uniform(2, INPUT - bh - 2)
        box = [float(x1), float(y1), float(x1 + bw), float(y1 + bh)]
        stride = STRIDES[level]
        key = (level, int((x1 + bw / 2) // stride), int((y1 + bh / 2) // stride), anchor)
        misread = [box[0], box[1], box[0] + box[2], box[1] + box[3]]
        clash = any((_iou(box, o['box']) > IOU) != (_iou(misread, o['misread']) > IOU)
                    or _iou(box, o['box']) > IOU for o in objects)
        if key in used or clash:
            continue
        used.add(key)
        objects.append({'cls': int(rng.integers(NC)), 'box': box, 'level': level,
                        'anchor': anchor, 'score': float(rng.uniform(0.35, 0.95)),
                        'misread': misread})
    for obj in objects:
        del obj['misread']
    return objects


def _dense_from_split(split):
    """(1, 4+nc, A) ultralytics output from 6 RKNN split tensors: DFL expectation per anchor."""
    boxes, scores = [], []
    for box, cls in zip(split[0::2], split[1::2]):
        _, _, h, w = box.shape
        stride = INPUT // h
        bins = box.reshape(4, 16, h * w).astype(np.float64)
        p = np.exp(bins - bins.max(axis=1, keepdims=True))
        dist = (p * np.arange(16)[None, :, None]).sum(axis=1) / p.sum(axis=1)
        cx = (np.tile(np.arange(w), h) + 0.5)
        cy = (np.repeat(np.arange(h), w) + 0.5)
        x1, y1, x2, y2 = cx - dist[0], cy - dist[1], cx + dist[2], cy + dist[3]
        boxes.append(np.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1]) * stride)
        scores.append(cls.reshape(NC, h * w))
    dense = np.concatenate([np.concatenate(boxes, 1), np.concatenate(scores, 1)], 0)
    return np.ascontiguousarray(dense[None], np.float32)


class Row:
    """One benchmark row: our inputs, the vendor's inputs, the tensors the floor reads."""

    def __init__(self, layout, dtype, ours, vendor_inputs, floor_tensors, options, binding_name):
        """Hold one row's inputs; ``ours`` is (bound Decoder, its outputs)."""
        self.layout, self.dtype, self.ours = layout, dtype, ours
        self.vendor_inputs, self.floor_tensors = vendor_inputs, floor_tensors
        self.options, self.binding_name = options, binding_name
        self.found = 0
        self.vendor = None          # (callable, normaliser) when the zoo is given
        self.reference = None       # (layout name, vendor detections) to compare with


def _raw(t):
    return t.data if isinstance(t, QuantizedTensor) else t


def build_rows(objects, seed, wanted):
    """Return the rows (layout, dtype) in ``wanted``, all made from the golden generators."""
    rknn_gen, rdk_gen = _generators()
    rows = []
    for layout, dtype in wanted:
        opts = DecodeOptions(CONF, IOU, 300, agnostic_nms=layout == 'rdk_yolov5')
        if layout in ('rknn', 'rknn_6out', 'rknn_nhwc', 'ultralytics'):
            case = {'head': 'yolov8', 'seed': seed, 'input_hw': [INPUT, INPUT],
                    'num_classes': NC, 'random_objects': objects,
                    'score_sum': layout != 'rknn_6out' and layout != 'ultralytics'}
        elif layout == 'rknn_yolov5':
            case = {'head': 'yolov5', 'seed': seed, 'input_hw': [INPUT, INPUT],
                    'num_classes': NC, 'random_objects': objects}
        if layout.startswith('rknn') or layout == 'ultralytics':
            floats, quants = rknn_gen.outputs_for(case, dtype)
            ours = floats if dtype == 'float32' else [
                QuantizedTensor(q, s, z) for q, s, z in quants]
            vendor_in = floats
            if layout == 'rknn_nhwc':
                def nhwc(t):
                    return np.ascontiguousarray(np.transpose(t, (0, 2, 3, 1)))
                ours = [nhwc(t) if not isinstance(t, QuantizedTensor) else
                        QuantizedTensor(nhwc(t.data), t.scale, t.zero_point) for t in ours]
            if layout == 'ultralytics':
                ours = [_dense_from_split(floats)]
                floor = [ours[0][0, 4:]]
            elif layout == 'rknn_yolov5':
                floor = [_raw(t) for t in ours]
            else:
                per = 3 if case['score_sum'] else 2
                floor = [_raw(t) for t in ours[1::per]]
        else:
            rng = np.random.default_rng(seed)
            if layout == 'rdk':
                case = {'head': 'detect', 'seed': seed, 'input': [INPUT, INPUT],
                        'num_classes': NC, 'objects': _rdk_objects(rng, objects)}
            else:
                case = {'head': 'yolov5', 'seed': seed, 'input': [INPUT, INPUT],
                        'num_classes': NC, 'objects': _rdk_yolov5_objects(rng, objects)}
            if dtype == 'int8':
                case['quantize'] = 'int8'
            vendor_in = rdk_gen.vendor_inputs(case)
            ours = vendor_in if dtype == 'float32' else [
                QuantizedTensor(q, s, 0) for q, s in rdk_gen.generate(case)]
            floor = [_raw(t) for t in (ours[0::2] if layout == 'rdk' else ours)]
        name = 'rknn' if layout == 'rknn_6out' else layout
        binding = match_layout([t.shape for t in ours], (INPUT, INPUT), NC, name)
        rows.append(Row(layout, dtype, (Decoder(binding), ours), vendor_in, floor, opts, name))
    return rows


# ------------------------------------------------------------------------- vendors' code

def _stand_in_hobot_dnn():
    """pyeasy_dnn exists on RDK boards only; postProcess never touches it."""
    try:
        import hobot_dnn.pyeasy_dnn  # noqa: F401
        return
    except ImportError:
        pass
    pkg = types.ModuleType('hobot_dnn')
    dnn = types.ModuleType('hobot_dnn.pyeasy_dnn')
    dnn.pyDNNTensor = type('pyDNNTensor', (), {})
    dnn.load = None
    pkg.pyeasy_dnn = dnn
    sys.modules['hobot_dnn'], sys.modules['hobot_dnn.pyeasy_dnn'] = pkg, dnn


def _cells(stride):
    """(H*W, 2) cell centres (x, y) in grid units, row-major."""
    n = INPUT // stride
    rows, cols = np.indices((n, n)).reshape(2, -1)
    return np.stack([cols + 0.5, rows + 0.5], axis=1)


def load_rknn_zoo(root):
    """rknn_model_zoo's yolov8 and yolov5 post_process, set to our input size and thresholds."""
    root = os.path.abspath(root)
    if 'rknn_model_zoo' not in root.split(os.sep):
        sys.exit('--rknn-zoo: the directory must be named rknn_model_zoo (the demos find '
                 'py_utils through that path component)')
    try:
        # its DFL runs in torch: one intra-op thread, as on a loaded board core; with two
        # threads on this machine's two shared cores torch took 30x longer, not the vendor's fault
        import torch
        torch.set_num_threads(1)
    except ImportError:
        sys.exit("--rknn-zoo: rknn_model_zoo's yolov8 post_process needs torch (.venv-tools)")
    v8 = _load_file('rknn_zoo_yolov8', os.path.join(root, 'examples/yolov8/python/yolov8.py'))
    v5 = _load_file('rknn_zoo_yolov5', os.path.join(root, 'examples/yolov5/python/yolov5.py'))
    for module in (v8, v5):
        module.IMG_SIZE, module.OBJ_THRESH, module.NMS_THRESH = (INPUT, INPUT), CONF, IOU
    with open(os.path.join(root, 'examples/yolov5/model/anchors_yolov5.txt')) as f:
        anchors = np.array([float(line) for line in f if line.strip()]).reshape(3, -1, 2).tolist()

    def norm(result):
        boxes, classes, scores = result
        if boxes is None:
            return np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), False
        return np.asarray(boxes, np.float64), np.asarray(classes), np.asarray(scores), False
    return {'yolov8': (v8.post_process, norm),
            'yolov5': (lambda outs: v5.post_process(outs, anchors), norm)}


def load_rdk_zoo(root):
    """rdk_model_zoo's postProcess methods on objects built without __init__ (no model)."""
    root = os.path.abspath(root)
    _stand_in_hobot_dnn()
    det = _load_file('rdk_zoo_detect', os.path.join(
        root, 'samples/vision/ultralytics_yolo/py/Ultralytics_YOLO_Detect_YUV420SP.py'))
    v5 = _load_file('rdk_zoo_yolov5', os.path.join(root, 'samples/vision/yolov5/YOLOv5_Detect.py'))
    logging.getLogger('RDK_YOLO').setLevel(logging.INFO)     # their per-call debug lines
    d = det.Ultralytics_YOLO_Detect_Bayese_YUV420SP.__new__(
        det.Ultralytics_YOLO_Detect_Bayese_YUV420SP)
    d.REG, d.CLASSES_NUM, d.SCORE_THRESHOLD, d.NMS_THRESHOLD = 16, NC, CONF, IOU
    d.CONF_THRES_RAW = -math.log(1 / CONF - 1)
    d.input_H = d.input_W = INPUT
    d.strides = list(STRIDES)
    d.weights_static = np.arange(16, dtype=np.float32)[np.newaxis, np.newaxis, :]
    d.grids = [_cells(s) for s in STRIDES]
    d.x_scale = d.y_scale = 1.0
    d.x_shift = d.y_shift = 0
    d.img_w = d.img_h = INPUT
    y = v5.YOLOv5_Detect.__new__(v5.YOLOv5_Detect)
    y.conf, y.iou, y.nc, y.strides = CONF, IOU, NC, np.array(STRIDES)
    y.x_scale = y.y_scale = 1.0
    grids = [np.repeat(_cells(s), 3, axis=0) for s in STRIDES]
    y.s_grid, y.m_grid, y.l_grid = grids
    anchors = [np.tile(np.array(a, np.float64), ((INPUT // s) ** 2, 1)) for a, s in
               zip(ANCHORS, STRIDES)]
    y.s_anchors, y.m_anchors, y.l_anchors = anchors

    def norm_det(result):
        if not result:
            return np.zeros((0, 4)), np.zeros(0, int), np.zeros(0), True
        arr = np.asarray([r[2:] for r in result], np.float64)
        return arr, np.array([r[0] for r in result]), np.array([r[1] for r in result]), True

    def norm_v5(result):
        ids, scores, boxes = result
        return (np.asarray(boxes, np.float64).reshape(-1, 4), np.asarray(ids).reshape(-1),
                np.asarray(scores).reshape(-1), True)
    return {'detect': (d.postProcess, norm_det), 'yolov5': (y.postProcess, norm_v5)}


VENDOR_OF = {'rknn': ('rknn', 'yolov8'), 'rknn_6out': ('rknn', 'yolov8'),
             'rknn_nhwc': ('rknn', 'yolov8'), 'ultralytics': ('rknn', 'yolov8'),
             'rknn_yolov5': ('rknn', 'yolov5'), 'rdk': ('rdk', 'detect'),
             'rdk_yolov5': ('rdk', 'yolov5')}


def same_detections(det, vendor_result):
    """Return '' when ours equal the vendor's (class, score, box), else what differs."""
    boxes, classes, scores, truncated = vendor_result
    if len(det) != len(scores):
        return f'{len(det)} detections, vendor {len(scores)}'
    ours = sorted(range(len(det)), key=lambda i: (int(det.class_id[i]), -det.confidence[i]))
    theirs = sorted(range(len(scores)), key=lambda i: (int(classes[i]), -scores[i]))
    for i, j in zip(ours, theirs):
        if int(det.class_id[i]) != int(classes[j]):
            return f'class {det.class_id[i]} vs {classes[j]}'
        if abs(float(det.confidence[i]) - float(scores[j])) > 1e-4:
            return f'score {det.confidence[i]:.5f} vs {scores[j]:.5f}'
        box = det.xyxy[i].astype(np.float64)
        err = np.abs(box - (boxes[j] + 0.5)).max() - 0.5 if truncated else \
            np.abs(box - boxes[j]).max()
        if err > (0.01 if truncated else 0.5):
            return f'box {np.round(box, 2)} vs {boxes[j]}'
    return ''


# ----------------------------------------------------------------------------------- timing

def floor_pass(tensors):
    """Return the floor: one max() over every class-score tensor (each score read once)."""
    return max(t.max() for t in tensors)


def run(rows, repeat, before=None, flush_mb=32, seed=0, clock=time.thread_time):
    """
    Time every contestant of every row once per round, in a new random order; medians (ms).

    Before each timed call ``flush_mb`` MB are written, so no contestant finds the tensors (or
    its own code) in the caches because of the one that ran before it: every call starts
    cold, as a decode does after an inference wrote fresh outputs. ``clock``: this thread's
    CPU time by default, so time the scheduler gives other processes (a shared machine) is not
    charged to whichever call it interrupted (long calls would be hit most).
    """
    contestants = []
    for row in rows:
        decoder, outs = row.ours
        contestants.append((row, 'ours', lambda d=decoder, o=outs, p=row.options: d(o, None, p)))
        contestants.append((row, 'floor', lambda t=row.floor_tensors: floor_pass(t)))
        if before is not None:
            binding = before.match_layout([t.shape for t in outs], (INPUT, INPUT), NC,
                                          row.binding_name)
            old = before.Decoder(binding)
            opts = before.DecodeOptions(CONF, IOU, 300, agnostic_nms=row.options.agnostic_nms)
            bouts = [before.QuantizedTensor(t.data, t.scale, t.zero_point)
                     if isinstance(t, QuantizedTensor) else t for t in outs]
            contestants.append((row, 'before', lambda d=old, o=bouts, p=opts: d(o, None, p)))
        if row.vendor is not None:
            fn, _ = row.vendor
            contestants.append((row, 'vendor', lambda f=fn, v=row.vendor_inputs: f(list(v))))
    samples = {(id(r), k): [] for r, k, _ in contestants}
    flush = np.ones(max(flush_mb, 0) << 20, np.uint8)
    rng = np.random.default_rng(seed)
    for _, _, fn in contestants:        # warm-up: imports, caches
        for _ in range(3):
            fn()
    gc.collect()
    gc.disable()
    try:
        for _ in range(repeat):
            for i in rng.permutation(len(contestants)):
                row, kind, fn = contestants[i]
                if flush.size:
                    np.add(flush, 1, out=flush)
                t0 = clock()
                fn()
                samples[(id(row), kind)].append(clock() - t0)
    finally:
        gc.enable()
    return {key: statistics.median(v) * 1e3 for key, v in samples.items()}


def main(argv=None):
    """Print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--rknn-zoo', help='checkout of airockchip/rknn_model_zoo')
    parser.add_argument('--rdk-zoo', help='checkout of D-Robotics/rdk_model_zoo')
    parser.add_argument('--baseline', help='directory holding a copy of edge_perception/ to '
                        'time as "before"')
    parser.add_argument('--repeat', type=int, default=300)
    parser.add_argument('--objects', type=int, default=20)
    parser.add_argument('--seed', type=int, default=7)
    parser.add_argument('--clock', choices=('cpu', 'wall'), default='cpu',
                        help="cpu: this thread's CPU time (default); wall: perf_counter")
    parser.add_argument('--flush-mb', type=int, default=32,
                        help='MB written before every timed call (0: no cache flush)')
    parser.add_argument('--layouts', nargs='*', help='only these layouts (names as printed)')
    args = parser.parse_args(argv)
    wanted = [r for r in ROWS if not args.layouts or r[0] in args.layouts]
    rows = build_rows(args.objects, args.seed, wanted)
    zoos = {}
    if args.rknn_zoo:
        zoos['rknn'] = load_rknn_zoo(args.rknn_zoo)
    if args.rdk_zoo:
        zoos['rdk'] = load_rdk_zoo(args.rdk_zoo)
    checks = {}
    for row in rows:
        decoder, outs = row.ours
        det = decoder(outs, None, row.options)
        row.found = len(det)
        zoo, fn_name = VENDOR_OF[row.layout]
        if zoo not in zoos:
            continue
        fn, norm = zoos[zoo][fn_name]
        # the dense head is read by no vendor's code: its detections are compared with rknn's
        # post_process on the split tensors it was built from, and no vendor time is shown
        if row.layout != 'ultralytics':
            row.vendor = (fn, norm)
        checks[id(row)] = same_detections(det, norm(fn(list(row.vendor_inputs))))
    before = load_package_copy(args.baseline) if args.baseline else None
    clock = time.thread_time if args.clock == 'cpu' else time.perf_counter
    load = os.getloadavg()[0]
    med = run(rows, args.repeat, before, args.flush_mb, clock=clock)
    print(f'640x640, {NC} classes, {args.objects} planted objects, conf {CONF}, NMS {IOU}; '
          f'medians of {args.repeat} rounds (ms, {args.clock} time), every call in random '
          f'order after a {args.flush_mb} MB cache flush; numpy {np.__version__}, '
          f'Python {sys.version.split()[0]}; load average {load:.1f} at the start, '
          f'{os.getloadavg()[0]:.1f} at the end')
    head = ['layout', 'dtype', 'found', 'same as vendor', 'floor']
    if before is not None:
        head += ['before', 'before/floor']
    head += ['ours', 'ours/floor', 'vendor', 'vendor/ours']
    if before is not None:
        head += ['vendor/before']
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for row in rows:
        floor, ours = med[(id(row), 'floor')], med[(id(row), 'ours')]
        vendor = med.get((id(row), 'vendor'))
        check = checks.get(id(row))
        same = '-' if check is None else ('yes' if not check else f'NO: {check}')
        cells = [row.layout, row.dtype, str(row.found), same, f'{floor:.3f}']
        if before is not None:
            b = med[(id(row), 'before')]
            cells += [f'{b:.3f}', f'{b / floor:.1f}x']
        cells += [f'{ours:.3f}', f'{ours / floor:.1f}x',
                  '-' if vendor is None else f'{vendor:.3f}',
                  '-' if vendor is None else f'{vendor / ours:.1f}x']
        if before is not None:
            cells += ['-' if vendor is None else f'{vendor / b:.1f}x']
        print('| ' + ' | '.join(cells) + ' |')
    print('floor: max() over every class-score output (raw dtype). vendor: rknn_model_zoo '
          'post_process / rdk_model_zoo postProcess on float32 (int8 rows: dequantised); '
          'rknn_nhwc: the vendor runs on the NCHW tensors; ultralytics: no vendor code reads '
          'the dense head, its detections are checked against rknn post_process on the split '
          'tensors it was built from.')
    return 1 if any(checks.values()) else 0


if __name__ == '__main__':
    sys.exit(main())
