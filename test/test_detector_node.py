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
The detector node against the real rclpy and Fast DDS: in-process and as a subprocess.

Most tests use the tiny generated model (models.write_color_model: a red image gives one
'red' box at a known place, a blue image a 'blue' one); the drop and trained-model test uses
the demo fall detection model.
"""

import signal
import subprocess
import sys
import time

import cv2
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from edge_perception.drawing import annotate
from edge_perception.model import load_model
from edge_perception.ros.detector_node import DetectorNode, StartupError
from edge_perception.ros.image_conversions import bgr_to_compressed, bgr_to_image
import numpy as np
import pytest
from rcl_interfaces.msg import Log
from rclpy.parameter import Parameter
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray, LabelInfo

from .helpers import (diagnostic_values, DISCOVERY_TIMEOUT, raw_image, REPO_ROOT, stamped,
                      subprocess_env, wait_for)
from .models import BOX_CXCYWH, COLOR_CLASSES, expected_scores

pytestmark = pytest.mark.ros

RELIABLE = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                      reliability=ReliabilityPolicy.RELIABLE,
                      durability=DurabilityPolicy.VOLATILE)
BEST_EFFORT = QoSProfile(depth=10, history=HistoryPolicy.KEEP_LAST,
                         reliability=ReliabilityPolicy.BEST_EFFORT,
                         durability=DurabilityPolicy.VOLATILE)
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)


def solid(h, w, bgr):
    image = np.empty((h, w, 3), np.uint8)
    image[:] = bgr
    return image


RED = solid(480, 640, (0, 0, 255))
BLUE = solid(240, 320, (255, 0, 0))


def start_detector(nodes, namespace, model, **params):
    """
    Start a DetectorNode in ``namespace`` on the test executor, with parameters.

    ``tracker`` is none unless given: these tests check each frame's decoding, conversion and
    transport, which ByteTrack (the default; test_tracking_node.py) would filter (a new
    object is published from its second frame, scores below new_track_threshold never).
    """
    params.setdefault('tracker', 'none')
    overrides = [Parameter('model', value=str(model))]
    overrides += [Parameter(name, value=value) for name, value in params.items()]
    return nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides)


def same_header(msg, header):
    return (msg.header.frame_id == header.frame_id
            and msg.header.stamp.sec == header.stamp.sec
            and msg.header.stamp.nanosec == header.stamp.nanosec)


def cid(name):
    """Return the class_id text of a tiny-model class (class_id_format index, the default)."""
    return str(COLOR_CLASSES.index(name))


def assert_matches(msg, expected):
    """Check a Detection2DArray carries exactly the model's Detections (source pixels)."""
    assert len(msg.detections) == len(expected)
    rows = zip(msg.detections, expected.centers_sizes, expected.confidence, expected.class_id)
    for det, (cx, cy, w, h), score, index in rows:
        assert det.results[0].hypothesis.class_id == str(int(index))
        assert det.results[0].hypothesis.score == pytest.approx(float(score), abs=1e-6)
        box = (det.bbox.center.position.x, det.bbox.center.position.y,
               det.bbox.size_x, det.bbox.size_y)
        assert box == pytest.approx((cx, cy, w, h), abs=1e-3)


def send_and_receive(pub, collector, msg, header, timeout=10.0, resend=None):
    """
    Publish ``msg`` with ``header``; the detections with that header (None on timeout).

    resend: seconds between re-publishing (for best-effort paths); None publishes once.
    """
    msg.header = header
    deadline = time.monotonic() + timeout
    while True:
        pub.publish(msg)
        found = collector.wait(lambda m: same_header(m, header),
                               timeout=min(resend or timeout, deadline - time.monotonic()))
        if found is not None or time.monotonic() >= deadline:
            return found


@pytest.fixture(scope='module')
def tiny(tiny_model):
    """Load the tiny model in the test process, to compute expected results."""
    model = load_model(tiny_model)
    yield model
    model.close()


def test_raw_encodings_give_detections_in_source_pixels(nodes, probe, namespace, tiny_model,
                                                        tiny):
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    gray = np.tile(np.linspace(30, 220, 200).astype(np.uint8), (150, 1))
    nv12 = np.zeros((240 * 3 // 2, 320), np.uint8)
    nv12[:240], nv12[240:, 0::2], nv12[240:, 1::2] = 81, 90, 240      # Y, U, V: red
    frames = [
        ('bgr8', bgr_to_image(RED), RED),
        ('rgb8', raw_image(BLUE[..., ::-1], 'rgb8'), BLUE),
        ('mono8', raw_image(gray, 'mono8', padding=8), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)),
        ('nv12', raw_image(nv12, 'nv12', height=240, width=320),
         cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)),
    ]
    for index, (encoding, msg, source_bgr) in enumerate(frames):
        header = stamped(f'camera_{encoding}', 1700000000 + index, 1000 * index + 7)
        got = send_and_receive(pub, detections, msg, header)
        assert got is not None, f'no detections for the {encoding} frame'
        assert same_header(got, header)
        for det in got.detections:
            assert same_header(det, header)
        expected, _ = tiny.predict(source_bgr)
        assert len(expected) == 1
        assert_matches(got, expected)
    colours = [detections.wait(lambda m, i=i: m.header.stamp.sec == 1700000000 + i)
               .detections[0].results[0].hypothesis.class_id for i in range(4)]
    assert colours[0] == cid('red') and colours[1] == cid('blue') and colours[3] == cid('red')
    first = detections.wait(lambda m: m.header.stamp.sec == 1700000000).detections[0]
    assert first.results[0].hypothesis.score == pytest.approx(expected_scores(RED)[0], abs=1e-5)
    # 640x480 into 64x64: scale 0.1, 8 rows of padding top and bottom.
    cx, cy, w, h = BOX_CXCYWH
    assert (first.bbox.center.position.x, first.bbox.center.position.y) == pytest.approx(
        (cx / 0.1, (cy - 8) / 0.1))
    assert (first.bbox.size_x, first.bbox.size_y) == pytest.approx((w / 0.1, h / 0.1))
    assert node.counters()['frames_bad'] == 0


def test_compressed_transport_and_malformed_compressed_frames(nodes, probe, namespace,
                                                              tiny_model, tiny):
    node = start_detector(nodes, namespace, tiny_model, image_transport='compressed',
                          image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(CompressedImage, 'image/compressed', RELIABLE)
    assert probe.count_subscribers(f'{namespace}/image') == 0

    good = bgr_to_compressed(BLUE)
    got = send_and_receive(pub, detections, good, stamped('cam', 1))
    assert got is not None
    assert_matches(got, tiny.predict(cv2.imdecode(np.frombuffer(good.data, np.uint8),
                                                  cv2.IMREAD_COLOR))[0])
    assert got.detections[0].results[0].hypothesis.class_id == cid('blue')

    jpeg = bytes(good.data)
    sos = jpeg.find(b'\xff\xda')
    # libjpeg alone answers the last two (cut at 50 % with an end marker; no scan data)
    bad = [b'', b'not a jpeg at all' * 10, jpeg[:2] + bytes(300) + jpeg[-2:],
           jpeg[:len(jpeg) // 2], jpeg[:len(jpeg) // 2] + b'\xff\xd9', jpeg[:sos] + b'\xff\xd9']
    for count, data in enumerate(bad, start=1):
        msg = CompressedImage(format='jpeg')
        msg.data = bytes(data)
        msg.header = stamped('cam', 10 + count)
        pub.publish(msg)
        assert wait_for(lambda c=count: node.counters()['frames_bad'] == c), \
            f'bad frame {count} not counted: {node.counters()}'
    got = send_and_receive(pub, detections, bgr_to_compressed(RED), stamped('cam', 99))
    assert got is not None and got.detections[0].results[0].hypothesis.class_id == cid('red')
    fqn = node.get_fully_qualified_name()
    report = diagnostics.wait(lambda m: (diagnostic_values(m, fqn) or {}).get('frames_bad')
                              == str(len(bad)))
    assert report is not None, 'the bad frames never showed in /diagnostics'


def test_malformed_raw_frames_are_counted_and_the_node_keeps_serving(nodes, probe, namespace,
                                                                     tiny_model):
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    good = bgr_to_image(RED)
    wrong_encoding = bgr_to_image(RED)
    wrong_encoding.encoding = 'nv21'          # a camera encoding still refused
    step_mismatch = bgr_to_image(RED)
    step_mismatch.step += 4
    empty = Image(encoding='bgr8')
    truncated = bgr_to_image(RED)
    truncated.data = truncated.data[:-640 * 3 * 10]
    bad = [wrong_encoding, step_mismatch, empty, truncated]
    for count, msg in enumerate(bad, start=1):
        msg.header = stamped('cam', count)
        pub.publish(msg)
        assert wait_for(lambda c=count: node.counters()['frames_bad'] == c), \
            f'bad frame {count} not counted: {node.counters()}'
    assert detections.messages == []            # nothing published for a bad frame
    got = send_and_receive(pub, detections, good, stamped('cam', 50))
    assert got is not None and len(got.detections) == 1
    fqn = node.get_fully_qualified_name()
    report = diagnostics.wait(lambda m: (diagnostic_values(m, fqn) or {}).get('frames_out')
                              == '1')
    assert report is not None
    values = diagnostic_values(report, fqn)
    assert values['frames_bad'] == '4' and values['frames_in'] == '5'
    assert node.counters()['errors'] == 0


def test_label_info_reaches_a_late_joiner(nodes, probe, namespace, tiny_model):
    start_detector(nodes, namespace, tiny_model, confidence_threshold=0.4)
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/label_info') == 1)
    time.sleep(0.3)                             # published well before anyone subscribes
    labels = probe.collect(LabelInfo, 'label_info', LATCHED)
    msg = labels.wait()
    assert msg is not None, 'transient-local LabelInfo not delivered to a late subscriber'
    assert [(c.class_id, c.class_name) for c in msg.class_map] == [(0, 'red'), (1, 'blue')]
    assert msg.threshold == pytest.approx(0.4)


def test_parameters_change_at_run_time_and_invalid_values_are_rejected(
        nodes, probe, namespace, tiny_model):
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    labels = probe.collect(LabelInfo, 'label_info', LATCHED)
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    red, blue = bgr_to_image(RED), bgr_to_image(BLUE)
    assert len(send_and_receive(pub, detections, red, stamped('a', 1)).detections) == 1

    result, = node.set_parameters([Parameter('confidence_threshold', value=0.99)])
    assert result.successful, result.reason
    assert len(send_and_receive(pub, detections, red, stamped('a', 2)).detections) == 0
    assert labels.wait(lambda m: m.threshold == pytest.approx(0.99)) is not None

    for name, value, reason in [
            ('confidence_threshold', 1.5, 'confidence_threshold'),
            ('confidence_threshold', -1.0, 'confidence_threshold'),
            ('nms_threshold', 2.0, 'nms_threshold'),
            ('max_detections', 0, 'max_detections'),
            ('classes', ['purple'], "unknown class 'purple'; this model has red, blue"),
            ('classes', ['7'], 'class id 7 is out of range'),
            ('image_transport', 'compressed', 'read-only'),
            ('cpu_affinity', [0], 'read-only')]:
        result, = node.set_parameters([Parameter(name, value=value)])
        assert not result.successful, f'{name}={value!r} was accepted'
        assert reason in result.reason, result.reason
    assert node.get_parameter('confidence_threshold').value == pytest.approx(0.99)
    # Atomically: one bad value rejects the whole set.
    assert not node.set_parameters_atomically([
        Parameter('confidence_threshold', value=0.3),
        Parameter('classes', value=['purple'])]).successful
    assert node.get_parameter('confidence_threshold').value == pytest.approx(0.99)

    result, = node.set_parameters([Parameter('confidence_threshold', value=0.25)])
    assert result.successful
    result, = node.set_parameters([Parameter('classes', value=['blue'])])
    assert result.successful, result.reason
    assert len(send_and_receive(pub, detections, red, stamped('a', 3)).detections) == 0
    got = send_and_receive(pub, detections, blue, stamped('a', 4))
    assert [d.results[0].hypothesis.class_id for d in got.detections] == [cid('blue')]
    result, = node.set_parameters([Parameter('classes', value=['0', 'blue'])])   # ids too
    assert result.successful, result.reason
    assert len(send_and_receive(pub, detections, red, stamped('a', 5)).detections) == 1
    result, = node.set_parameters([Parameter('classes', value=[])])
    assert result.successful, result.reason
    assert node.counters()['frames_bad'] == 0


def test_debug_image_can_be_switched_on(nodes, probe, namespace, tiny_model, tiny):
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    assert probe.count_publishers(f'{namespace}/detections/image') == 0
    result, = node.set_parameters([Parameter('publish_debug_image', value=True)])
    assert result.successful
    annotated = probe.collect(Image, 'detections/image', RELIABLE)
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: node.count_subscribers(f'{namespace}/detections/image') > 0,
                    DISCOVERY_TIMEOUT)
    header = stamped('cam', 7, 8)
    assert send_and_receive(pub, detections, bgr_to_image(BLUE), header) is not None
    msg = annotated.wait(lambda m: same_header(m, header))
    assert msg is not None, 'no annotated image'
    assert (msg.encoding, msg.height, msg.width) == ('bgr8', 240, 320)
    image = np.frombuffer(msg.data, np.uint8).reshape(240, 320, 3)
    assert np.array_equal(image, annotate(BLUE, tiny(BLUE)))


def test_qos_mismatch_logs_a_hint(nodes, probe, namespace, tiny_model):
    rosout = probe.collect(Log, '/rosout', RELIABLE)
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable')
    logger = node.get_logger().name
    probe.create_publisher(Image, 'image', BEST_EFFORT)     # best effort -> reliable: no match
    hint = rosout.wait(lambda m: m.name == logger and 'image_qos:=sensor_data' in m.msg,
                       timeout=15.0)
    assert hint is not None, [m.msg for m in rosout.messages if m.name == logger]
    assert hint.level == Log.WARN
    assert 'RELIABILITY' in hint.msg and f'{namespace}/image' in hint.msg


def test_trained_model_drops_and_stage_latencies(nodes, probe, namespace, fall_model_card):
    """The fall model (~0.3 s a frame here) fed faster than it runs: newest frame wins."""
    node = start_detector(nodes, namespace, fall_model_card, image_qos='reliable')
    detections = probe.collect(Detection2DArray, 'detections')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    from skimage.data import camera
    gray = camera()
    upright, fallen = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR), np.ascontiguousarray(
        np.rot90(cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)))
    model = load_model(fall_model_card)
    try:
        expected_upright, expected_fallen = model(upright), model(fallen)
    finally:
        model.close()
    assert expected_upright.names == ['Normal'] and expected_fallen.names == ['Fall']

    got = send_and_receive(pub, detections, raw_image(gray, 'mono8'), stamped('cam', 1), 30.0)
    assert got is not None
    assert_matches(got, expected_upright)

    burst = 8
    for index in range(burst):
        msg = bgr_to_image(fallen, stamped('cam', 100 + index))
        pub.publish(msg)
    last = detections.wait(lambda m: m.header.stamp.sec == 100 + burst - 1, timeout=30.0)
    assert last is not None, 'the newest frame of the burst was not processed'
    assert_matches(last, expected_fallen)
    # The subscription's own queue (keep last 5) may also overwrite frames before the callback
    # sees them; those never reach the node. Every frame that did is processed or dropped.

    def settled():
        c = node.counters()
        return c if c['frames_out'] + c['frames_dropped'] == c['frames_in'] else None
    counts = wait_for(settled)
    assert counts, node.counters()
    assert counts['frames_dropped'] > 0, counts
    assert 2 <= counts['frames_in'] <= burst + 1

    fqn = node.get_fully_qualified_name()
    keys = ('frames_in', 'frames_out', 'frames_dropped', 'frames_bad')

    def final(msg):
        values = diagnostic_values(msg, fqn) or {}
        return all(values.get(k) == str(counts[k]) for k in keys)
    report = diagnostics.wait(final, timeout=5.0)
    assert report is not None, [diagnostic_values(m, fqn) for m in diagnostics.messages]
    values = diagnostic_values(report, fqn)
    for stage in ('pre', 'infer', 'decode', 'publish'):
        assert float(values[f'latency_{stage}_ms']) > 0.0, values
    assert float(values['latency_infer_ms']) > float(values['latency_decode_ms'])
    assert values['_level'] == DiagnosticStatus.OK or values['_level'] == DiagnosticStatus.WARN
    assert 'fall_detection_yolov8s' in values['model']


def test_startup_error_in_process_names_the_problem(nodes, namespace, tiny_model):
    with pytest.raises(StartupError, match="unknown class 'cat'"):
        start_detector(nodes, namespace, tiny_model, classes=['cat'])
    with pytest.raises(StartupError, match='model file not found: /nonexistent/model.onnx'):
        start_detector(nodes, namespace, '/nonexistent/model.onnx')


def run_node(*ros_args, timeout=30.0):
    return subprocess.run(
        [sys.executable, '-m', 'edge_perception.ros.detector_node', '--ros-args', *ros_args],
        env=subprocess_env(), cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('args,expected', [
    (['-p', 'model:=/nonexistent/dir/model.onnx'],
     'model file not found: /nonexistent/dir/model.onnx'),
    (['-p', 'image_qos:=fast'], "image_qos must be one of sensor_data, reliable, got 'fast'"),
    (['-p', 'confidence_threshold:=1.5'], 'confidence_threshold'),
    (['-p', 'cpu_affinity:=[4096]'], 'CPU ids [4096] are not available here'),
], ids=['missing model', 'bad image_qos', 'threshold out of range', 'unknown cpu'])
def test_subprocess_start_up_failure_is_one_line(args, expected, tiny_model):
    if not any(a.startswith('model:=') for a in args):
        args = ['-p', f'model:={tiny_model}', *args]
    done = run_node(*args)
    assert done.returncode != 0
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert 'Traceback' not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    assert expected in lines[0] and '[ERROR]' in lines[0]


def test_subprocess_node_publishes_detections_and_stops_on_sigint(probe, namespace,
                                                                  tiny_model, tiny):
    detections = probe.collect(Detection2DArray, 'detections')
    process = subprocess.Popen(
        [sys.executable, '-m', 'edge_perception.ros.detector_node', '--ros-args',
         '-p', f'model:={tiny_model}', '-r', f'__ns:={namespace}'],
        env=subprocess_env(), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        pub = probe.publisher_for(Image, 'image', qos_profile_sensor_data, timeout=30.0)
        got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 42),
                               timeout=20.0, resend=0.5)
        assert got is not None, 'no detections from the node process'
        assert_matches(got, tiny(RED))
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert 'Traceback' not in err, err


def test_two_workers_publish_every_frame_in_stamp_order(nodes, probe, namespace, tiny_model):
    """A pool of 2 inference contexts: frames spaced so none is dropped all come out in order."""
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable', workers=2)
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1)) is not None
    detections.clear()
    for index in range(40):
        pub.publish(bgr_to_image(RED, stamped('cam', 10 + index)))
        time.sleep(0.02)          # within what the probe's reliable depth-10 queue absorbs
    assert wait_for(lambda: node.counters()['frames_out'] + node.counters()['frames_dropped']
                    >= node.counters()['frames_in'] and node.counters()['frames_in'] >= 41)
    # the node's counters settle before DDS has delivered its last messages: wait for them
    assert wait_for(lambda: len(detections.messages) >= node.counters()['frames_out'] - 1,
                    timeout=10.0), (len(detections.messages), node.counters())
    stamps = [m.header.stamp.sec for m in detections.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert node._worker.workers == 2 and len(node._models) == 2


def test_core_mask_is_rejected_for_the_cpu_backend(nodes, namespace, tiny_model):
    with pytest.raises(StartupError, match='core_mask applies to NPU backends'):
        start_detector(nodes, namespace, tiny_model, core_mask='0_1')
    with pytest.raises(StartupError, match='2 entries for 3 workers'):
        start_detector(nodes, namespace, tiny_model, core_mask='0,1', workers=3)


def test_card_thresholds_are_the_parameter_defaults(nodes, namespace, tiny_model, tmp_path):
    card = tmp_path / 'card.yaml'
    card.write_text(f'model: {tiny_model}\nthresholds: {{confidence: 0.6, nms: 0.3}}\n')
    node = start_detector(nodes, namespace, card)
    assert node.get_parameter('confidence_threshold').value == pytest.approx(0.6)
    assert node.get_parameter('nms_threshold').value == pytest.approx(0.3)
    assert node._model.options.confidence_threshold == pytest.approx(0.6)
    explicit = start_detector(nodes, namespace + '_b', card, confidence_threshold=0.1)
    assert explicit._model.options.confidence_threshold == pytest.approx(0.1)


@pytest.mark.contract
def test_nv12_frames_reach_an_nv12_model_unconverted(nodes, probe, namespace, tmp_path,
                                                     monkeypatch):
    """
    Contract test (RDK BPU fake, see test_rdk_backend.py) over real DDS.

    A TROS camera's nv12 Image of the network's size is handed to the BPU without conversion.
    """
    from .test_rdk_backend import fake_model, FAKES, frame, _forget_fakes
    from edge_perception.preprocess import bgr_to_nv12
    _forget_fakes()
    monkeypatch.syspath_prepend(FAKES)
    try:
        card = fake_model(tmp_path)
        node = start_detector(nodes, namespace, card, image_qos='reliable')
        assert node._model.backend.name == 'rdk' and node._model.input_spec.color == 'nv12'
        conversions = []
        real = cv2.cvtColor

        def counting_cvt(*args, **kwargs):
            conversions.append(args[1])
            return real(*args, **kwargs)
        monkeypatch.setattr(cv2, 'cvtColor', counting_cvt)
        detections = probe.collect(Detection2DArray, 'detections')
        pub = probe.publisher_for(Image, 'image', RELIABLE)
        nv12 = bgr_to_nv12(frame((255, 255, 255), box=(100, 60, 180, 200), size=(320, 320)))
        conversions.clear()
        msg = raw_image(nv12.reshape(480, 320), 'nv12', height=320, width=320)
        got = send_and_receive(pub, detections, msg, stamped('cam', 5))
        assert got is not None and len(got.detections) == 1
        det = got.detections[0]
        assert det.results[0].hypothesis.class_id == '0'      # the card's classes: white, cyan
        assert (det.bbox.center.position.x, det.bbox.center.position.y) == \
            pytest.approx((140, 130), abs=1.0)
        assert conversions == []               # no colour conversion between DDS and the BPU
    finally:
        _forget_fakes()


@pytest.mark.contract
def test_a_full_range_nv12_models_debug_image_is_decoded_in_full_range(
        nodes, probe, namespace, tmp_path, monkeypatch):
    """
    The debug image of an NV12 frame shows it as the model decodes it (card yuv_range: full).

    Oracle: JFIF's full-range BT.601 inverse (test_nv12_full_range.jpeg_full_range_to_bgr);
    OpenCV's video-range decode of the same bytes is far from it.
    """
    from .test_nv12_full_range import jpeg_full_range_to_bgr
    from .test_rdk_backend import fake_model, FAKES, _forget_fakes
    from edge_perception.yuv_range import bgr_to_nv12_in
    _forget_fakes()
    monkeypatch.syspath_prepend(FAKES)
    try:
        card = fake_model(tmp_path)
        text = open(card).read().replace('input: {pad_value: 127}',
                                         'input: {pad_value: 127, yuv_range: full}')
        open(card, 'w').write(text)
        node = start_detector(nodes, namespace, card, image_qos='reliable',
                              publish_debug_image=True)
        assert node._model.input_spec.yuv_range == 'full'
        debug = probe.collect(Image, 'detections/image')
        pub = probe.publisher_for(Image, 'image', RELIABLE)
        ramp = np.linspace(20, 170, 320, dtype=np.float32)     # no white or cyan: nothing drawn
        bgr = np.stack([np.tile(ramp, (320, 1)), np.tile(ramp[:, None], (1, 320)),
                        np.full((320, 320), 90, np.float32)], axis=2).astype(np.uint8)
        nv12 = bgr_to_nv12_in(bgr, 'full')
        msg = raw_image(nv12.reshape(480, 320), 'nv12', height=320, width=320)
        got = send_and_receive(pub, debug, msg, stamped('cam', 6))
        assert got is not None
        shown = np.frombuffer(bytes(got.data), np.uint8).reshape(320, 320, 3)
        full = jpeg_full_range_to_bgr(nv12, 320, 320)
        video = cv2.cvtColor(nv12.reshape(480, 320), cv2.COLOR_YUV2BGR_NV12)
        assert np.abs(shown.astype(int) - full).max() <= 1
        assert np.abs(video.astype(int) - full).mean() > 5
    finally:
        _forget_fakes()


def test_card_count_threshold_is_an_integer_parameter_the_command_line_sets(
        nodes, probe, namespace, tiny_model, tiny, tmp_path):
    """`thresholds: {max_detections: 100}`: an INTEGER parameter that `-p ...:=50` sets."""
    card = tmp_path / 'card.yaml'
    card.write_text(f'model: {tiny_model}\nthresholds: {{max_detections: 100}}\n')
    default = start_detector(nodes, namespace + '_default', card)
    param = default.get_parameter('max_detections')
    assert param.type_ == Parameter.Type.INTEGER and param.value == 100
    node = nodes(DetectorNode, namespace=namespace, parameter_overrides=[
        Parameter('model', value=str(card))],
        cli_args=['--ros-args', '-p', 'max_detections:=50', '-p', 'image_qos:=reliable'])
    param = node.get_parameter('max_detections')
    assert param.type_ == Parameter.Type.INTEGER and param.value == 50
    assert node._model.options.max_detections == 50
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 3))
    assert got is not None, 'no detections: the frame failed in decoding'
    assert_matches(got, tiny(RED))


@pytest.fixture
def rknn_board(tmp_path, monkeypatch):
    """Give this test the real RKNNLite on the stand-in RK3588 board (3 NPU cores)."""
    from .rknn_board import forget_rknnlite, make_board
    forget_rknnlite()
    yield make_board(tmp_path, monkeypatch)
    forget_rknnlite()


@pytest.mark.contract
@pytest.mark.parametrize('typed,workers,masks,ptype', [
    ('0', 1, ['0'], Parameter.Type.INTEGER),
    ('1', 1, ['1'], Parameter.Type.INTEGER),
    ('0_1', 1, ['0_1'], Parameter.Type.STRING),
    ('0,1,2', 3, ['0', '1', '2'], Parameter.Type.STRING),
    ('[0,1,2]', 3, ['0', '1', '2'], Parameter.Type.INTEGER_ARRAY),
])
def test_core_mask_is_accepted_as_the_user_types_it(nodes, namespace, rknn_board, typed,
                                                    workers, masks, ptype):
    """`-p core_mask:=0` (an INTEGER on the command line), `:=0_1`, `:='0,1,2'` all start."""
    node = nodes(DetectorNode, namespace=namespace,
                 parameter_overrides=[Parameter('model', value=rknn_board.card())],
                 cli_args=['--ros-args', '-p', f'core_mask:={typed}',
                           '-p', f'workers:={workers}'])
    assert node.get_parameter('core_mask').type_ == ptype
    assert [model.backend.name for model in node._models] == ['rknn'] * workers
    assert [model.backend.core_mask for model in node._models] == masks
    from rknnlite.api import RKNNLite             # the vendor's constants reach its runtime
    constants = [getattr(RKNNLite, f'NPU_CORE_{mask}') for mask in masks]
    assert [c[1] for c in rknn_board.board.calls if c[0] == 'set_core_mask'] == constants


def test_core_mask_of_another_type_is_rejected_with_the_reason(nodes, namespace, tiny_model):
    with pytest.raises(StartupError, match='core_mask must be auto, a mask'):
        nodes(DetectorNode, namespace=namespace,
              parameter_overrides=[Parameter('model', value=str(tiny_model))],
              cli_args=['--ros-args', '-p', 'core_mask:=true'])


@pytest.mark.parametrize('remap,expected', [
    ('/{ns}_cam/image_raw', '/{ns}_cam/image_raw/compressed'),
    ('cam/image_raw', '/{ns}/cam/image_raw/compressed'),
], ids=['absolute', 'relative'])
def test_compressed_topic_follows_the_remapped_image_topic(nodes, probe, namespace, tiny_model,
                                                           tiny, remap, expected):
    """`-r image:=<topic> -p image_transport:=compressed` subscribes <topic>/compressed."""
    ns = namespace.lstrip('/')
    remap, expected = remap.format(ns=ns), expected.format(ns=ns)
    node = nodes(DetectorNode, namespace=namespace,
                 parameter_overrides=[Parameter('model', value=str(tiny_model))],
                 cli_args=['--ros-args', '-r', f'image:={remap}',
                           '-p', 'image_transport:=compressed', '-p', 'image_qos:=reliable'])
    assert node._topic == expected
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(CompressedImage, expected, RELIABLE)
    assert probe.count_subscribers(f'{namespace}/image/compressed') == 0
    good = bgr_to_compressed(RED)
    got = send_and_receive(pub, detections, good, stamped('cam', 7))
    assert got is not None, f'no detections for a frame on {expected}'
    assert got.detections[0].results[0].hypothesis.class_id == cid('red')
