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
"""Pose: every vendor layout, float and quantised, keypoints back in source pixels."""

from edge_perception import decode, letterbox
from edge_perception.keypoints import COCO_KEYPOINTS, keypoint_names, SKELETON
from edge_perception.layouts import match_layout, TASK_LAYOUTS
from edge_perception.synthetic import make_outputs, random_objects
from edge_perception.tensors import QuantizedTensor
import numpy as np
import pytest

# every test here runs through the compiled kernels and through the numpy rules
pytestmark = pytest.mark.usefixtures('decode_path')

POSE = list(TASK_LAYOUTS['pose'])


def shapes(outputs):
    return [tuple(o.shape) for o in outputs]


def worst_keypoint_error(det, objects, info=None):
    """Largest x/y error (source px) and visibility error over every planted keypoint."""
    assert len(det) == len(objects)
    worst_xy = worst_v = 0.0
    for obj in objects:
        x1, y1, x2, y2 = obj.xyxy
        box = np.array([x1, y1, x2, y2], np.float32)
        expected = obj.keypoints.copy()
        if info is not None:
            box = info.boxes_to_source(box[None])[0]
            expected[:, :2] = info.points_to_source(expected[:, :2])
        i = int(np.abs(det.xyxy - box).max(axis=1).argmin())
        worst_xy = max(worst_xy, float(np.abs(det.keypoints[i, :, :2] - expected[:, :2]).max()))
        worst_v = max(worst_v, float(np.abs(det.keypoints[i, :, 2] - expected[:, 2]).max()))
    return worst_xy, worst_v


@pytest.mark.parametrize('layout', POSE)
@pytest.mark.parametrize('src_hw', [(480, 640), (720, 1280), (640, 640)])
def test_float_keypoints_come_back_within_half_a_pixel(layout, src_hw):
    info = letterbox(np.zeros(src_hw + (3,), np.uint8), 640, 640)[1]
    objects = random_objects(15, 1, seed=5, num_keypoints=17)
    det = decode(make_outputs(layout, objects, 1), task='pose', letterbox=info)
    assert det.keypoints.shape == (15, 17, 3) and det.keypoints.dtype == np.float32
    assert det.keypoint_names == COCO_KEYPOINTS
    xy, v = worst_keypoint_error(det, objects, info)
    assert xy < 0.5 and v < 1e-4


@pytest.mark.parametrize('layout', ['rknn_pose', 'rdk_pose'])
def test_quantised_keypoints_within_the_quantisation_step(layout):
    objects = random_objects(12, 1, seed=6, num_keypoints=17)
    outs = make_outputs(layout, objects, 1, quantized=True)
    assert isinstance(outs[0], QuantizedTensor)
    det = decode(outs, task='pose')
    xy, v = worst_keypoint_error(det, objects)
    if layout == 'rknn_pose':
        # RKNN emits its decoded keypoints as float16: half a step is 0.25 px below 1024
        assert outs[-1].dtype == np.float16 and xy <= 0.25 and v < 1e-3
    else:
        # raw offsets quantised with step 1/8: x = 2 * raw * stride, so stride / 8 at most
        assert xy <= 32 / 8 and v < 0.05
    assert np.all((det.keypoints[..., 2] >= 0) & (det.keypoints[..., 2] <= 1))


@pytest.mark.parametrize('layout', POSE)
def test_other_keypoint_counts_and_custom_names(layout):
    names = ('head', 'tail', 'left', 'right', 'centre')
    objects = random_objects(4, 2, seed=8, num_keypoints=5)
    outs = make_outputs(layout, objects, 2)
    det = decode(outs, task='pose', keypoint_names=names, class_names=('cat', 'dog'))
    assert det.keypoint_names == names and det.keypoints.shape == (4, 5, 3)
    assert worst_keypoint_error(det, objects)[0] < 0.5
    if layout != 'ultralytics_pose':       # grid layouts know K from their shapes
        assert decode(outs, task='pose').keypoint_names == ('0', '1', '2', '3', '4')


@pytest.mark.parametrize('layout', POSE)
def test_pose_layouts_are_recognised(layout):
    outs = make_outputs(layout, random_objects(2, 1, num_keypoints=17), 1)
    binding = match_layout(shapes(outs), (640, 640), task='pose')
    assert binding.layout.name == layout and binding.num_keypoints == 17
    assert binding.num_classes == 1 and '17 keypoints' in binding.describe()


def test_rknn_pose_has_class_logits_inside_the_box_tensor():
    outs = make_outputs('rknn_pose', random_objects(2, 1, num_keypoints=17), 1)
    assert shapes(outs) == [(1, 65, 80, 80), (1, 65, 40, 40), (1, 65, 20, 20), (1, 17, 3, 8400)]
    binding = match_layout(shapes(outs), (640, 640), task='pose')
    assert binding.levels[0].outputs == {'boxcls': 0} and binding.global_outputs == {'kpts': 3}


def test_dense_pose_with_unknown_classes_assumes_17_keypoints():
    binding = match_layout([(1, 56, 8400)], (640, 640), task='pose')
    assert binding.num_classes == 1 and binding.num_keypoints == 17
    binding = match_layout([(1, 4 + 3 + 15, 8400)], (640, 640), num_classes=3, task='pose')
    assert binding.num_keypoints == 5


def test_no_detections_gives_empty_keypoints():
    det = decode(make_outputs('rdk_pose', [], 1, num_keypoints=17), task='pose')
    assert len(det) == 0 and det.keypoints.shape == (0, 17, 3)


def test_keypoint_names_and_skeleton():
    assert len(COCO_KEYPOINTS) == 17 and COCO_KEYPOINTS[0] == 'nose'
    assert all(0 <= a < 17 and 0 <= b < 17 for a, b in SKELETON)
    assert keypoint_names(17) == COCO_KEYPOINTS and keypoint_names(2) == ('0', '1')
    with pytest.raises(ValueError, match='3 keypoint names'):
        keypoint_names(17, ('a', 'b', 'c'))


def test_annotate_draws_the_skeleton_at_confident_joints():
    from edge_perception.drawing import annotate
    from edge_perception.results import Detections
    points = np.zeros((1, 17, 3), np.float32)
    points[0, :, 0] = np.linspace(20, 180, 17)
    points[0, :, 1] = 50
    points[0, :, 2] = 0.9
    points[0, 0, 2] = 0.1                       # the nose is not confident: not drawn
    det = Detections([[10, 10, 190, 90]], [0.9], [0], ('person',), keypoints=points,
                     keypoint_names=COCO_KEYPOINTS)
    out = annotate(np.zeros((100, 200, 3), np.uint8), det)
    assert out[50, 60].any() and not out[50, 20].any()
