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
Benchmarks printed as tables: per-stage latency of a real model, and decode time per layout.

The decode baseline, ``full_tensor_decode``, does what the vendors' Python demos do (our own
re-implementation of their approach, not their code): dequantise and activate every cell,
run DFL on every cell, then threshold. It shows what the raw-domain pre-filter saves.
``instance_table`` times segmentation and pose decoding with masks / keypoints at source
resolution (640x480 and 1280x720 frames), and drawing them; its mask baseline,
``full_masks``, is the usual approach (every mask at prototype resolution, sigmoid, upsampled
to the whole input, cropped, then resized to the source), again our own re-implementation.
"""

import time
from typing import Callable, Dict, List, Optional, Sequence

import cv2
import numpy as np

from .decoders import DecodeOptions, Decoder, make_decoder
from .decoders.anchor_free import dfl_distances
from .decoders.instances import gather_rows, instance_masks
from .decoders.nms import nms
from .decoders.planes import sigmoid
from .layouts import ALL_LAYOUTS, LAYOUTS, match_layout
from .preprocess import letterbox
from .synthetic import make_outputs, random_objects
from .tensors import to_float


def timings(fn: Callable[[], object], repeat: int, warmup: int = 3) -> List[float]:
    """Wall-clock seconds of ``repeat`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary_ms(samples: Sequence[float]) -> Dict[str, float]:
    """Median and 95th percentile in milliseconds."""
    ms = np.asarray(samples) * 1000
    return {'median': float(np.median(ms)), 'p95': float(np.percentile(ms, 95))}


def full_tensor_decode(outputs, binding, options: DecodeOptions):
    """Baseline: whole-tensor dequantise + sigmoid + DFL, then threshold and NMS."""
    layout = binding.layout
    boxes, scores, classes = [], [], []
    for level in binding.levels:
        cls = to_float(outputs[level.outputs['cls']])
        box = to_float(outputs[level.outputs['box']])
        if not layout.channels_last:
            cls, box = cls.transpose(0, 2, 3, 1), box.transpose(0, 2, 3, 1)
        cls = cls.reshape(-1, cls.shape[-1])
        if layout.scores == 'logit':
            cls = sigmoid(cls)
        dist = dfl_distances(box.reshape(-1, box.shape[-1]), binding.reg_max)
        rows, cols = np.divmod(np.arange(len(cls)), level.grid_w)
        cx, cy = cols + 0.5, rows + 0.5
        xyxy = np.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]],
                        axis=1) * level.stride
        best = cls.argmax(axis=1)
        score = cls[np.arange(len(cls)), best]
        keep = score >= options.confidence_threshold
        boxes.append(xyxy[keep])
        scores.append(score[keep])
        classes.append(best[keep])
    xyxy, score, cid = (np.concatenate(v) for v in (boxes, scores, classes))
    keep = nms(xyxy, score, cid, options.nms_threshold, options.max_detections)
    return xyxy[keep], score[keep], cid[keep]


DECODE_CASES = (
    ('ultralytics', False), ('rknn', False), ('rknn', True), ('rknn_nhwc', True), ('rdk', False),
    ('rdk', True), ('rknn_yolov5', True), ('rdk_yolov5', False),
)


def decode_table(repeat: int = 200, objects: int = 20, num_classes: int = 80) -> List[dict]:
    """Decode latency per layout, few objects and a flood of candidates, with the baseline."""
    rows = []
    planted = random_objects(objects, num_classes, seed=0)
    for layout, quantized in DECODE_CASES:
        for case, background in (('few', (0.0, 0.002)), ('many', (0.0, 0.6))):
            outs = make_outputs(layout, planted, num_classes, quantized=quantized,
                                background=background)
            binding = match_layout([o.shape for o in outs], (640, 640))
            decoder = Decoder(binding)
            opts = DecodeOptions(max_detections=300)
            ours = summary_ms(timings(lambda d=decoder, o=outs: d(o, None, opts), repeat))
            row = {'layout': layout, 'dtype': 'int8' if quantized else 'float32', 'case': case,
                   'found': len(decoder(outs, None, opts)), 'ours': ours}
            if LAYOUTS[layout].family == 'dfl':
                base = summary_ms(timings(
                    lambda o=outs, b=binding: full_tensor_decode(o, b, opts),
                    max(20, repeat // 5)))
                row['baseline'] = base
            rows.append(row)
    return rows


def model_table(model, images: Sequence[np.ndarray], repeat: int = 20) -> Dict[str, dict]:
    """Per-stage latency (pre, infer, decode, total) of a loaded Model over sample images."""
    stages: Dict[str, List[float]] = {'pre': [], 'infer': [], 'decode': [], 'total': []}
    for i in range(repeat + 2):
        t0 = time.perf_counter()
        _, times = model.predict(images[i % len(images)])
        total = time.perf_counter() - t0
        if i >= 2:      # warm-up
            for name, value in (('pre', times.pre), ('infer', times.infer),
                                ('decode', times.decode), ('total', total)):
                stages[name].append(value)
    return {name: summary_ms(values) for name, values in stages.items()}


def _pool_run(models, images, seconds, feed_fps, draw, max_latency_ms):
    """One measurement: a WorkerPool over ``models`` fed at ``feed_fps`` for ``seconds``."""
    import threading

    from .pool import WorkerPool
    emitted, latencies = [], []
    if draw:
        from .drawing import annotate

    def work(model, item):
        image = images[item[0] % len(images)]
        return image, model(image)

    def emit(item, result):
        if draw:
            annotate(*result)
        latencies.append(time.perf_counter() - item[1])
        emitted.append(item[0])

    pool = WorkerPool(len(models), work, emit, contexts=list(models),
                      max_latency_ms=max_latency_ms)
    stop = threading.Event()

    def feed():
        item, period, t_next = 0, 1.0 / feed_fps, time.perf_counter()
        while not stop.is_set():
            pool.submit((item, time.perf_counter()))
            item += 1
            t_next += period
            delay = t_next - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    feeder = threading.Thread(target=feed, daemon=True)
    t0 = time.perf_counter()
    feeder.start()
    stop.wait(seconds)
    stop.set()
    feeder.join()
    pool.wait_idle(30)
    elapsed = time.perf_counter() - t0
    pool.stop()
    counts = pool.counts()
    return {'frames': len(emitted), 'seconds': elapsed, 'fps': len(emitted) / elapsed,
            'submitted': counts['submitted'], 'dropped': counts['dropped'],
            'bad': sum(counts['bad'].values()),
            'accounted': counts['published'] + sum(counts['dropped'].values())
            + sum(counts['bad'].values()) == counts['submitted'],
            'ordered': emitted == sorted(emitted),
            'latency': summary_ms(latencies) if latencies else None}


def pool_table(make_models, images: Sequence[np.ndarray], workers: Sequence[int] = (1, 2),
               seconds: float = 15.0, runs: int = 1, feed_fps: float = 500.0,
               npu_ms: Optional[float] = None, draw: bool = False,
               max_latency_ms: float = 1000.0) -> List[dict]:
    """
    Throughput of a WorkerPool fed faster than it can serve, per worker count.

    make_models(n): n new Models (one context per worker; e.g. n ONNX Runtime sessions, or n
    NPU stand-in contexts on n simulated cores). Each row is measured ``runs`` times (fresh
    contexts each time) and reports the median frames/s; frames are offered at ``feed_fps``
    (the surplus is dropped, newest frame wins). npu_ms: the stand-in's latency, which gives
    the ideal rate n * 1000 / npu_ms. latency: from submission to the end of ``emit``
    (drawing the result when ``draw``), median of the median run.
    """
    rows = []
    for n in workers:
        measured = []
        for _ in range(runs):
            models = make_models(n)
            for model in models:
                model(images[0])                # warm-up outside the measurement
            try:
                measured.append(_pool_run(models, images, seconds, feed_fps, draw,
                                          max_latency_ms))
            finally:
                for model in models:
                    model.close()
        measured.sort(key=lambda r: r['fps'])
        row = dict(measured[len(measured) // 2])
        row.update(workers=n, runs=[r['fps'] for r in measured],
                   ordered=all(r['ordered'] for r in measured),
                   accounted=all(r['accounted'] for r in measured))
        if npu_ms:
            row['ideal'] = min(n * 1000.0 / npu_ms, feed_fps)
        rows.append(row)
    return rows


def format_pool_table(rows: List[dict]) -> str:
    """Markdown table of ``pool_table``: median fps, speed-up over the first row, ratios."""
    ideal = 'ideal' in rows[0]
    lines = ['| workers | fps (median) | runs fps | speed-up | '
             + ('ideal fps | of ideal | ' if ideal else '')
             + 'latency median ms | p95 ms | dropped replaced/late | bad | in order '
             '| all accounted |',
             '|---' * (12 if ideal else 10) + '|']
    for r in rows:
        lat = r['latency'] or {'median': float('nan'), 'p95': float('nan')}
        lines.append(
            f"| {r['workers']} | {r['fps']:.1f} | {' '.join(f'{f:.1f}' for f in r['runs'])} "
            f"| {r['fps'] / rows[0]['fps']:.2f}x "
            + (f"| {r['ideal']:.1f} | {r['fps'] / r['ideal']:.0%} " if ideal else '')
            + f"| {lat['median']:.1f} | {lat['p95']:.1f} "
            f"| {r['dropped']['replaced']}/{r['dropped']['late']} | {r['bad']} "
            f"| {'yes' if r['ordered'] else 'NO'} | {'yes' if r['accounted'] else 'NO'} |")
    return '\n'.join(lines)


def format_decode_table(rows: List[dict]) -> str:
    """Markdown table of ``decode_table`` rows."""
    lines = ['| layout | dtype | candidates | found | ours median ms | ours p95 ms '
             '| full-tensor median ms | speed-up |', '|---|---|---|---|---|---|---|---|']
    for r in rows:
        base = r.get('baseline')
        lines.append(
            f"| {r['layout']} | {r['dtype']} | {r['case']} | {r['found']} "
            f"| {r['ours']['median']:.3f} | {r['ours']['p95']:.3f} "
            + (f"| {base['median']:.3f} | {base['median'] / r['ours']['median']:.1f}x |"
               if base else '| - | - |'))
    return '\n'.join(lines)


def format_model_table(name: str, table: Dict[str, dict]) -> str:
    """Markdown table of ``model_table``."""
    lines = [f'| {name} stage | median ms | p95 ms |', '|---|---|---|']
    lines += [f"| {stage} | {v['median']:.2f} | {v['p95']:.2f} |" for stage, v in table.items()]
    return '\n'.join(lines)


INSTANCE_CASES = (
    ('ultralytics_seg', False), ('rknn_seg', True), ('rdk_seg', False),
    ('ultralytics_pose', False), ('rknn_pose', True), ('rdk_pose', False),
)
SOURCE_SIZES = ((480, 640), (720, 1280))


def full_masks(coef: np.ndarray, protos, channels_last: bool, boxes_input: np.ndarray,
               info) -> np.ndarray:
    """
    Baseline: all masks at prototype size, sigmoid, resized to the input, cropped, to source.

    The common approach (our re-implementation): float work at full input resolution for
    every instance, then an un-letterbox resize of every mask.
    """
    p = to_float(protos)[0]
    if channels_last:
        p = p.transpose(2, 0, 1)
    m, ph, pw = p.shape
    masks = sigmoid(coef @ p.reshape(m, -1)).reshape(-1, ph, pw)
    in_h, in_w = ph * 4, pw * 4
    new_w = round(info.src_width * info.scale_x)
    new_h = round(info.src_height * info.scale_y)
    rows, cols = np.arange(in_h)[:, None], np.arange(in_w)[None, :]
    out = np.zeros((len(masks), info.src_height, info.src_width), bool)
    for i, (mask, (x1, y1, x2, y2)) in enumerate(zip(masks, boxes_input)):
        full = cv2.resize(mask, (in_w, in_h), interpolation=cv2.INTER_LINEAR)
        full *= (cols >= x1) & (cols < x2) & (rows >= y1) & (rows < y2)
        content = full[info.pad_y:info.pad_y + new_h, info.pad_x:info.pad_x + new_w]
        out[i] = cv2.resize(content, (info.src_width, info.src_height),
                            interpolation=cv2.INTER_LINEAR) > 0.5
    return out


def instance_table(repeat: int = 50, objects: int = 20, num_classes: int = 80) -> List[dict]:
    """
    Segmentation / pose decode latency with masks or keypoints at source resolution.

    Per layout and source size: the whole decode (threshold, boxes, NMS, masks / keypoints,
    mapping to source pixels), the mask stage alone and the full-resolution mask baseline
    (segmentation), and drawing the result with ``annotate``.
    """
    from .drawing import annotate
    rows = []
    opts = DecodeOptions(max_detections=300)
    for src_h, src_w in SOURCE_SIZES:
        image = np.full((src_h, src_w, 3), 90, np.uint8)
        _, info = letterbox(image, 640, 640)
        for layout, quantized in INSTANCE_CASES:
            task = ALL_LAYOUTS[layout].task
            content = (round(src_h * info.scale_y), round(src_w * info.scale_x))
            planted = random_objects(objects, num_classes, content, seed=0,
                                     num_keypoints=17 if task == 'pose' else 0,
                                     masks=('box', 'ellipse'))
            for obj in planted:
                x1, y1, x2, y2 = obj.xyxy
                obj.xyxy = (x1 + info.pad_x, y1 + info.pad_y, x2 + info.pad_x, y2 + info.pad_y)
                if obj.keypoints is not None:
                    obj.keypoints[:, :2] += (info.pad_x, info.pad_y)
            outs = make_outputs(layout, planted, num_classes, quantized=quantized)
            binding = match_layout([o.shape for o in outs], (640, 640), task=task)
            decoder = make_decoder(binding, input_hw=(640, 640))
            det = decoder(outs, info, opts)
            row = {'layout': layout, 'task': task, 'dtype': 'int8' if quantized else 'float32',
                   'source': f'{src_w}x{src_h}', 'found': len(det),
                   'decode': summary_ms(timings(lambda: decoder(outs, info, opts), repeat)),
                   'draw': summary_ms(timings(lambda: annotate(image, det), repeat))}
            if task == 'segment':
                # the mask stage alone, ours and the baseline, on the same kept detections
                cand = decoder._family(outs, binding, opts.confidence_threshold)
                keep = nms(cand[0], cand[1], cand[2], opts.nms_threshold, opts.max_detections)
                coef = gather_rows(outs, binding, 'coef', cand[3][keep], binding.mask_dim)
                protos = outs[binding.global_outputs['protos']]
                last = binding.layout.channels_last
                boxes_in = cand[0][keep]
                row['masks'] = summary_ms(timings(
                    lambda: instance_masks(coef, protos, last, info.boxes_to_source(boxes_in),
                                           (640, 640), info), repeat))
                row['baseline'] = summary_ms(timings(
                    lambda: full_masks(coef, protos, last, boxes_in, info), max(5, repeat // 5)))
            rows.append(row)
    return rows


def format_instance_table(rows: List[dict]) -> str:
    """Markdown table of ``instance_table`` rows."""
    lines = ['| layout | dtype | source | found | decode median ms | decode p95 ms '
             '| masks ms | full-res masks ms | speed-up | draw ms |',
             '|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        masks, base = r.get('masks'), r.get('baseline')
        lines.append(
            f"| {r['layout']} | {r['dtype']} | {r['source']} | {r['found']} "
            f"| {r['decode']['median']:.2f} | {r['decode']['p95']:.2f} "
            + (f"| {masks['median']:.2f} | {base['median']:.2f} "
               f"| {base['median'] / masks['median']:.0f}x " if masks else '| - | - | - ')
            + f"| {r['draw']['median']:.2f} |")
    return '\n'.join(lines)
