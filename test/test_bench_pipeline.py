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
The pipeline benchmark's machinery (bench_pipeline, scripts/soak.py): correctness, not speed.

Oracles: the real demo model through ONNX Runtime on the very frame the camera sends (the
detector node on the NPU stand-in must publish its detections, in this process and as its own
process), header stamps set in the test (the sink's latency), a buffer of known size touched
in this process (the RSS reading).
"""

import os
import subprocess
import sys
import time

from edge_perception import bench_pipeline as bp
from edge_perception.model import load_model
import numpy as np
import pytest
from rclpy.qos import qos_profile_sensor_data
from vision_msgs.msg import Detection2DArray

from .helpers import DISCOVERY_TIMEOUT, REPO_ROOT, subprocess_env, wait_for

pytestmark = pytest.mark.ros

SIZE = (640, 480)


@pytest.fixture(scope='module')
def frame_and_oracle(fall_model_card):
    """Return the camera's frame, its stand-in recording and ONNX Runtime's detections."""
    image = bp.bench_image(*SIZE)
    with load_model(fall_model_card, backend='onnxruntime') as real:
        expected = real(image)
    return image, bp.npu_recording(fall_model_card, image), expected


def boxes(msg):
    return [(d.results[0].hypothesis.class_id, d.bbox.center.position.x,
             d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y) for d in msg.detections]


def assert_real_detections(msg, expected):
    got = boxes(msg)
    assert [g[0] for g in got] == [str(int(i)) for i in expected.class_id] and len(got) >= 1
    np.testing.assert_allclose([g[1:] for g in got], expected.centers_sizes, atol=1e-3)


def bench_node(nodes, namespace):
    from rclpy.node import Node
    return nodes(Node, 'bench', namespace=namespace)


def connect(camera, sink, target):
    bp._wait_connected(camera, sink, target, DISCOVERY_TIMEOUT)


def test_the_sink_takes_latency_from_the_header_stamp(nodes, namespace):
    node = bench_node(nodes, namespace)
    sink = bp.Sink(node, 'detections')
    pub = node.create_publisher(Detection2DArray, 'detections', 10)
    assert wait_for(lambda: pub.get_subscription_count() > 0, DISCOVERY_TIMEOUT)
    msg = Detection2DArray()
    for offset_ms in (50, 200):
        ns = time.time_ns() - offset_ms * 1_000_000
        msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(ns, 1_000_000_000)
        pub.publish(msg)
        assert wait_for(lambda: sink.last is not None and bp.stamp_ns(sink.last.header.stamp)
                        == ns)
    latencies = sink.snapshot()[0]
    assert len(latencies) == 2
    assert 50 <= latencies[0] < 200 and 200 <= latencies[1] < 350


def test_the_relay_answers_every_image_with_its_header_and_no_detections(nodes, namespace,
                                                                         ros_context):
    node = bench_node(nodes, namespace)
    sink = bp.Sink(node, 'detections')
    camera = bp.Camera(node, 'image', bp.frame_message(64, 48, 'cam'),
                       qos=qos_profile_sensor_data)
    relay = bp.InProcessTarget(bp.RELAY, namespace, ros_context)
    try:
        connect(camera, sink, relay)
        camera.run(20.0, frames=10)
        assert wait_for(lambda: len(sink.snapshot()[2]) >= 8)
        _, _, stamps, detections = sink.snapshot()
        assert stamps == sorted(stamps) and detections == 0
        assert sink.last.header.frame_id == 'cam'
    finally:
        relay.close()


def test_in_process_the_node_on_the_stand_in_publishes_the_real_models_detections(
        nodes, namespace, ros_context, frame_and_oracle):
    image, recording, expected = frame_and_oracle
    node = bench_node(nodes, namespace)
    sink = bp.Sink(node, 'detections')
    camera = bp.Camera(node, 'image', bp.frame_message(*SIZE))
    # tracker none: the oracle is every detection of the model on this one frame
    target = bp.InProcessTarget(2, namespace, ros_context, recording, 5.0,
                                params={'tracker': 'none'})
    try:
        assert target.node._model.backend.name == 'npu_standin'
        assert target.node._worker.workers == 2
        connect(camera, sink, target)
        camera.run(50.0, frames=20)
        assert wait_for(lambda: sink.last is not None)
        assert_real_detections(sink.last, expected)
        # frames still in the pool when the first answer arrives settle shortly after

        def settled():
            counts = target.counters()
            return counts['frames_published'] + counts['frames_dropped'] \
                + counts['frames_bad'] == counts['frames_in']
        assert wait_for(settled), target.counters()
        assert target.counters()['frames_bad'] == 0
    finally:
        target.close()


def test_as_its_own_process_the_stand_in_detector_has_the_workers_asked_and_real_output(
        nodes, namespace, frame_and_oracle):
    image, recording, expected = frame_and_oracle
    node = bench_node(nodes, namespace)
    sink = bp.Sink(node, 'detections')
    probe = bp.DiagnosticsProbe(node, f'{namespace}/detector:')
    values = {}

    def on_diag(msg):
        for status in msg.status:
            if status.name.startswith(f'{namespace}/detector:'):
                values.update({kv.key: kv.value for kv in status.values})
    from diagnostic_msgs.msg import DiagnosticArray
    node.create_subscription(DiagnosticArray, '/diagnostics', on_diag, 10)
    camera = bp.Camera(node, 'image', bp.frame_message(*SIZE))
    path = bp.write_recording(recording)
    target = bp.ProcessTarget(3, namespace, path, 5.0, params={'tracker': 'none'})
    try:
        connect(camera, sink, target)
        # best-effort frames sent while the child process is still warming up may be lost:
        # send bursts until one is answered (bounded)
        for _ in range(10):
            camera.run(50.0, frames=30)
            if wait_for(lambda: sink.last is not None, timeout=3.0):
                break
        assert sink.last is not None, 'the detector process answered no frame'
        assert_real_detections(sink.last, expected)
        stages = probe.stages_after(time.monotonic(), timeout=5.0)
        assert stages is not None and stages['infer'] >= 5.0     # the stand-in's latency
        # this node's own /diagnostics subscription may see its first status after the probe's
        assert wait_for(lambda: 'workers' in values), 'no /diagnostics status of the detector'
        assert values['workers'] == '3' and 'npu_standin' in values['model']
        assert target.rss_kb() > 10_000
    finally:
        target.close()
        os.unlink(path)


def test_a_configuration_gives_one_row_per_target_with_every_paced_frame_answered(
        ros_context, frame_and_oracle):
    _, recording, _ = frame_and_oracle
    config = bp.run_configuration('inprocess', SIZE, 5.0, (1, 2), recording, None, ros_context,
                                  seconds=0.6, paced_seconds=0.6, runs=2, load_hz=150.0,
                                  pace_hz=20.0)
    rows = bp.summarize(config)
    assert [r['target'] for r in rows] == [bp.RELAY, 1, 2]
    assert all(len(r['runs_fps']) == 2 and r['ordered'] for r in rows)
    assert all(r['answered'] >= r['sent'] - 2 and r['fps'] > 0 for r in rows)
    relay, one, two = rows
    # the derived columns are what they say, from the medians of the same run
    assert one['overhead'] == pytest.approx(one['p50'] - 5.0)
    assert two['ours'] == pytest.approx(two['p50'] - 5.0 - relay['p50'])
    assert two['speedup'] == pytest.approx(two['fps'] / one['fps'])
    assert one['stages']['infer'] >= 5.0 and relay['stages'] is None
    text = bp.format_table(config, rows)
    assert 'SIMULATION' in text and len(text.splitlines()) == 2 + 2 + 3


def test_rss_counts_resident_pages_only():
    before = bp.rss_kb(os.getpid())
    buffer = np.empty(64 * 1024 * 1024, np.uint8)      # 64 MB reserved, no page touched yet
    reserved = bp.rss_kb(os.getpid()) - before
    buffer.fill(1)                                      # now every page is resident
    touched = bp.rss_kb(os.getpid()) - before
    del buffer
    assert reserved < 8 * 1024 and 60 * 1024 <= touched <= 72 * 1024


def run_soak(*args):
    return subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'scripts', 'soak.py'),
                           '--frames', '400', '--warmup', '50', '--npu-ms', '5', *args],
                          env=subprocess_env(), capture_output=True, text=True, timeout=180)


def test_the_soak_accounts_for_every_frame_and_its_verdict_follows_the_limits(fall_model_card):
    # the latency bound is the benchmark's business (scripts/soak.py, README); here a shared
    # CI machine may stall a frame past 250 ms (seen: 290 ms under load), so the accounting run
    # gets a bound no scheduler hiccup reaches, and the FAIL run shows the verdict follows it
    ok = run_soak('--max-latency-ms', '5000')
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert 'published + dropped + bad == received by the node: yes' in ok.stdout
    assert 'answers == published: yes' in ok.stdout and 'soak: PASS' in ok.stdout
    strict = run_soak('--rss-limit-mb', '-1')        # no process can shrink by 1 MB: FAIL
    assert strict.returncode == 1 and 'soak: FAIL' in strict.stdout


def test_more_workers_than_simulated_cores_share_them_round_robin(frame_and_oracle):
    image, recording, expected = frame_and_oracle
    factory = bp.standin_factory(recording, 1.0, 4, cores=2)
    models = [factory(i) for i in range(4)]
    assert factory.npu.cores == 2 and [m.backend.core for m in models] == [0, 1, 0, 1]
    got = models[2](image)
    assert got.names == expected.names
    np.testing.assert_allclose(got.centers_sizes, expected.centers_sizes, atol=1e-3)
    assert factory.npu.calls == [1, 0]
