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
ByteTracker cost per frame: this tree's tracker against a baseline one, timed interleaved.

The scenes are the seeded synthetic ones of ``test/test_tracking_mot.py`` (objects walking,
coming and going, crossing, occluded ones seen with a low score, jitter, misses, false
detections), plus a crowd (~20 objects and ~20 tracks a frame) and the fast walkers with
dropped frames (gaps in the frame index). The baseline is another copy of the
``edge_perception/tracking`` package: a git revision (``--baseline-rev``, default the last
commit before the batched tracker) or a directory (``--baseline-dir``). Both trackers run in
this process over the same frames, in lockstep (which one goes first alternates), so load
hits both alike. Besides the times, each scene says whether the two gave the same output
(rows, ids, boxes) in every frame, the same tracks (ids) and the largest difference of their
filter states (means and covariances; 0 = bit-identical).

Run: ``. scripts/env.sh && python scripts/bench_tracker.py [--repeat 5]``.
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

# the tracker before the batched Kalman filter and the forced-assignment shortcut
BASELINE_REV = '42029f9'
FILES = ('__init__.py', 'bytetrack.py', 'kalman.py', 'matching.py', 'settings.py')


def load_package(directory: str, name: str = 'edge_perception._baseline_tracking'):
    """Import a copy of the tracking package (its ``..results`` resolves to ours)."""
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(directory, '__init__.py'), submodule_search_locations=[directory])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def checkout(rev: str, directory: str) -> str:
    """Write edge_perception/tracking at git revision ``rev`` into ``directory``."""
    for name in FILES:
        path = f'{rev}:edge_perception/tracking/{name}'
        text = subprocess.run(['git', '-C', REPO, 'show', path], check=True,
                              capture_output=True, text=True).stdout
        with open(os.path.join(directory, name), 'w') as f:
            f.write(text)
    return directory


def gaps(seed: int):
    """Fast walkers; runs of 1 to 3 frames never arrive (as in the dropped-frames test)."""
    from test.test_tracking_mot import arrivals_with_gaps, noisy_scene
    scene = noisy_scene(seed, speed=12.0)
    arrived = arrivals_with_gaps(len(scene.detections), seed)
    return [(f, scene.detections[f]) for f in arrived]


def scenes(quick: bool):
    """(name, [(frame index, Detections)]) of every scene."""
    from test.test_tracking_mot import noisy_scene
    seeds = (0,) if quick else (0, 1, 2)
    for seed in seeds:
        yield f'mot seed {seed}', list(enumerate(noisy_scene(seed).detections))
    for seed in seeds:
        yield f'gaps seed {seed}', gaps(seed)
    for seed in seeds[:2]:
        crowd = noisy_scene(seed, frames=300, objects=50, speed=3.0)
        yield f'crowd seed {seed}', list(enumerate(crowd.detections))


def track_states(tracker):
    """(id, mean, covariance) of the tracker's tracks, in its order (id 0: not confirmed)."""
    return [(t.track_id, np.asarray(t.mean), np.asarray(t.cov)) for t in tracker.tracks]


def run(frames, base_pkg, new_pkg, repeat: int):
    """Time both trackers interleaved; compare their outputs and tracks frame by frame."""
    times = {'base': [], 'new': []}
    counts = {'objects': [], 'tracks': []}
    same_out, same_tracks, worst = True, True, 0.0
    for r in range(repeat):
        trackers = {'base': base_pkg.ByteTracker(), 'new': new_pkg.ByteTracker()}
        for k, (index, det) in enumerate(frames):
            order = ('base', 'new') if (k + r) % 2 == 0 else ('new', 'base')
            out = {}
            for which in order:
                t0 = time.perf_counter()
                out[which] = trackers[which].update(det, index)
                times[which].append(time.perf_counter() - t0)
            if r:
                continue
            counts['objects'].append(len(det))
            counts['tracks'].append(len(trackers['new'].tracks))
            a, b = out['base'], out['new']
            same_out &= (np.array_equal(a.xyxy, b.xyxy) and
                         np.array_equal(a.tracker_id, b.tracker_id) and
                         np.array_equal(a.confidence, b.confidence))
            ta, tb = track_states(trackers['base']), track_states(trackers['new'])
            if [i for i, _, _ in ta] != [i for i, _, _ in tb]:
                same_tracks = False
            else:
                for (_, m, c), (_, n, d) in zip(ta, tb):
                    worst = max(worst, float(np.max(np.abs(m - n))),
                                float(np.max(np.abs(c - d))))
    return times, counts, same_out, same_tracks, worst


def main(argv=None):
    """Print the table."""
    from edge_perception import tracking as current
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--baseline-rev', default=BASELINE_REV,
                        help='git revision of the baseline tracker (default: %(default)s)')
    parser.add_argument('--baseline-dir', help='a copy of edge_perception/tracking instead')
    parser.add_argument('--repeat', type=int, default=5, help='passes over each scene')
    parser.add_argument('--quick', action='store_true', help='one seed per scene kind')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.baseline_dir or checkout(args.baseline_rev, tmp)
        base = load_package(directory)
    label = args.baseline_dir or args.baseline_rev
    print(f'baseline: {label}; new: this tree; ms per update, {args.repeat} passes, '
          f'interleaved; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs')
    print('| scene | frames | objects med/max | tracks med/max | baseline med / p95 | '
          'new med / p95 | ratio (med) | best-of-passes med: baseline / new | same output | '
          'same track ids (max state diff) |')
    print('|---|---|---|---|---|---|---|---|---|---|')
    for name, frames in scenes(args.quick):
        times, counts, same_out, same_tracks, worst = run(frames, base, current, args.repeat)
        b, n = (np.array(times[k]) * 1e3 for k in ('base', 'new'))
        # each frame's fastest pass: less of the other processes' load in it
        best = [np.median(x.reshape(args.repeat, -1).min(axis=0)) for x in (b, n)]
        print(f"| {name} | {len(frames)} | {np.median(counts['objects']):.0f}/"
              f"{max(counts['objects'])} | {np.median(counts['tracks']):.0f}/"
              f"{max(counts['tracks'])} | {np.median(b):.3f} / {np.percentile(b, 95):.3f} | "
              f'{np.median(n):.3f} / {np.percentile(n, 95):.3f} | '
              f'{np.median(b) / np.median(n):.1f}x | {best[0]:.3f} / {best[1]:.3f} | '
              f'{"yes" if same_out else "NO"} | '
              f'{"yes" if same_tracks else "NO"} ({worst:.1e}) |')


if __name__ == '__main__':
    main()
