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
Instance masks box-local (``InstanceMasks``) against the former dense (N, H, W) stack.

Per source size (640x480, 1920x1080) and instance count (20, 300), on seeded prototypes
(1, 32, 160, 160), coefficients and boxes (20 instances: 5-35 % of the image side; 300: a
crowd, 2-12 %), both ways in this one process, interleaved (medians over ``--repeat``
rounds, both contestants once per round, alternating order):

- box-local: ``instance_masks`` (what the decoder returns) and ``InstanceMasks.id_image``;
- dense (before): the former decoder, kept here only for this comparison (each box's logits
  warped with ``cv2.warpAffine`` into an (N, H, W) bool stack; pixel centre in the box), and
  the former id image (argmax over instances, 0 where none is set).

Memory: the masks' bytes and the tracemalloc peak of one run of each (numpy's allocations
are traced). The last column is the share of id-image pixels where the two differ (the crop
convention moved by half a pixel, and warpAffine rounds coordinates to 1/32 of a cell).
Run: ``. scripts/env.sh && python scripts/bench_masks.py [--repeat 15]``.
"""

import argparse
import time
import tracemalloc

import cv2
from edge_perception.decoders.instances import instance_masks
from edge_perception.preprocess import letterbox
import numpy as np

CASES = (((480, 640), 20), ((480, 640), 300), ((1080, 1920), 20), ((1080, 1920), 300))


def make_case(src_hw, n, seed=0):
    """Prototypes, coefficients, letterbox and boxes (source pixels) of one row."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(32, 160, 160)).astype(np.float32)
    protos = (np.stack([cv2.GaussianBlur(p, (0, 0), 2.0) for p in noise]) * 4)[None]
    coef = rng.normal(size=(n, 32)).astype(np.float32)
    _, info = letterbox(np.zeros(src_hw + (3,), np.uint8), 640, 640)
    h, w = src_hw
    low, high = (0.05, 0.35) if n <= 20 else (0.02, 0.12)
    size = rng.uniform(low, high, (n, 2)) * (w, h)
    x1, y1 = rng.uniform(0, w - size[:, 0]), rng.uniform(0, h - size[:, 1])
    boxes = np.stack([x1, y1, x1 + size[:, 0], y1 + size[:, 1]], axis=1).astype(np.float32)
    return protos, coef, info, boxes


def box_local(protos, coef, info, boxes):
    """Compute masks and id image as the decoder and the node now make them."""
    masks = instance_masks(coef, protos, False, boxes, (640, 640), info)
    return masks, masks.id_image()


def former_masks(coef, protos, boxes_source, input_hw, letterbox):
    """Compute the former decoder's masks (NCHW float prototypes): an (N, H, W) stack."""
    ph, pw = protos.shape[2:]
    src_w, src_h = letterbox.src_width, letterbox.src_height
    masks = np.zeros((len(coef), src_h, src_w), bool)
    ax = letterbox.scale_x * pw / input_hw[1]
    ay = letterbox.scale_y * ph / input_hw[0]
    bx = (0.5 * letterbox.scale_x + letterbox.pad_x) * pw / input_hw[1] - 0.5
    by = (0.5 * letterbox.scale_y + letterbox.pad_y) * ph / input_hw[0] - 0.5
    for i, (x1, y1, x2, y2) in enumerate(boxes_source):
        u0, u1 = max(0, int(np.ceil(x1 - 0.5))), min(src_w, int(np.floor(x2 - 0.5)) + 1)
        v0, v1 = max(0, int(np.ceil(y1 - 0.5))), min(src_h, int(np.floor(y2 - 0.5)) + 1)
        if u1 <= u0 or v1 <= v0:
            continue
        cx0 = min(pw - 1, max(0, int(np.floor(ax * u0 + bx))))
        cx1 = max(cx0 + 1, min(pw, int(np.floor(ax * (u1 - 1) + bx)) + 2))
        cy0 = min(ph - 1, max(0, int(np.floor(ay * v0 + by))))
        cy1 = max(cy0 + 1, min(ph, int(np.floor(ay * (v1 - 1) + by)) + 2))
        crop = protos[0, :, cy0:cy1, cx0:cx1]
        logits = (coef[i] @ crop.reshape(len(coef[i]), -1)).reshape(cy1 - cy0, cx1 - cx0)
        warp = np.array([[ax, 0, ax * u0 + bx - cx0], [0, ay, ay * v0 + by - cy0]], np.float64)
        box_logits = cv2.warpAffine(np.ascontiguousarray(logits, np.float32), warp,
                                    (u1 - u0, v1 - v0),
                                    flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                    borderMode=cv2.BORDER_REPLICATE)
        np.greater(box_logits, 0, out=masks[i, v0:v1, u0:u1])
    return masks


def dense(protos, coef, info, boxes):
    """Compute masks and id image the former way: an (N, H, W) stack, then argmax."""
    stack = former_masks(coef, protos, boxes, (640, 640), info)
    dtype = np.uint8 if len(stack) <= 255 else np.uint16
    ids = stack.argmax(axis=0).astype(dtype)
    ids += 1
    ids[~stack.any(axis=0)] = 0
    return stack, ids


def _timed(fn, args):
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def _peak(fn, args):
    tracemalloc.start()
    try:
        masks, ids = fn(*args)
        return tracemalloc.get_traced_memory()[1], masks.nbytes, ids
    finally:
        tracemalloc.stop()


def run(repeat: int):
    """Return one result dict per case."""
    rows = []
    for src_hw, n in CASES:
        args = make_case(src_hw, n)
        peak_b, bytes_b, ids_b = _peak(box_local, args)
        peak_d, bytes_d, ids_d = _peak(dense, args)
        differ = float(np.mean(ids_b != ids_d))
        times = {'box': [], 'dense': []}
        rounds = repeat if n <= 20 or src_hw[0] < 1000 else max(3, repeat // 5)
        for r in range(rounds):
            order = (('box', box_local), ('dense', dense))
            for name, fn in (order if r % 2 == 0 else order[::-1]):
                times[name].append(_timed(fn, args))
        rows.append({'source': f'{src_hw[1]}x{src_hw[0]}', 'n': n, 'rounds': rounds,
                     'box_ms': 1000 * float(np.median(times['box'])),
                     'dense_ms': 1000 * float(np.median(times['dense'])),
                     'box_mb': bytes_b / 1e6, 'dense_mb': bytes_d / 1e6,
                     'box_peak_mb': peak_b / 1e6, 'dense_peak_mb': peak_d / 1e6,
                     'differ': differ})
    return rows


def format_table(rows) -> str:
    """Markdown table of ``run`` rows."""
    lines = ['| source | instances | rounds | box-local ms | dense ms | speed-up '
             '| box-local masks MB | dense masks MB | box-local peak MB | dense peak MB '
             '| peak ratio | id pixels differ |',
             '|---|---|---|---|---|---|---|---|---|---|---|---|']
    for r in rows:
        lines.append(
            f"| {r['source']} | {r['n']} | {r['rounds']} | {r['box_ms']:.1f} "
            f"| {r['dense_ms']:.1f} | {r['dense_ms'] / r['box_ms']:.1f}x "
            f"| {r['box_mb']:.2f} | {r['dense_mb']:.1f} | {r['box_peak_mb']:.2f} "
            f"| {r['dense_peak_mb']:.1f} | {r['dense_peak_mb'] / r['box_peak_mb']:.0f}x "
            f"| {r['differ']:.2%} |")
    return '\n'.join(lines)


def main(argv=None) -> int:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument('--repeat', type=int, default=15, help='rounds per row (1080p x 300: '
                        'a fifth of them, at least 3)')
    args = parser.parse_args(argv)
    cv2.setNumThreads(1)
    print('masks + instance-id image per frame, medians (time includes computing the masks)')
    print(format_table(run(args.repeat)))
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
