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
The task nodes as managed nodes, over the real rclpy: lifecycle services and ``~/enable``.

The transitions are driven the way ``ros2 lifecycle set`` drives them, through the node's
``lifecycle_msgs`` services over DDS, and checked from outside: which topics have
publishers and subscribers, whether frames are answered, and whether the model contexts were
released (their backend is gone).
"""

from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
from lifecycle_msgs.msg import State, Transition
from lifecycle_msgs.srv import ChangeState, GetState
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from std_srvs.srv import SetBool
from vision_msgs.msg import Detection2DArray, LabelInfo

from .helpers import DISCOVERY_TIMEOUT, stamped, wait_for
from .test_detector_node import LATCHED, RED, RELIABLE, same_header, send_and_receive


def call(probe, srv_type, name, request, timeout=DISCOVERY_TIMEOUT):
    """Call a service over DDS from the probe node; return the response."""
    client = probe.create_client(srv_type, name)
    try:
        assert client.wait_for_service(timeout_sec=timeout), f'no service {name}'
        future = client.call_async(request)
        assert wait_for(future.done, timeout), f'{name}: no response'
        return future.result()
    finally:
        probe.destroy_client(client)


def change(probe, node_name, transition_id):
    request = ChangeState.Request()
    request.transition = Transition(id=transition_id)
    return call(probe, ChangeState, f'{node_name}/change_state', request).success


def state(probe, node_name):
    return call(probe, GetState, f'{node_name}/get_state', GetState.Request()).current_state.id


def start(nodes, namespace, model, **params):
    overrides = [Parameter('model', value=str(model))]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    return nodes(DetectorNode, namespace=namespace, parameter_overrides=overrides)


def test_transitions_over_the_lifecycle_services(nodes, probe, namespace, tiny_model):
    node = start(nodes, namespace, tiny_model, autostart=False, image_qos='reliable')
    name = f'{namespace}/detector'
    assert state(probe, name) == State.PRIMARY_STATE_UNCONFIGURED
    assert probe.count_publishers(f'{namespace}/detections') == 0
    assert probe.count_subscribers(f'{namespace}/image') == 0

    assert change(probe, name, Transition.TRANSITION_CONFIGURE)
    assert state(probe, name) == State.PRIMARY_STATE_INACTIVE
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/detections') == 1)
    assert probe.count_subscribers(f'{namespace}/image') == 0      # inactive: no intake
    loaded = list(node._models)
    assert loaded and all(m.backend is not None for m in loaded)

    detections = probe.collect(Detection2DArray, 'detections')
    labels = probe.collect(LabelInfo, 'label_info', LATCHED)
    assert change(probe, name, Transition.TRANSITION_ACTIVATE)
    assert state(probe, name) == State.PRIMARY_STATE_ACTIVE
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1)) is not None
    assert labels.wait() is not None

    assert change(probe, name, Transition.TRANSITION_DEACTIVATE)
    assert state(probe, name) == State.PRIMARY_STATE_INACTIVE
    assert wait_for(lambda: probe.count_subscribers(f'{namespace}/image') == 0)
    # the NPU (here ONNX Runtime) contexts are released: their backends are gone
    assert all(m.backend is None for m in loaded) and node._models == []
    assert probe.count_publishers(f'{namespace}/detections') == 1   # outputs stay declared

    assert change(probe, name, Transition.TRANSITION_ACTIVATE)       # contexts loaded again
    assert wait_for(lambda: pub.get_subscription_count() == 1, DISCOVERY_TIMEOUT)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 2)) is not None
    assert node.counters()['frames_published'] == 2                  # both activations

    assert change(probe, name, Transition.TRANSITION_DEACTIVATE)
    assert change(probe, name, Transition.TRANSITION_CLEANUP)
    assert state(probe, name) == State.PRIMARY_STATE_UNCONFIGURED
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/detections') == 0)
    # and it can be configured again (parameters are declared once)
    assert change(probe, name, Transition.TRANSITION_CONFIGURE)
    assert change(probe, name, Transition.TRANSITION_ACTIVATE)
    assert wait_for(lambda: pub.get_subscription_count() == 1, DISCOVERY_TIMEOUT)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 3)) is not None


def test_a_failing_configure_leaves_the_node_unconfigured_with_the_reason(
        nodes, probe, namespace, tiny_model):
    logged = []
    node = start(nodes, namespace, tiny_model, autostart=False, classes=['cat'])
    node.get_logger().error = lambda text, **kw: logged.append(text)
    name = f'{namespace}/detector'
    assert not change(probe, name, Transition.TRANSITION_CONFIGURE)
    assert state(probe, name) == State.PRIMARY_STATE_UNCONFIGURED
    assert any("unknown class 'cat'" in line for line in logged), logged


def test_enable_pauses_and_resumes_without_a_transition(nodes, probe, namespace, tiny_model):
    node = start(nodes, namespace, tiny_model, image_qos='reliable')
    name = f'{namespace}/detector'
    assert state(probe, name) == State.PRIMARY_STATE_ACTIVE          # autostart
    detections = probe.collect(Detection2DArray, 'detections')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 1)) is not None

    response = call(probe, SetBool, f'{name}/enable', SetBool.Request(data=False))
    assert response.success and 'paused' in response.message
    header = stamped('cam', 2)
    assert send_and_receive(pub, detections, bgr_to_image(RED), header, timeout=1.5) is None
    assert node.counters()['frames_paused'] >= 1
    assert state(probe, name) == State.PRIMARY_STATE_ACTIVE          # no transition
    assert probe.count_subscribers(f'{namespace}/image') == 1

    assert call(probe, SetBool, f'{name}/enable', SetBool.Request(data=True)).success
    got = send_and_receive(pub, detections, bgr_to_image(RED), stamped('cam', 3))
    assert got is not None and same_header(got, stamped('cam', 3))
    counts = node.counters()
    assert counts['frames_in'] == counts['frames_published'] == 2


@pytest.mark.parametrize('autostart', [True, False])
def test_autostart_decides_whether_the_node_serves_at_once(nodes, probe, namespace, tiny_model,
                                                           autostart):
    start(nodes, namespace, tiny_model, autostart=autostart)
    expected = State.PRIMARY_STATE_ACTIVE if autostart else State.PRIMARY_STATE_UNCONFIGURED
    assert state(probe, f'{namespace}/detector') == expected
    assert wait_for(lambda: probe.count_subscribers(f'{namespace}/image') == int(autostart))


def test_an_inactive_node_keeps_reporting_in_diagnostics(nodes, probe, namespace, tiny_model):
    """Deactivate closes the contexts; the 1 Hz /diagnostics still says why nothing comes."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
    from .helpers import diagnostic_values
    node = start(nodes, namespace, tiny_model, image_qos='reliable')
    fqn = node.get_fully_qualified_name()
    diagnostics = probe.collect(DiagnosticArray, '/diagnostics')
    assert change(probe, fqn, Transition.TRANSITION_DEACTIVATE)
    assert node._models == []                       # released: their backends are gone

    def inactive(msg):
        return (diagnostic_values(msg, fqn) or {}).get('state') == 'inactive'
    report = diagnostics.wait(inactive, timeout=5.0)
    assert report is not None, 'no /diagnostics from the inactive node'
    values = diagnostic_values(report, fqn)
    assert values['_level'] == DiagnosticStatus.WARN
    assert values['_message'] == 'inactive: not inferring'
    status = next(s for s in report.status if s.name.startswith(fqn))
    assert status.hardware_id == 'onnxruntime'      # the backend, named while released
    assert change(probe, fqn, Transition.TRANSITION_ACTIVATE)  # the node lived through it
    assert node.state == 'active'
