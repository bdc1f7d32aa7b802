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
The worker pool through a real detector node over rclpy and Fast DDS: accounting and a hang.

A flood of good and malformed frames (the demo model), with the node closed while frames
still arrive: every frame the node received ends exactly once, by reason, and /diagnostics
says so. A hanging inference (the worker's real ONNX Runtime context made to block, as an NPU
hang does) turns /diagnostics to ERROR, the context is replaced by a freshly loaded one and the
node keeps publishing correct detections; the hung context is freed only after its call
returned, also when the node is closed during the call.
"""

import threading
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from edge_perception.model import load_model
from edge_perception.ros.image_conversions import bgr_to_image
import pytest
from sensor_msgs.msg import Image
from vision_msgs.msg import Detection2DArray

from .helpers import diagnostic_values, stamped, wait_for
from .test_detector_node import (assert_matches, RED, RELIABLE, send_and_receive,
                                 start_detector)

pytestmark = pytest.mark.ros


def settled(counts):
    """Frames with a fate: published + dropped + bad, every reason."""
    return counts['frames_published'] + sum(
        n for key, n in counts.items() if key.startswith(('dropped_', 'bad_')))


def test_a_flood_through_the_node_accounts_for_every_frame_by_reason(nodes, probe, namespace,
                                                                     fall_model_card):
    """The demo model (~0.3 s a frame on this CPU) with 2 workers, fed every 5 ms."""
    node = start_detector(nodes, namespace, fall_model_card, image_qos='reliable', workers=2)
    detections = probe.collect(Detection2DArray, 'detections')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1)) is not None
    good, broken = bgr_to_image(RED), bgr_to_image(RED)
    broken.encoding = 'nv21'           # a camera encoding still refused
    for count in (1, 2):
        broken.header = stamped('cam', 1 + count)
        pub.publish(broken)
        assert wait_for(lambda c=count: node.counters()['bad_malformed'] == c)
    closed = threading.Event()

    def flood():
        for index in range(400):
            msg = broken if index % 40 == 7 else good
            msg.header = stamped('cam', 10 + index)
            pub.publish(msg)
            time.sleep(0.005)
            if index == 300:
                closed.wait(10)     # the rest arrive after the node's pool stopped
    feeder = threading.Thread(target=flood)
    feeder.start()
    assert wait_for(lambda: node.counters()['frames_in'] >= 150, 30), node.counters()
    fqn = node.get_fully_qualified_name()
    report = diagnostics.wait(lambda m: int((diagnostic_values(m, fqn) or {}).get(
        'frames_in', 0)) >= 100, timeout=10)
    assert report is not None
    values = diagnostic_values(report, fqn)
    for key in ('dropped_replaced', 'dropped_late', 'dropped_shutdown', 'bad_malformed',
                'bad_error', 'bad_timeout', 'bad_publish', 'contexts_hung'):
        assert key in values, key
    node.close()
    closed.set()
    feeder.join(20)
    time.sleep(0.5)
    assert wait_for(lambda: node.counters()['frames_in'] == settled(node.counters()), 10), \
        node.counters()
    counts = node.counters()
    assert counts['frames_published'] == counts['frames_out']
    assert counts['bad_malformed'] == counts['frames_bad'] > 0
    assert counts['dropped_replaced'] > 0, counts
    # close() stops intake (unsubscribes) before it stops the pool, so frames sent afterwards
    # never reach the node; a frame still queued in the pool at that moment is dropped as
    # `shutdown` (whether one is queued then is timing: test_pool_faults pins that count).
    assert counts['dropped_shutdown'] in (0, 1), counts
    stamps = [m.header.stamp.sec for m in detections.messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_a_hung_inference_marks_the_context_bad_and_the_node_keeps_serving(
        nodes, probe, namespace, tiny_model):
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable', workers=2,
                          inference_timeout_ms=500)
    detections = probe.collect(Detection2DArray, 'detections')
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    entered, release, first = threading.Event(), threading.Event(), threading.Lock()
    hung_models = []

    def hang_once(model, real_infer):
        def infer(tensor):      # an NPU hang: the first call on any context does not return
            if first.acquire(blocking=False):
                hung_models.append(model)
                entered.set()
                release.wait(60)
            return real_infer(tensor)
        return infer
    for model in node._models:
        model.backend.infer = hang_once(model, model.backend.infer)
    try:
        for index in range(200):
            pub.publish(bgr_to_image(RED, stamped('cam', 100 + index)))
            if entered.wait(0.05):
                break
        assert entered.is_set(), 'no worker took a frame'
        hung, = hung_models
        index = node._models.index(hung)
        fqn = node.get_fully_qualified_name()
        report = diagnostics.wait(lambda m: (diagnostic_values(m, fqn) or {}).get(
            '_level') == DiagnosticStatus.ERROR, timeout=15)
        assert report is not None, 'no ERROR in /diagnostics for the hung context'
        values = diagnostic_values(report, fqn)
        assert 'did not return within 500 ms' in values['_message'], values['_message']
        assert values['contexts_hung'] == '1' and values['bad_timeout'] == '1'
        assert wait_for(lambda: node._models[index] is not hung, 10), 'context not re-created'
        assert hung.backend is not None                 # not freed while its call runs
        # the node keeps serving, with correct results, on the fresh context and the other
        detections.clear()
        got = [send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1000 + i))
               for i in range(6)]
        assert all(msg is not None for msg in got)
        with load_model(tiny_model) as tiny:
            expected = tiny(RED)
        for msg in got:
            assert_matches(msg, expected)
        assert node.counters()['contexts_recreated'] == 1
    finally:
        release.set()
    assert wait_for(lambda: hung.backend is None, 10), 'the hung context was never freed'
    assert wait_for(lambda: node.counters()['contexts_hung'] == 0, 10)
    assert wait_for(lambda: node.counters()['frames_in'] == settled(node.counters()), 10)


def test_closing_the_node_during_an_inference_does_not_free_its_context(nodes, probe,
                                                                        namespace, tiny_model):
    """Shutdown waits (bounded, 5 s) for the call, counts its frame, frees it only after."""
    node = start_detector(nodes, namespace, tiny_model, image_qos='reliable',
                          inference_timeout_ms=0)
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    model = node._models[0]
    real_infer, entered, release = model.backend.infer, threading.Event(), threading.Event()
    freed_during_call = []

    def slow(tensor):
        entered.set()
        release.wait(60)
        freed_during_call.append(model.backend is None)
        return real_infer(tensor)
    model.backend.infer = slow
    try:
        pub.publish(bgr_to_image(RED, stamped('cam', 7)))
        assert entered.wait(10), 'the frame never reached the worker'
        node.close()                    # returns after its bounded wait; the call still runs
        assert model.backend is not None, 'the context was freed during its inference'
        counts = node.counters()
        assert counts['dropped_shutdown'] >= 1 and counts['contexts_hung'] == 0
        assert counts['frames_in'] == settled(counts)
    finally:
        release.set()
    assert wait_for(lambda: model.backend is None, 10), 'never freed after the call returned'
    assert freed_during_call == [False]
