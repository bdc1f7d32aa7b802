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
Full-range NV12 camera frames: decoded in the range the model decodes, not as video range.

Outside oracles: the JPEG/JFIF full-range BT.601 inverse written out here (R = Y + 1.402
(V - 128), G = Y - 0.344136 (U - 128) - 0.714136 (V - 128), B = Y + 1.772 (U - 128), the inverse
of the D-Robotics toolchain's ``rgb2bt601_full_range``), with each 2x2 block's chroma repeated
(the toolchain's NV12ToYUV444 does that, PIL ``resample=0``); and real pictures (scikit-image's
samples) converted straight to NV12.
"""

import cv2
from edge_perception.preprocess import InputSpec, letterbox, Nv12Frame, preprocess
from edge_perception.samples import sample_images
from edge_perception.yuv_range import bgr_to_nv12_in
import numpy as np
import pytest

from .test_nv12 import natural_image, vendor_bgr2nv12


def jpeg_full_range_to_bgr(nv12: np.ndarray, width: int, height: int) -> np.ndarray:
    """Decode full-range NV12 with JFIF's formula in float64, rounded and clipped (the oracle)."""
    flat = nv12.reshape(-1).astype(np.float64)
    y = flat[:width * height].reshape(height, width)
    uv = flat[width * height:].reshape(height // 2, width // 2, 2)
    u = np.repeat(np.repeat(uv[..., 0], 2, axis=0), 2, axis=1) - 128
    v = np.repeat(np.repeat(uv[..., 1], 2, axis=0), 2, axis=1) - 128
    bgr = np.stack([y + 1.772 * u, y - 0.344136 * u - 0.714136 * v, y + 1.402 * v], axis=2)
    return np.clip(np.round(bgr), 0, 255).astype(np.uint8)


def full_spec(**fields) -> InputSpec:
    return InputSpec(**{'height': 640, 'width': 640, 'dtype': 'uint8', 'color': 'nv12',
                        'yuv_range': 'full', **fields})


def test_full_range_nv12_decodes_with_the_jpeg_formula_on_every_byte_value():
    """
    Within 1 level of the formula: OpenCV's 8-bit YCrCb2BGR uses 14-bit fixed-point weights.

    Random bytes cover every Y, U, V value (and out-of-gamut triples, clipped on both sides).
    """
    height, width = 256, 512
    data = np.random.default_rng(7).integers(0, 256, width * height * 3 // 2, dtype=np.uint8)
    frame = Nv12Frame(data, width, height, 'full')
    truth = jpeg_full_range_to_bgr(data, width, height)
    for got in (frame.to_bgr(), frame.convert(rgb=True)[..., ::-1],
                frame.convert_rows(np.arange(height), rgb=False)):
        assert np.abs(got.astype(int) - truth).max() <= 1
        assert np.mean(got != truth) < 0.05
    rows = np.arange(1, height, 3)
    np.testing.assert_array_equal(frame.convert_rows(rows, rgb=False), frame.to_bgr()[rows])
    dst = np.empty((height, width, 3), np.uint8)
    assert frame.convert(rgb=False, dst=dst) is dst
    np.testing.assert_array_equal(dst, frame.to_bgr())
    # unstated or video: OpenCV's own (video-range) NV12 conversion, as before
    opencv = cv2.cvtColor(data.reshape(-1, width), cv2.COLOR_YUV2BGR_NV12)
    for stated in (None, 'video'):
        np.testing.assert_array_equal(Nv12Frame(data, width, height, stated).to_bgr(), opencv)
    with pytest.raises(ValueError, match="yuv_range 'studio'"):
        Nv12Frame(data, width, height, 'studio')


@pytest.mark.parametrize('hw', [(480, 640), (720, 1280), (1080, 1920), (518, 334)],
                         ids=lambda hw: f'{hw[1]}x{hw[0]}')
@pytest.mark.parametrize('fields', [{}, {'pad_value': 127}, {'resize': 'stretch'},
                                    {'color': 'rgb', 'layout': 'nhwc'}, {'color': 'bgr',
                                                                         'layout': 'nhwc'}],
                         ids=['nv12', 'nv12_pad127', 'nv12_stretch', 'rknn_rgb', 'bgr'])
def test_every_fused_path_equals_decoding_the_whole_full_range_frame_first(hw, fields):
    """The row shortcut (1080p), into the tensor (640x480) and whole-frame paths, bit for bit."""
    bgr = natural_image(*hw, seed=hw[1])
    frame = Nv12Frame(bgr_to_nv12_in(bgr, 'full'), hw[1], hw[0], 'full')
    spec = full_spec(**fields)
    tensor, box = preprocess(frame, spec)
    expected, expected_box = preprocess(frame.to_bgr(), spec)
    np.testing.assert_array_equal(tensor, expected)
    assert box == expected_box


def _pictures():
    return [(name, picture) for name, picture in sample_images()
            if name in ('astronaut', 'rocket', 'camera')]


@pytest.mark.parametrize('size', [(640, 480), (1280, 720), (1920, 1080)],
                         ids=lambda s: f'{s[0]}x{s[1]}')
def test_a_full_range_camera_frame_of_another_size_gives_the_pictures_own_nv12(size):
    """
    A real picture as a full-range NV12 frame, through preprocess: its letterbox converted.

    Tolerance, and why: the frame carries chroma at half resolution (4:2:0), so the picture's
    own conversion (chroma averaged over the resized picture's 2x2 blocks) and the frame's
    (its already averaged chroma, decoded, resized, averaged again) differ at colour edges;
    Y differs by rounding only, except where decoding the subsampled chroma gives a colour
    outside 0..255 that is clipped (a few saturated edge pixels, up to ~10 levels). Measured
    over these pictures: Y mean |diff| <= 0.08, 99.9th percentile <= 1; U/V mean <= 0.19, 99th
    percentile <= 3. Decoding the frame as video range instead (the old path) puts Y off by
    4-8 on average (up to 20: contrast expanded by 255/219).
    """
    spec = full_spec()
    area = spec.width * spec.height
    for name, picture in _pictures():
        bgr = cv2.resize(picture, size, interpolation=cv2.INTER_AREA)
        frame = Nv12Frame(bgr_to_nv12_in(bgr, 'full'), *size)        # unstated: the model's
        tensor, _ = preprocess(frame, spec)
        boxed, _ = letterbox(bgr, spec.width, spec.height, spec.pad_value)
        direct = bgr_to_nv12_in(boxed, 'full').astype(int)
        diff = np.abs(tensor.astype(int) - direct)
        where = f'{name} {size}'
        assert diff[:area].mean() <= 0.15 and np.percentile(diff[:area], 99.9) <= 1, where
        assert diff[area:].mean() <= 0.3 and np.percentile(diff[area:], 99) <= 3, where
        # the same frame decoded as video range misses by far (the old behaviour)
        old, _ = preprocess(Nv12Frame(frame.data, *size, 'video'), spec)
        assert np.abs(old[:area].astype(int) - direct[:area]).mean() > 3, where


def test_the_video_range_path_stays_as_it_was():
    """Video-range model: the vendor's way via OpenCV's BGR, bit for bit; a stated range wins."""
    bgr = natural_image(720, 1280, seed=3)
    frame = Nv12Frame(vendor_bgr2nv12(bgr), 1280, 720)
    video = InputSpec(height=640, width=640, dtype='uint8', color='nv12', pad_value=127)
    boxed, _ = letterbox(frame.to_bgr(), 640, 640, 127)
    np.testing.assert_array_equal(preprocess(frame, video)[0], vendor_bgr2nv12(boxed))
    # a frame that says it is video range, for a full-range model: decoded as video
    stated = Nv12Frame(frame.data, 1280, 720, 'video')
    boxed, _ = letterbox(cv2.cvtColor(frame.image, cv2.COLOR_YUV2BGR_NV12), 640, 640, 114)
    np.testing.assert_array_equal(preprocess(stated, full_spec())[0],
                                  bgr_to_nv12_in(boxed, 'full'))


def test_a_frame_of_the_input_size_passes_through_unless_it_states_another_range():
    bgr = natural_image(640, 640, seed=1)
    data = bgr_to_nv12_in(bgr, 'full')
    for stated in (None, 'full'):
        tensor, _ = preprocess(Nv12Frame(data, 640, 640, stated), full_spec())
        assert np.shares_memory(tensor, data)
    tensor, _ = preprocess(Nv12Frame(data, 640, 640, 'video'), full_spec())
    assert not np.shares_memory(tensor, data)
    decoded = cv2.cvtColor(data.reshape(960, 640), cv2.COLOR_YUV2BGR_NV12)
    np.testing.assert_array_equal(tensor, bgr_to_nv12_in(decoded, 'full'))
