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
NV12 in either BT.601 range through ``preprocess``: the fused path equals the whole-image one.

The full-range formula itself is held against the D-Robotics toolchain's
(``rgb2bt601_full_range``) in test/rdk_tools/test_rdk_calibration.py; here the package's own
paths must agree with each other bit for bit, and the card's ``yuv_range`` must reach them.
"""

import cv2
from edge_perception.preprocess import InputSpec, letterbox, preprocess
from edge_perception.spec import load_card
from edge_perception.yuv_range import bgr_to_nv12_in
import numpy as np
import pytest

from .test_nv12 import natural_image, vendor_bgr2nv12


@pytest.mark.parametrize('yuv_range', ['video', 'full'])
@pytest.mark.parametrize('src', [(480, 640), (333, 517), (640, 640)])
def test_letterboxed_nv12_is_the_conversion_of_the_whole_padded_image(yuv_range, src):
    image = natural_image(*src, seed=4)
    spec = InputSpec(height=320, width=320, dtype='uint8', color='nv12', yuv_range=yuv_range)
    tensor, _ = preprocess(image, spec)
    boxed, _ = letterbox(image, 320, 320, 114)
    np.testing.assert_array_equal(tensor, bgr_to_nv12_in(boxed, yuv_range))
    crop = InputSpec(height=320, width=320, dtype='uint8', color='nv12', yuv_range=yuv_range,
                     resize='center_crop')
    assert preprocess(image, crop)[0].shape == (320 * 480,)


def test_video_range_is_the_vendor_demos_conversion_and_full_range_is_not():
    image = natural_image(240, 320, seed=2)
    assert np.array_equal(bgr_to_nv12_in(image, 'video'), vendor_bgr2nv12(image))
    full = bgr_to_nv12_in(image, 'full')
    y_full, y_video = full[:240 * 320], vendor_bgr2nv12(image)[:240 * 320]
    assert y_full.min() < 16 or y_full.max() > 235 or not np.array_equal(y_full, y_video)
    black_white = np.zeros((2, 4, 3), np.uint8)
    black_white[:, 2:] = 255
    assert list(bgr_to_nv12_in(black_white, 'full')[:4]) == [0, 0, 255, 255]
    assert list(bgr_to_nv12_in(black_white, 'video')[:4]) == [16, 16, 235, 235]
    grey = cv2.cvtColor(np.full((2, 2, 3), 90, np.uint8), cv2.COLOR_BGR2GRAY)
    assert list(bgr_to_nv12_in(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR), 'full')[4:]) == [128] * 2


def test_the_cards_yuv_range_reaches_the_input_spec(tmp_path):
    card = tmp_path / 'm.yaml'
    card.write_text('name: m\nfiles: {onnxruntime: m.onnx}\ninput: {yuv_range: full}\n')
    assert load_card(str(card)).input['yuv_range'] == 'full'
    with pytest.raises(ValueError, match="yuv_range 'studio'"):
        InputSpec(color='nv12', dtype='uint8', yuv_range='studio')
