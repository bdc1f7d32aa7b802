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
Soak: many frames at twice the service rate through detector_node on the NPU stand-in.

The detector runs as its own process (``python -m edge_perception.bench_pipeline serve``: the
detector node with the NPU stand-in, a SIMULATION of the NPU's latency, reliable image QoS so
every sent frame reaches it); this process is the camera (stamped bgr8 frames at ``--factor``
x the service rate, workers x 1000 / npu-ms) and the sink (Detection2DArray, latency from the
header stamp). It samples the detector's RSS from /proc/<pid>/status twice a second and, at
the end, reads the node's frame counters from /diagnostics. Printed: RSS growth (after the
warm-up frames), latency p50/p95/max against ``max_latency_ms`` and the accounting
(published + dropped + bad == received by the node; answers == published; sent - received =
frames DDS lost before the node, reported: the node's reliable subscription keeps the last 5).
Exit status 0 when RSS grew less than ``--rss-limit-mb``, the latency stayed within
``max_latency_ms`` and every frame is accounted for.

Run: ``. scripts/env.sh && ROS_DOMAIN_ID=160 python scripts/soak.py [--frames 10000]``.
"""

import argparse
import os
import sys
import threading
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from edge_perception import bench_pipeline as bp  # noqa: E402


class SoakSink:
    """Latencies into a preallocated array (the sink itself must not grow)."""

    def __init__(self, node, topic, capacity):
        from vision_msgs.msg import Detection2DArray
        self.latency = np.zeros(capacity, np.float64)
        self.count = 0
        self.last_stamp = -1
        self.out_of_order = 0
        self._lock = threading.Lock()
        self.subscription = node.create_subscription(Detection2DArray, topic, self._on, 50)

    def _on(self, msg):
        now = time.time_ns()
        stamp = bp.stamp_ns(msg.header.stamp)
        with self._lock:
            if self.count < len(self.latency):
                self.latency[self.count] = (now - stamp) / 1e6
            self.count += 1
            if stamp < self.last_stamp:
                self.out_of_order += 1
            self.last_stamp = stamp


class CounterProbe:
    """The detector's frame counters from its latest /diagnostics status."""

    def __init__(self, node, prefix):
        from diagnostic_msgs.msg import DiagnosticArray
        self._prefix, self._cond, self.values, self.when = prefix, threading.Condition(), {}, 0.0
        self.subscription = node.create_subscription(DiagnosticArray, '/diagnostics', self._on,
                                                     10)

    def _on(self, msg):
        for status in msg.status:
            if status.name.startswith(self._prefix):
                with self._cond:
                    self.values = {kv.key: kv.value for kv in status.values}
                    self.when = time.monotonic()
                    self._cond.notify_all()

    def after(self, since, timeout=5.0):
        with self._cond:
            self._cond.wait_for(lambda: self.when > since, timeout)
            return dict(self.values) if self.when > since else None


def main(argv=None) -> int:
    """Run the soak; print the figures; 0 when every check passed."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    p.add_argument('--frames', type=int, default=10000)
    p.add_argument('--npu-ms', type=float, default=13.6)
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--size', default='640x480')
    p.add_argument('--factor', type=float, default=2.0, help='x the service rate')
    p.add_argument('--max-latency-ms', type=int, default=250, help='the node parameter')
    p.add_argument('--warmup', type=int, default=500, help='frames before the RSS baseline')
    p.add_argument('--rss-limit-mb', type=float, default=5.0)
    p.add_argument('--model', default=None)
    args = p.parse_args(argv)

    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.node import Node
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from edge_perception.share import demo_card

    width, height = bp.parse_sizes(args.size)[0]
    service = args.workers * 1000.0 / args.npu_ms
    rate = args.factor * service
    recording_file = bp.write_recording(bp.npu_recording(args.model or demo_card(),
                                                         bp.bench_image(width, height)))
    context = Context()
    rclpy.init(context=context)
    namespace = f'/soak{os.getpid()}'
    node = Node('soak', namespace=namespace, context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    spinner = threading.Thread(target=executor.spin, daemon=True)
    spinner.start()
    sink = SoakSink(node, 'detections', args.frames)
    probe = CounterProbe(node, f'{namespace}/detector:')
    camera = bp.Camera(node, 'image', bp.frame_message(width, height),
                       QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE))
    target = bp.ProcessTarget(args.workers, namespace, recording_file, args.npu_ms,
                              {'image_qos': 'reliable', 'max_latency_ms': args.max_latency_ms})
    rss, stop = [], threading.Event()
    try:
        bp._wait_connected(camera, sink, target)

        def sample():
            while not stop.wait(0.5):
                rss.append((camera.sent, target.rss_kb()))
        sampler = threading.Thread(target=sample, daemon=True)
        print(f'soak: {args.frames} frames {width}x{height} at {rate:.0f} Hz ({args.factor:g} x '
              f'the service rate {service:.1f} fps: {args.workers} worker(s) on the NPU stand-in '
              f'at {args.npu_ms:g} ms, SIMULATION), detector pid {target.process.pid}',
              flush=True)
        t0 = time.perf_counter()
        sampler.start()
        achieved = camera.run(rate, frames=args.frames)
        elapsed = time.perf_counter() - t0
        time.sleep(1.0)
        counts = probe.after(time.monotonic())
        stop.set()
        sampler.join()
    finally:
        target.close()
        executor.shutdown(timeout_sec=5.0)
        spinner.join(5.0)
        node.destroy_node()
        if context.ok():
            rclpy.shutdown(context=context)
        os.unlink(recording_file)

    after = [kb for sent, kb in rss if sent >= args.warmup]
    base, end = float(np.median(after[:5])) / 1024, float(np.median(after[-5:])) / 1024
    peak = max(after) / 1024
    growth = end - base
    lat = sink.latency[:min(sink.count, args.frames)]
    p50, p95, worst = (float(np.median(lat)), float(np.percentile(lat, 95)), float(lat.max()))
    print(f'sent {camera.sent} frames in {elapsed:.1f} s ({achieved:.1f} Hz achieved)')
    print(f'RSS of the detector: {base:.1f} MB after {args.warmup} frames, {end:.1f} MB at the '
          f'end, peak {peak:.1f} MB: growth {growth:+.2f} MB (limit {args.rss_limit_mb:g} MB), '
          f'{len(rss)} samples')
    print(f'latency camera stamp -> Detection2DArray: p50 {p50:.2f} ms, p95 {p95:.2f} ms, '
          f'max {worst:.2f} ms (max_latency_ms {args.max_latency_ms}); answers {sink.count}, '
          f'out of order {sink.out_of_order}')
    ok = growth < args.rss_limit_mb and worst <= args.max_latency_ms and sink.out_of_order == 0
    if counts is None:
        print('no /diagnostics from the detector at the end: accounting unknown')
        return 1
    n = {k: int(float(counts[k])) for k in ('frames_in', 'frames_published', 'frames_dropped',
                                            'frames_bad')}
    by_reason = ', '.join(f'{k} {counts[k]}' for k in sorted(counts)
                          if k.startswith(('dropped_', 'bad_')))
    total = n['frames_published'] + n['frames_dropped'] + n['frames_bad']
    print(f"node: received {n['frames_in']}, published {n['frames_published']} + dropped "
          f"{n['frames_dropped']} + bad {n['frames_bad']} = {total} ({by_reason})")
    accounted = total == n['frames_in'] and sink.count == n['frames_published']
    print(f"accounting: published + dropped + bad == received by the node: "
          f"{'yes' if total == n['frames_in'] else 'NO'}; answers == published: "
          f"{'yes' if sink.count == n['frames_published'] else 'NO'}; sent - received "
          f"(lost in DDS before the node, reliable keep-last 5): {camera.sent - n['frames_in']}")
    ok = ok and accounted
    print('soak:', 'PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
