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
The classifier's centre crop of nv12, yuyv and uyvy frames: the bytes of the whole frame's.

Reference (written out here): OpenCV converts the whole frame to BGR, then the centre crop as
ultralytics' classify transform does it for a fixed input (scale so the shorter side fits,
cv2.resize, cut out the centre), then the tensor. The frame path must give the same bytes, for
crop windows at odd and even offsets, with and without a resize, in every interpolation.
"""

import cv2
from edge_perception.preprocess import InputSpec, Nv12Frame, preprocess, Yuv422Frame
from edge_perception.yuv_crop import center_crop_frame
from edge_perception.yuv_range import bgr_to_nv12_in
import numpy as np
import pytest

from .test_fused_preprocess import yuv_sources
from .test_nv12 import natural_image

FLAGS = {'linear': cv2.INTER_LINEAR, 'area': cv2.INTER_AREA, 'nearest': cv2.INTER_NEAREST}


def reference_crop(bgr: np.ndarray, width: int, height: int, flag: int):
    """Return the whole frame's centre crop, written out: (crop, x0, y0, resized?)."""
    src_h, src_w = bgr.shape[:2]
    ratio = max(width / src_w, height / src_h)
    new_w, new_h = max(width, round(src_w * ratio)), max(height, round(src_h * ratio))
    resized = bgr if (new_w, new_h) == (src_w, src_h) else \
        cv2.resize(bgr, (new_w, new_h), interpolation=flag)
    x0, y0 = (new_w - width) // 2, (new_h - height) // 2
    return resized[y0:y0 + height, x0:x0 + width], x0, y0, (new_w, new_h) != (src_w, src_h)


def frames(hw):
    bgr = natural_image(*hw, seed=hw[0] + hw[1])
    yield from yuv_sources(bgr)
    nv12 = bgr_to_nv12_in(bgr, 'full')
    frame = Nv12Frame(nv12, hw[1], hw[0], 'full')
    yield 'nv12_full', frame, frame.to_bgr()


# (frame h, w), (input w, h): no resize with odd and even offsets (x0 = 51, 50; y0 = 1, 2, 3),
# and the usual classifier resizes (4:3, 16:9, portrait) of odd and even offsets
CASES = [((480, 640), (538, 480)), ((480, 640), (540, 480)), ((482, 640), (640, 480)),
         ((484, 640), (640, 480)), ((486, 640), (640, 480)), ((480, 640), (224, 224)),
         ((720, 1280), (224, 224)), ((1080, 1920), (224, 224)), ((1280, 720), (224, 224)),
         ((480, 640), (320, 256)), ((240, 320), (400, 400)), ((100, 640), (225, 129))]


@pytest.mark.parametrize('interpolation', sorted(FLAGS))
@pytest.mark.parametrize('hw, size', CASES, ids=[f'{c[0][1]}x{c[0][0]}_to_{c[1][0]}x{c[1][1]}'
                                                 for c in CASES])
def test_the_crop_of_a_yuv_frame_is_that_of_the_whole_frame_converted(hw, size, interpolation):
    flag = FLAGS[interpolation]
    width, height = size
    for encoding, frame, full_bgr in frames(hw):
        expected, x0, y0, resized = reference_crop(full_bgr, width, height, flag)
        src_w, src_h = hw[1], hw[0]
        ratio = max(width / src_w, height / src_h)
        new_size = (max(width, round(src_w * ratio)), max(height, round(src_h * ratio)))
        got = center_crop_frame(frame, new_size, (x0, y0, width, height), flag)
        where = f'{encoding} {hw} -> {size} {interpolation} at ({x0}, {y0})'
        assert got.flags['C_CONTIGUOUS'], where
        np.testing.assert_array_equal(got, expected, err_msg=where)


def test_the_cases_cover_odd_and_even_offsets_with_and_without_a_resize():
    seen = set()
    for hw, (width, height) in CASES:
        _, x0, y0, resized = reference_crop(np.zeros(hw + (3,), np.uint8), width, height,
                                            cv2.INTER_LINEAR)
        seen.add(('x', x0 % 2, resized))
        seen.add(('y', y0 % 2, resized))
    assert seen >= {(axis, odd, resized) for axis in 'xy' for odd in (0, 1)
                    for resized in (False, True)}, seen


@pytest.mark.parametrize('fields', [{'dtype': 'uint8', 'layout': 'nhwc'}, {},
                                    {'dtype': 'uint8', 'color': 'nv12'}],
                         ids=['rknn_u8', 'ort_f32', 'rdk_nv12'])
@pytest.mark.parametrize('hw', [(480, 640), (720, 1280), (1080, 1920)],
                         ids=lambda hw: f'{hw[1]}x{hw[0]}')
def test_preprocess_center_crop_of_yuv_frames_gives_the_bgr_frames_tensor(hw, fields):
    spec = InputSpec(height=224, width=224, resize='center_crop', **fields)
    for encoding, frame, full_bgr in frames(hw):
        if encoding == 'nv12_full' and spec.color == 'nv12':
            spec_range = InputSpec(height=224, width=224, resize='center_crop',
                                   yuv_range='full', **fields)
            tensor, box = preprocess(frame, spec_range)
            expected, expected_box = preprocess(full_bgr, spec_range)
        else:
            tensor, box = preprocess(frame, spec)
            expected, expected_box = preprocess(full_bgr, spec)
        np.testing.assert_array_equal(tensor, expected, err_msg=f'{encoding} {hw} {fields}')
        assert box == expected_box


def test_without_a_resize_only_the_window_is_converted(monkeypatch):
    """1280x720 -> 720x720 / 717x720: the window's columns (widened to even), never the frame."""
    from edge_perception import yuv_crop
    regions, whole = [], []
    convert_region = yuv_crop.convert_region

    def spy_region(frame, *box):
        regions.append(box)
        return convert_region(frame, *box)

    def spy(original):
        def call(frame, *args, **kwargs):
            whole.append((frame.width, frame.height))
            return original(frame, *args, **kwargs)
        return call

    monkeypatch.setattr(yuv_crop, 'convert_region', spy_region)
    for kind in (Nv12Frame, Yuv422Frame):
        monkeypatch.setattr(kind, 'to_bgr', spy(kind.to_bgr))
        monkeypatch.setattr(kind, 'convert', spy(kind.convert))
    for width, region in ((720, (280, 0, 720, 720)), (717, (280, 0, 718, 720))):
        spec = InputSpec(height=720, width=width, dtype='uint8', layout='nhwc',
                         resize='center_crop')
        for encoding, frame, full_bgr in frames((720, 1280)):
            regions.clear()
            whole.clear()
            tensor = preprocess(frame, spec)[0]
            assert regions == [region], (encoding, regions)
            assert (1280, 720) not in whole, (encoding, whole)
            np.testing.assert_array_equal(tensor, preprocess(full_bgr, spec)[0])
