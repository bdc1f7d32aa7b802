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
perception_container and the task executables, against the real rclpy and Fast DDS.

In-process: a detector, a pose node and a classifier in one Container on one camera topic share
one subscription, and each frame is converted exactly once (counted at the conversion function
itself). As processes: the container from a YAML file, and the start-up failures of the new
executables (one error line, non-zero exit status).
"""

import signal
import subprocess
import sys

from edge_perception.errors import ConfigError
from edge_perception.model import load_model
from edge_perception.ros import frames
from edge_perception.ros.container import Container, load_config
from edge_perception.ros.image_conversions import bgr_to_image
import pytest
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification, Detection2DArray

from .helpers import REPO_ROOT, stamped, subprocess_env, wait_for
from .models import bright_rectangle, write_classifier_model, write_pose_model
from .test_detector_node import BLUE, RED, RELIABLE, same_header, send_and_receive

pytestmark = pytest.mark.ros


@pytest.fixture(scope='module')
def more_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('container_models')
    return {'pose': write_pose_model(folder / 'pose.onnx'),
            'classify': write_classifier_model(folder / 'cls.onnx')}


def write_config(path, text):
    path.write_text(text)
    return str(path)


def three_nodes(namespace, tiny_model, models, qos='reliable'):
    return f"""
threads: 4
nodes:
  - task: detect
    namespace: {namespace}
    parameters: {{model: {tiny_model}, image_qos: {qos}}}
    remappings: {{image: {namespace}/camera/image}}
  - task: pose
    name: body
    namespace: {namespace}/body
    parameters: {{model: {models['pose']}, image_qos: {qos}}}
    remappings: {{image: {namespace}/camera/image}}
  - task: classify
    namespace: {namespace}/cls
    parameters: {{model: {models['classify']}, image_qos: {qos}, top_k: 2}}
    remappings: {{image: {namespace}/camera/image}}
"""


def test_one_subscription_and_one_conversion_per_frame(ros_context, executor, probe, namespace,
                                                       tiny_model, more_models, tmp_path,
                                                       monkeypatch):
    converted = []
    real = frames.image_to_frame

    def counting(msg, *args, **kwargs):
        converted.append(msg.header.stamp.sec)
        return real(msg, *args, **kwargs)
    monkeypatch.setattr(frames, 'image_to_frame', counting)
    config = load_config(write_config(tmp_path / 'c.yaml',
                                      three_nodes(namespace, tiny_model, more_models)))
    container = Container(config, name=f'container{namespace.replace("/", "_")}',
                          context=ros_context)
    for node in container.nodes:
        executor.add_node(node)
    try:
        detector, body, classifier = container.perception_nodes
        assert body.get_fully_qualified_name() == f'{namespace}/body/body'
        detections = probe.collect(Detection2DArray, 'detections')
        people = probe.collect(Detection2DArray, 'body/keypoints')
        classes = probe.collect(Classification, 'cls/classification')
        pub = probe.publisher_for(Image, 'camera/image', RELIABLE)
        assert probe.count_subscribers(f'{namespace}/camera/image') == 1
        assert container.hub.subscriptions() == 1
        scene = bright_rectangle(120, 160, (20, 30, 100, 90))
        scene[30:90, 20:100] = (0, 0, 255)
        scene[30:90, 20:100, 1:] = 255             # white rectangle on black, red-ish mean
        for sec in (1, 2, 3):
            header = stamped('cam', sec)
            assert send_and_receive(pub, detections, bgr_to_image(scene), header) is not None
            assert people.wait(lambda m, h=header: same_header(m, h)) is not None
            got = classes.wait(lambda m, h=header: same_header(m, h))
            assert got is not None and len(got.results) == 2
        assert converted == [1, 2, 3]              # once per frame, not once per node
        assert container.hub.frames() == {f'{namespace}/camera/image': 3}
        for node in container.perception_nodes:
            counts = node.counters()
            assert counts['frames_in'] == 3 and counts['frames_out'] == 3, counts
    finally:
        for node in container.nodes:
            executor.remove_node(node)
        container.close()


def test_image_topics_in_the_container_two_cameras_one_model_instance(
        ros_context, executor, probe, namespace, tiny_model, more_models, tmp_path, monkeypatch):
    import onnxruntime
    with load_model(tiny_model) as model:          # each camera's own result, for reference
        expected = {'front': model(RED).class_id.tolist(), 'rear': model(BLUE).class_id.tolist()}
    sessions = []
    real = onnxruntime.InferenceSession

    def counting(path, *args, **kwargs):        # ONNX Runtime's own sessions, counted
        sessions.append(path)
        return real(path, *args, **kwargs)
    monkeypatch.setattr(onnxruntime, 'InferenceSession', counting)
    front, rear = f'{namespace}/front/image_raw', f'{namespace}/rear/image_raw'
    text = f"""
nodes:
  - task: detect
    namespace: {namespace}/cameras
    parameters: {{model: {tiny_model}, image_qos: reliable, image_topics: [{front}, {rear}]}}
  - task: classify
    namespace: {namespace}/cls
    parameters: {{model: {more_models['classify']}, image_qos: reliable}}
    remappings: {{image: {front}}}
"""
    container = Container(load_config(write_config(tmp_path / 'c.yaml', text)),
                          name=f'container{namespace.replace("/", "_")}', context=ros_context)
    for node in container.nodes:
        executor.add_node(node)
    try:
        assert sessions == [tiny_model, more_models['classify']]    # one model instance each
        # the classifier shares the front camera's subscription: two in the process
        assert container.hub.subscriptions() == 2
        assert probe.count_subscribers(front) == 1 and probe.count_subscribers(rear) == 1
        outputs = {camera: probe.collect(Detection2DArray, f'{camera}/detections')
                   for camera in ('front', 'rear')}
        classes = probe.collect(Classification, 'cls/classification')
        assert probe.count_publishers(f'{namespace}/cameras/detections') == 0
        publishers = {'front': probe.publisher_for(Image, front, RELIABLE, subscribers=1),
                      'rear': probe.publisher_for(Image, rear, RELIABLE)}
        for sec, (camera, scene) in enumerate((('front', RED), ('rear', BLUE)), 1):
            got = send_and_receive(publishers[camera], outputs[camera], bgr_to_image(scene),
                                   stamped(camera, sec))
            assert got is not None, camera
            assert [int(d.results[0].hypothesis.class_id) for d in got.detections] == \
                expected[camera]
        assert all(m.header.frame_id == camera for camera, collector in outputs.items()
                   for m in collector.messages)
        assert classes.wait(lambda m: m.header.frame_id == 'front') is not None
        assert container.hub.frames() == {front: 1, rear: 1}
        detector = container.perception_nodes[0]
        assert detector.counters()['frames_in'] == 2 and detector.counters()['frames_out'] == 2
        assert len(sessions) == 2                   # no model loaded per camera or per frame
    finally:
        for node in container.nodes:
            executor.remove_node(node)
        container.close()


def test_config_errors_name_the_entry(tmp_path, tiny_model):
    cases = [
        ('nodes: []\n', 'needs a non-empty list "nodes"'),
        ('nodes:\n  - task: dance\n', "nodes[0]: task 'dance' is not one of detect"),
        ('nodes:\n  - task: detect\n    params: {}\n', "nodes[0]: unknown keys ['params']"),
        ('nodes:\n  - task: detect\n  - task: detect\n', 'two nodes are named /detector'),
        ('nodes:\n  - task: detect\n  - {task: pose, namespace: /}\n',
         'shares namespace / with nodes[0]'),
        ('workers: 2\nnodes:\n  - task: detect\n', "unknown keys ['workers']"),
    ]
    for text, message in cases:
        with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace(']', r'\]')):
            load_config(write_config(tmp_path / 'bad.yaml', text))
    with pytest.raises(ConfigError, match='No such file'):
        load_config(str(tmp_path / 'absent.yaml'))
    config = load_config(write_config(
        tmp_path / 'rel.yaml', 'nodes:\n  - task: detect\n    parameters: {model: m/x.onnx}\n'))
    assert config['nodes'][0]['parameters']['model'] == str(tmp_path / 'm' / 'x.onnx')
    example = load_config(f'{REPO_ROOT}/config/composition/detect_pose.yaml')
    assert [n['task'] for n in example['nodes']] == ['detect', 'pose']
    assert example['nodes'][0]['parameters']['model'] == \
        f'{REPO_ROOT}/config/models/fall_detection.yaml'
    example = load_config(f'{REPO_ROOT}/config/composition/two_cameras.yaml')
    assert [n['task'] for n in example['nodes']] == ['detect', 'classify']
    assert example['nodes'][0]['parameters']['image_topics'] == ['/front/image_raw',
                                                                 '/rear/image_raw']


def test_container_process_runs_the_config_and_stops_on_sigint(
        probe, namespace, tiny_model, more_models, tmp_path):
    text = three_nodes(namespace, tiny_model, more_models, 'sensor_data')
    config = write_config(tmp_path / 'c.yaml', text)
    detections = probe.collect(Detection2DArray, 'detections')
    classes = probe.collect(Classification, 'cls/classification')
    process = subprocess.Popen(
        [sys.executable, '-m', 'edge_perception.ros.container', config],
        env=subprocess_env(), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        pub = probe.publisher_for(Image, 'camera/image', qos_profile_sensor_data, timeout=30.0)
        assert wait_for(lambda: probe.count_subscribers(f'{namespace}/camera/image') == 1)
        header = stamped('cam', 42)
        got = send_and_receive(pub, detections, bgr_to_image(RED), header, timeout=20.0,
                               resend=0.5)
        assert got is not None and got.detections[0].results[0].hypothesis.class_id == '0'  # red
        assert classes.wait(lambda m: same_header(m, header)) is not None
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=15.0)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert 'Traceback' not in err, err
    assert '3 node(s)' in err and '1 shared image subscription(s)' in err


def run(args, timeout=30.0):
    return subprocess.run([sys.executable, '-m', *args], env=subprocess_env(), cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize('module,model,expected', [
    ('segmenter_node', 'classify', "is a 'classify' model, but the segmenter node runs"),
    ('pose_node', 'missing', 'model file not found: /nonexistent/pose.onnx'),
    ('classifier_node', 'pose', "is a 'pose' model, but the classifier node runs")])
def test_executables_fail_start_up_with_one_line(module, model, expected, more_models):
    path = more_models.get(model, '/nonexistent/pose.onnx')
    done = run([f'edge_perception.ros.{module}', '--ros-args', '-p', f'model:={path}'])
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and 'Traceback' not in done.stderr, done.stderr
    assert len(lines) == 1 and '[ERROR]' in lines[0] and expected in lines[0], done.stderr


def test_container_with_a_bad_node_or_config_exits_non_zero(tmp_path, namespace):
    config = write_config(tmp_path / 'c.yaml', f'nodes:\n  - task: pose\n    namespace: '
                          f'{namespace}\n    parameters: {{model: /nonexistent/p.onnx}}\n')
    done = run(['edge_perception.ros.container', config])
    assert done.returncode == 1 and 'model file not found' in done.stderr, done.stderr
    assert 'Traceback' not in done.stderr
    done = run(['edge_perception.ros.container', str(tmp_path / 'absent.yaml')])
    assert done.returncode == 2 and 'absent.yaml' in done.stderr


def test_the_container_drives_the_lifecycle_and_honours_autostart_false(
        ros_context, executor, probe, namespace, tiny_model, more_models, tmp_path):
    from lifecycle_msgs.msg import State
    from lifecycle_msgs.srv import GetState
    text = f"""
nodes:
  - task: detect
    namespace: {namespace}
    parameters: {{model: {tiny_model}, image_qos: reliable}}
  - task: pose
    namespace: {namespace}/body
    parameters: {{model: {more_models['pose']}, image_qos: reliable, autostart: false}}
"""
    container = Container(load_config(write_config(tmp_path / 'c.yaml', text)),
                          name=f'container{namespace.replace("/", "_")}', context=ros_context)
    for node in container.nodes:
        executor.add_node(node)
    try:
        def state(name):      # over DDS, as ros2 lifecycle get does
            client = probe.create_client(GetState, f'{name}/get_state')
            assert client.wait_for_service(timeout_sec=10.0)
            future = client.call_async(GetState.Request())
            assert wait_for(future.done)
            probe.destroy_client(client)
            return future.result().current_state.id
        assert state(f'{namespace}/detector') == State.PRIMARY_STATE_ACTIVE
        assert state(f'{namespace}/body/pose') == State.PRIMARY_STATE_UNCONFIGURED
        # the shared subscription serves the active node only; the other has no publishers
        assert probe.count_publishers(f'{namespace}/body/keypoints') == 0
        detections = probe.collect(Detection2DArray, 'detections')
        pub = probe.publisher_for(Image, 'image', RELIABLE)
        assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('c', 1)) is not None
        assert container.hub.subscriptions() == 1
    finally:
        for node in container.nodes:
            executor.remove_node(node)
        container.close()
