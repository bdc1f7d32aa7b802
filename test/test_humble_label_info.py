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
The nodes on Humble's first vision_msgs (4.0.0), which has no LabelInfo/VisionClass (4.1.0 has).

The node and container processes run over the real rclpy with ``vision_msgs.msg`` stripped of
both names before edge_perception is imported (as in 4.0.0, where the generated module simply
lacks them): they must start, serve detections, publish no ``label_info`` and say so once, at
start-up. The same processes with the names left in place are the control.
"""

import signal
import subprocess
import sys
import time

from edge_perception.ros.image_conversions import bgr_to_image
import numpy as np
import pytest
from rcl_interfaces.msg import Parameter as ParameterMsg, ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from rclpy.qos import (DurabilityPolicy, HistoryPolicy, qos_profile_sensor_data, QoSProfile,
                       ReliabilityPolicy)
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification, Detection2DArray, LabelInfo

from .helpers import REPO_ROOT, stamped, subprocess_env, wait_for
from .models import COLOR_CLASSES, expected_scores, write_classifier_model

pytestmark = pytest.mark.ros

#: What the nodes log when LabelInfo is missing (edge_perception/ros/messages.py).
MISSING_LINE = 'this vision_msgs has no LabelInfo/VisionClass (added in vision_msgs 4.1.0'
LATCHED = QoSProfile(depth=1, history=HistoryPolicy.KEEP_LAST,
                     reliability=ReliabilityPolicy.RELIABLE,
                     durability=DurabilityPolicy.TRANSIENT_LOCAL)
RED = np.zeros((480, 640, 3), np.uint8)
RED[:] = (0, 0, 255)

#: Run ``module`` as __main__ with argv; for '4.0.0' first remove LabelInfo and VisionClass
#: from vision_msgs.msg and check ``from vision_msgs.msg import LabelInfo`` now fails.
LAUNCHER = """
import runpy, sys
mode, module, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
if mode == '4.0.0':
    import vision_msgs.msg
    del vision_msgs.msg.LabelInfo, vision_msgs.msg.VisionClass
    try:
        from vision_msgs.msg import LabelInfo  # noqa: F401
    except ImportError:
        pass
    else:
        sys.exit('LabelInfo is still importable')
sys.argv = [module] + argv
runpy.run_module(module, run_name='__main__', alter_sys=True)
"""


def start(mode, module, *args):
    return subprocess.Popen(
        [sys.executable, '-c', LAUNCHER, mode, module, *args], env=subprocess_env(),
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stop(process):
    """SIGINT the process; return its stderr after checking it exited cleanly."""
    try:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert 'Traceback' not in err, err
    return err


def first_detections(probe, pub, collector, header, timeout=20.0):
    """Publish RED with ``header`` every 0.5 s until its detections arrive; return them."""
    frame = bgr_to_image(RED)
    frame.header = header
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pub.publish(frame)
        got = collector.wait(lambda m: m.header.stamp.sec == header.stamp.sec, timeout=0.5)
        if got is not None:
            return got
    return None


def set_threshold(probe, node_path, value):
    """Set confidence_threshold over the node's set_parameters service (any rclpy)."""
    client = probe.create_client(SetParameters, f'{node_path}/set_parameters')
    assert client.wait_for_service(timeout_sec=10.0), f'no {node_path}/set_parameters'
    request = SetParameters.Request(parameters=[ParameterMsg(
        name='confidence_threshold',
        value=ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=value))])
    future = client.call_async(request)
    assert wait_for(future.done, 10.0), 'set_parameters did not answer'
    assert future.result().results[0].successful, future.result().results[0].reason
    probe.destroy_client(client)


@pytest.mark.parametrize('mode', ['4.0.0', '4.1'])
def test_detector_without_label_info_starts_serves_and_says_so_once(
        probe, namespace, tiny_model, mode):
    detections = probe.collect(Detection2DArray, 'detections')
    labels = probe.collect(LabelInfo, 'label_info', LATCHED)
    process = start(mode, 'edge_perception.ros.detector_node', '--ros-args',
                    '-p', f'model:={tiny_model}', '-r', f'__ns:={namespace}')
    try:
        pub = probe.publisher_for(Image, 'image', qos_profile_sensor_data, timeout=30.0)
        got = first_detections(probe, pub, detections, stamped('cam', 7))
        assert got is not None, 'no detections from the node process'
        red, _ = expected_scores(RED)
        # 4.1: class ids (class_id_format index) to look up in label_info; 4.0.0 has no
        # LabelInfo, so the node falls back to the class names
        assert [d.results[0].hypothesis.class_id for d in got.detections] == \
            (['red'] if mode == '4.0.0' else ['0'])
        assert got.detections[0].results[0].hypothesis.score == pytest.approx(red, abs=1e-6)
        # A threshold change re-publishes label_info when it can: never a second log line.
        set_threshold(probe, f'{namespace}/detector', 0.3)
        assert first_detections(probe, pub, detections, stamped('cam', 8)) is not None
        assert probe.count_publishers(f'{namespace}/detections') == 1
        label_publishers = probe.count_publishers(f'{namespace}/label_info')
        if mode == '4.1':
            # endpoints are discovered one by one: give the control's publisher time to show
            label_publishers = wait_for(
                lambda: probe.count_publishers(f'{namespace}/label_info'), 10.0)
            latest = labels.wait(lambda m: abs(m.threshold - 0.3) < 1e-6)
            assert latest is not None, 'label_info did not follow the threshold'
            assert [c.class_name for c in latest.class_map] == list(COLOR_CLASSES)
    finally:
        err = stop(process)
    lines = [line for line in err.splitlines() if MISSING_LINE in line]
    if mode == '4.0.0':
        assert label_publishers == 0 and labels.messages == []
        assert len(lines) == 1, err
        assert '[WARN]' in lines[0] and 'label_info is not published' in lines[0]
        startup = next(i for i, line in enumerate(err.splitlines()) if 'listening on' in line)
        assert err.splitlines().index(lines[0]) < startup, 'not logged at start-up'
    else:
        assert label_publishers == 1 and lines == [], err


def test_container_without_label_info_logs_it_once_for_all_its_nodes(
        probe, namespace, tiny_model, tmp_path):
    classifier = write_classifier_model(tmp_path / 'cls.onnx')
    config = tmp_path / 'c.yaml'
    config.write_text(f"""
nodes:
  - task: detect
    namespace: {namespace}
    parameters: {{model: {tiny_model}}}
    remappings: {{image: {namespace}/image}}
  - task: classify
    namespace: {namespace}/cls
    parameters: {{model: {classifier}}}
    remappings: {{image: {namespace}/image}}
""")
    detections = probe.collect(Detection2DArray, 'detections')
    classes = probe.collect(Classification, 'cls/classification')
    process = start('4.0.0', 'edge_perception.ros.container', str(config))
    try:
        pub = probe.publisher_for(Image, 'image', qos_profile_sensor_data, timeout=30.0)
        assert first_detections(probe, pub, detections, stamped('cam', 9)) is not None
        assert classes.wait(lambda m: m.header.stamp.sec == 9) is not None
        assert probe.count_publishers(f'{namespace}/label_info') == 0
        assert probe.count_publishers(f'{namespace}/cls/label_info') == 0
    finally:
        err = stop(process)
    assert sum(MISSING_LINE in line for line in err.splitlines()) == 1, err
    assert '2 node(s)' in err
