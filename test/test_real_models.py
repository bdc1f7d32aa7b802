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
Real models through ONNX Runtime.

The generated detector (exact boxes) and the trained fall-detection YOLOv8s from PyPI on
scikit-image sample pictures (stable detections).
"""

import os

import cv2
from edge_perception import load_model
import numpy as np
import pytest

from .models import bright_rectangle, write_dense_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FALL_CARD = os.path.join(REPO, 'config', 'models', 'fall_detection.yaml')


@pytest.fixture(scope='module')
def bright_model(tmp_path_factory):
    path = write_dense_model(str(tmp_path_factory.mktemp('m') / 'bright.onnx'), num_classes=2)
    return load_model(path, threads=1)


@pytest.mark.parametrize('shape,box', [((480, 640), (100, 50, 300, 250)),
                                       ((720, 1280), (640, 100, 1000, 700)),
                                       ((320, 320), (0, 0, 160, 320)),
                                       ((300, 451), (13, 27, 401, 288))])
def test_generated_detector_box_comes_back_in_source_pixels(bright_model, shape, box):
    det, times = bright_model.predict(bright_rectangle(*shape, box))
    assert len(det) == 1 and det.class_id[0] == 0
    assert det.confidence[0] == pytest.approx(0.9)
    # one network-input pixel is 1/scale source pixels: the box is right to within that
    tolerance = max(shape) / 320 + 0.5
    np.testing.assert_allclose(det.xyxy[0], box, atol=tolerance)
    assert times.pre > 0 and times.infer > 0 and times.decode > 0


def test_generated_detector_sees_nothing_in_a_dark_image(bright_model):
    assert len(bright_model(np.zeros((240, 320, 3), np.uint8))) == 0


@pytest.fixture(scope='module')
def fall_model():
    return load_model(FALL_CARD, threads=2)


@pytest.fixture(scope='module')
def camera():
    from skimage import data
    return cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)


def test_fall_model_card_and_layout(fall_model):
    assert fall_model.class_names == ('Normal', 'Fall')
    assert fall_model.binding.layout.name == 'ultralytics'
    assert (fall_model.input_spec.height, fall_model.input_spec.width) == (640, 640)


def test_standing_cameraman_is_normal(fall_model, camera):
    det = fall_model(camera)
    assert det.names == ['Normal']
    assert det.confidence[0] == pytest.approx(0.78, abs=0.03)
    # the man stands in the left half of the 512x512 picture
    x1, y1, x2, y2 = det.xyxy[0]
    assert x2 < 360 and y2 > 450 and y1 < 120


def test_rotated_cameraman_is_a_fall(fall_model, camera):
    det = fall_model(np.ascontiguousarray(np.rot90(camera)))
    assert det.names[0] == 'Fall' and det.confidence[0] == pytest.approx(0.70, abs=0.03)
    x1, y1, x2, y2 = det.xyxy[0]
    assert (x2 - x1) > (y2 - y1)        # lying down: wider than tall


def test_detections_are_stable_across_runs_and_sizes(fall_model, camera):
    first, second = fall_model(camera), fall_model(camera)
    np.testing.assert_array_equal(first.xyxy, second.xyxy)
    # the same picture at twice the resolution gives the same box at twice the coordinates
    big = fall_model(cv2.resize(camera, (1024, 1024), interpolation=cv2.INTER_LINEAR))
    assert big.names == first.names
    np.testing.assert_allclose(big.xyxy[0] / 2, first.xyxy[0], atol=6)


def test_grayscale_input_is_accepted(fall_model, camera):
    assert fall_model(camera[..., 0]).names == ['Normal']
