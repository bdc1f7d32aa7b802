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
Segmenter, pose and classifier nodes against the real rclpy and Fast DDS, in-process.

The models are the small generated ones of models.py (a bright rectangle is segmented, or
gets a person's keypoints at known places; the classifier reports colours); a semantic model is
an identity network whose class is the strongest RGB channel. Expected results come from the
same model run in the test process. ai_msgs/PerceptionTargets, built from ros_interfaces/ai_msgs
by scripts/setup_env.sh, is checked on every node.
"""

import time

from ai_msgs.msg import PerceptionTargets
import cv2
from edge_perception.drawing import annotate, annotate_classes, colorize
from edge_perception.model import load_model
from edge_perception.ros.classifier_node import ClassifierNode
from edge_perception.ros.detector_node import DetectorNode
from edge_perception.ros.image_conversions import bgr_to_image
from edge_perception.ros.messages import instance_id_image
from edge_perception.ros.node_base import StartupError
from edge_perception.ros.pose_node import PoseNode
from edge_perception.ros.segmenter_node import SegmenterNode
import numpy as np
import onnx
from onnx import helper, TensorProto
import pytest
from rclpy.parameter import Parameter
from sensor_msgs.msg import Image
from vision_msgs.msg import Classification, Detection2DArray

from .helpers import stamped, wait_for
from .models import (bright_rectangle, expected_keypoints, write_classifier_model,
                     write_pose_model, write_segment_model)
from .test_detector_node import RELIABLE, same_header, send_and_receive

pytestmark = pytest.mark.ros

BOX = (30, 20, 90, 60)                  # x1, y1, x2, y2 of the bright rectangle
SCENE = bright_rectangle(120, 200, BOX)


def write_semantic_model(folder):
    """Write an identity 'network' (class = strongest RGB channel) and its card; return it."""
    size = [1, 3, 64, 64]
    graph = helper.make_graph(
        [helper.make_node('Identity', ['images'], ['output0'])], 'strongest_channel',
        [helper.make_tensor_value_info('images', TensorProto.FLOAT, size)],
        [helper.make_tensor_value_info('output0', TensorProto.FLOAT, size)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 13)])
    model.ir_version = 8
    onnx.save(model, str(folder / 'semantic.onnx'))
    card = folder / 'semantic.yaml'
    card.write_text('model: semantic.onnx\ntask: semantic\nclasses: [red, green, blue]\n')
    return str(card)


@pytest.fixture(scope='module')
def task_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp('task_models')
    return {'segment': write_segment_model(folder / 'seg.onnx'),
            'pose': write_pose_model(folder / 'pose.onnx'),
            'classify': write_classifier_model(folder / 'cls.onnx'),
            'semantic': write_semantic_model(folder)}


def predict(path, image):
    model = load_model(path)
    try:
        return model.predict(image)[0]
    finally:
        model.close()


def start(nodes, cls, namespace, model, **params):
    overrides = [Parameter('model', value=str(model)), Parameter('image_qos', value='reliable')]
    overrides += [Parameter(name, value=value) for name, value in params.items()]
    return nodes(cls, namespace=namespace, parameter_overrides=overrides)


def pixels(msg, dtype=np.uint8, channels=1):
    shape = (msg.height, msg.width) + ((channels,) if channels > 1 else ())
    return np.frombuffer(bytes(msg.data), dtype).reshape(shape)


def roi_box(roi):
    r = roi.rect
    return (r.x_offset, r.y_offset, r.x_offset + r.width, r.y_offset + r.height)


def test_segmenter_masks_match_detection_ids_at_source_size(nodes, probe, namespace,
                                                            task_models):
    expected = predict(task_models['segment'], SCENE)
    assert len(expected) == 1
    start(nodes, SegmenterNode, namespace, task_models['segment'], publish_debug_image=True,
          tracker='none')         # ids = indices; tracking: test_tracking_node.py
    detections = probe.collect(Detection2DArray, 'detections')
    masks = probe.collect(Image, 'masks')
    overlay = probe.collect(Image, 'masks/color', RELIABLE)
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/masks/color') == 1)
    header = stamped('camera_optical', 11, 12)
    got = send_and_receive(pub, detections, bgr_to_image(SCENE), header)
    assert got is not None and len(got.detections) == 1
    det = got.detections[0]
    assert det.id == '0' and same_header(det, header)
    assert det.results[0].hypothesis.class_id == '0'            # class_id_format index
    assert (det.bbox.center.position.x, det.bbox.center.position.y) == pytest.approx((60, 40))
    mask = masks.wait(lambda m: same_header(m, header))
    assert mask is not None
    assert (mask.encoding, mask.height, mask.width, mask.step) == ('mono8', 120, 200, 200)
    ids = pixels(mask)
    assert set(np.unique(ids)) == {0, int(det.id) + 1}
    assert np.array_equal(ids == int(det.id) + 1, expected.masks[0])
    color = overlay.wait(lambda m: same_header(m, header))
    assert color is not None and color.encoding == 'bgr8'
    assert np.array_equal(pixels(color, channels=3), annotate(SCENE, expected))
    tros = targets.wait(lambda m: same_header(m, header))
    assert tros is not None and [t.type for t in tros.targets] == ['class0']
    assert roi_box(tros.targets[0].rois[0]) == BOX
    assert tros.targets[0].rois[0].confidence == pytest.approx(float(expected.confidence[0]))
    stages = [p.type.rsplit('_', 1)[-1] for p in tros.perfs]
    assert stages == ['convert', 'preprocess', 'infer', 'postprocess', 'pipeline']


def test_instance_id_image_goes_16_bit_above_255_instances():
    masks = np.zeros((300, 4, 5), bool)
    masks[:, 0, 0] = True                     # every instance covers pixel (0, 0)
    masks[299, 3, 4] = True
    ids = instance_id_image(masks, 4, 5)
    assert ids.dtype == np.uint16 and ids[0, 0] == 1 and ids[3, 4] == 300
    assert ids.sum() == 301
    assert instance_id_image(masks[:255], 4, 5).dtype == np.uint8
    assert instance_id_image(None, 4, 5).shape == (4, 5)
    with pytest.raises(ValueError, match='source resolution'):
        instance_id_image(masks, 8, 5)


def test_semantic_model_publishes_a_class_map(nodes, probe, namespace, task_models):
    scene = np.zeros((48, 80, 3), np.uint8)
    scene[:, :40], scene[:, 40:] = (0, 0, 255), (0, 255, 0)          # red | green
    expected = predict(task_models['semantic'], scene)
    start(nodes, SegmenterNode, namespace, task_models['semantic'], publish_debug_image=True)
    masks = probe.collect(Image, 'mask')
    overlay = probe.collect(Image, 'mask/color', RELIABLE)
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/mask/color') == 1)
    assert probe.count_publishers(f'{namespace}/detections') == 0
    header = stamped('cam', 3)
    got = send_and_receive(pub, masks, bgr_to_image(scene), header)
    assert got is not None and (got.encoding, got.height, got.width) == ('mono8', 48, 80)
    assert np.array_equal(pixels(got), expected.class_map)
    ids = pixels(got)
    assert set(np.unique(ids[:, :40])) == {0} and set(np.unique(ids[:, 40:])) == {1}
    color = overlay.wait(lambda m: same_header(m, header))
    assert color is not None
    assert np.array_equal(pixels(color, channels=3),
                          cv2.addWeighted(scene, 0.5, colorize(expected), 0.5, 0.0))
    tros = targets.wait(lambda m: same_header(m, header))
    capture = tros.targets[0].captures[0]
    assert tros.targets[0].type == 'segmentation'
    assert (capture.img.height, capture.img.width) == (48, 80)
    assert np.array_equal(np.asarray(capture.features).reshape(48, 80), expected.class_map)


def test_pose_keypoints_are_linked_to_their_person(nodes, probe, namespace, task_models):
    expected = predict(task_models['pose'], SCENE)
    names = expected.keypoint_names
    node = start(nodes, PoseNode, namespace, task_models['pose'], publish_debug_image=True,
                 tracker='none')  # ids = indices; tracking: test_tracking_node.py
    detections = probe.collect(Detection2DArray, 'detections')
    keypoints = probe.collect(Detection2DArray, 'keypoints')
    debug = probe.collect(Image, 'keypoints/image', RELIABLE)
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/keypoints/image') == 1)
    header = stamped('camera_optical', 21, 5)
    people = send_and_receive(pub, detections, bgr_to_image(SCENE), header)
    assert people is not None and len(people.detections) == 1
    person = people.detections[0]
    assert person.results[0].hypothesis.class_id == '0'         # class 0 of the pose model
    truth = expected_keypoints(expected.xyxy[0])
    visible = [i for i in range(len(names)) if truth[i, 2] >= 0.5]
    assert 0 < len(visible) < len(names)
    got = keypoints.wait(lambda m: same_header(m, header))
    assert got is not None
    assert [d.id for d in got.detections] == [f'{person.id}/{names[i]}' for i in visible]
    for det, i in zip(got.detections, visible):
        assert same_header(det, header)
        assert det.results[0].hypothesis.class_id == names[i]
        assert det.results[0].hypothesis.score == pytest.approx(float(truth[i, 2]), abs=1e-5)
        assert (det.bbox.center.position.x, det.bbox.center.position.y) == pytest.approx(
            tuple(truth[i, :2].astype(float)), abs=0.5)
        assert det.bbox.size_x == 0.0 and det.bbox.size_y == 0.0
    # markers are metric now (camera rays or depth): test_depth_node.py
    image = debug.wait(lambda m: same_header(m, header))
    assert np.array_equal(pixels(image, channels=3),
                          annotate(SCENE, expected, keypoint_threshold=0.5))
    tros = targets.wait(lambda m: same_header(m, header))
    point = tros.targets[0].points[0]
    assert point.type == 'body_kps' and len(point.point) == len(names)
    assert np.allclose(point.confidence, truth[:, 2], atol=1e-5)

    result, = node.set_parameters([Parameter('keypoint_threshold', value=0.0)])
    assert result.successful
    result, = node.set_parameters([Parameter('keypoint_threshold', value=1.5)])
    assert not result.successful and 'keypoint_threshold' in result.reason
    header = stamped('camera_optical', 22)
    assert send_and_receive(pub, detections, bgr_to_image(SCENE), header) is not None
    got = keypoints.wait(lambda m: same_header(m, header))
    assert len(got.detections) == len(names)


def test_classifier_publishes_top_k_in_order(nodes, probe, namespace, task_models):
    scene = np.zeros((60, 90, 3), np.uint8)
    scene[:] = (40, 200, 120)                         # BGR: green strongest, then red, blue
    expected = predict(task_models['classify'], scene)
    assert expected.names[:3] == ['green', 'red', 'blue']
    node = start(nodes, ClassifierNode, namespace, task_models['classify'],
                 publish_debug_image=True)
    assert node.get_parameter('confidence_threshold').value == 0.0
    results = probe.collect(Classification, 'classification')
    debug = probe.collect(Image, 'classification/image', RELIABLE)
    targets = probe.collect(PerceptionTargets, 'perception_targets')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    assert wait_for(lambda: probe.count_publishers(f'{namespace}/classification/image') == 1)
    header = stamped('cam', 31)
    got = send_and_receive(pub, results, bgr_to_image(scene), header)
    assert got is not None
    # class ids (class_id_format index): the classifier's classes are red, green, blue
    assert [r.class_id for r in got.results] == ['1', '0', '2']
    scores = [r.score for r in got.results]
    assert scores == sorted(scores, reverse=True)
    assert scores == pytest.approx(expected.confidence.astype(float).tolist(), abs=1e-6)
    image = debug.wait(lambda m: same_header(m, header))
    assert np.array_equal(pixels(image, channels=3), annotate_classes(scene, expected))
    tros = targets.wait(lambda m: same_header(m, header))
    assert [t.type for t in tros.targets] == ['green', 'red', 'blue']
    assert roi_box(tros.targets[0].rois[0]) == (0, 0, 90, 60)

    result, = node.set_parameters([Parameter('top_k', value=2)])
    assert result.successful
    got = send_and_receive(pub, results, bgr_to_image(scene), stamped('cam', 32))
    assert [r.class_id for r in got.results] == ['1', '0']
    threshold = (scores[0] + scores[1]) / 2
    result, = node.set_parameters([Parameter('confidence_threshold', value=threshold)])
    assert result.successful
    got = send_and_receive(pub, results, bgr_to_image(scene), stamped('cam', 33))
    assert [r.class_id for r in got.results] == ['1']
    for name, value in [('top_k', 0), ('confidence_threshold', 2.0), ('workers', 2)]:
        result, = node.set_parameters([Parameter(name, value=value)])
        assert not result.successful, f'{name}={value} was accepted'


@pytest.mark.parametrize('task,cls,output,msg_type', [
    ('segment', SegmenterNode, 'masks', Image),
    ('pose', PoseNode, 'keypoints', Detection2DArray),
    ('classify', ClassifierNode, 'classification', Classification)])
def test_malformed_frames_are_counted_and_every_node_keeps_serving(
        nodes, probe, namespace, task_models, task, cls, output, msg_type):
    node = start(nodes, cls, namespace, task_models[task])
    received = probe.collect(msg_type, output)
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    truncated = bgr_to_image(SCENE)
    truncated.data = truncated.data[:100]
    bad_encoding = bgr_to_image(SCENE)
    bad_encoding.encoding = 'nv21'     # a camera encoding still refused
    for count, msg in enumerate((truncated, bad_encoding), start=1):
        msg.header = stamped('cam', count)
        pub.publish(msg)
        assert wait_for(lambda c=count: node.counters()['frames_bad'] == c), node.counters()
    assert send_and_receive(pub, received, bgr_to_image(SCENE), stamped('cam', 9)) is not None
    assert node.counters()['errors'] == 0


@pytest.mark.parametrize('cls,task,expected', [
    (SegmenterNode, 'classify', "is a 'classify' model, but the segmenter node runs 'segment' "
     "or 'semantic' models: run classifier_node for it"),
    (PoseNode, 'segment', "but the pose node runs 'pose' models: run segmenter_node"),
    (ClassifierNode, 'pose', 'run pose_node for it'),
    (DetectorNode, 'semantic', 'run segmenter_node for it')])
def test_a_model_of_another_task_stops_start_up_naming_the_node_to_run(
        nodes, namespace, task_models, cls, task, expected):
    with pytest.raises(StartupError, match=expected):
        start(nodes, cls, namespace, task_models[task])


def test_invalid_start_parameters_are_rejected(nodes, namespace, task_models):
    with pytest.raises(StartupError, match='keypoint_threshold'):
        start(nodes, PoseNode, namespace, task_models['pose'], keypoint_threshold=2.0)
    with pytest.raises(StartupError, match='top_k'):
        start(nodes, ClassifierNode, namespace, task_models['classify'], top_k=0)
    with pytest.raises(StartupError, match="unknown class 'cat'"):
        start(nodes, SegmenterNode, namespace, task_models['segment'], classes=['cat'])


def test_classifier_logs_scores_that_contradict_the_card(nodes, probe, namespace, task_models,
                                                         tmp_path):
    """The card says logits, the (softmax) model gives probabilities: one WARN names the fix."""
    from rcl_interfaces.msg import Log
    card = tmp_path / 'card.yaml'
    card.write_text(f'task: classify\nmodel: {task_models["classify"]}\nscores: logit\n')
    rosout = probe.collect(Log, '/rosout', RELIABLE)
    node = start(nodes, ClassifierNode, namespace, card, workers=2)
    logger = node.get_logger().name
    results = probe.collect(Classification, 'classification')
    pub = probe.publisher_for(Image, 'image', RELIABLE)
    scene = np.full((60, 90, 3), (40, 200, 120), np.uint8)
    for second in (41, 42, 43):
        assert send_and_receive(pub, results, bgr_to_image(scene), stamped('cam', second))
    warning = rosout.wait(lambda m: m.name == logger and 'classifier scores' in m.msg)
    assert warning is not None and warning.level == Log.WARN
    assert 'look like probabilities' in warning.msg and '`scores: softmax`' in warning.msg
    time.sleep(0.5)                 # any second copy (the other worker's model) arrives
    assert sum('classifier scores' in m.msg for m in rosout.messages if m.name == logger) == 1
