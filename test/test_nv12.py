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
"""NV12 input: the vendor's BGR -> NV12 conversion, NV12 frames, zero-copy pass-through."""

import cv2
from edge_perception.preprocess import (bgr_to_nv12, InputSpec, letterbox, Nv12Frame,
                                        preprocess, Yuv422Frame)
import numpy as np
import pytest


def vendor_bgr2nv12(bgr: np.ndarray) -> np.ndarray:
    """Convert as the D-Robotics demos do, written out step by step (the reference)."""
    height, width = bgr.shape[:2]
    area = height * width
    yuv420p = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420).reshape((area * 3 // 2,))
    y = yuv420p[:area]
    uv_planar = yuv420p[area:].reshape((2, area // 4))
    uv_packed = uv_planar.transpose((1, 0)).reshape((area // 2,))
    nv12 = np.zeros_like(yuv420p)
    nv12[:area] = y
    nv12[area:] = uv_packed
    return nv12


def natural_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour gradients plus blurred noise: chroma varies slowly, as in camera frames."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack([xx / width * 200 + 20, yy / height * 180 + 40,
                     (xx + yy) / (width + height) * 160 + 50], axis=2)
    noise = cv2.GaussianBlur(rng.normal(0, 25, (height, width, 3)).astype(np.float32), (0, 0), 3)
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def nv12_spec(height=320, width=320, **kw) -> InputSpec:
    return InputSpec(height=height, width=width, dtype='uint8', color='nv12', **kw)


@pytest.mark.parametrize('hw', [(320, 320), (480, 640), (2, 2), (64, 130)])
def test_bgr_to_nv12_equals_the_vendor_formula(hw):
    image = natural_image(*hw)
    out = bgr_to_nv12(image)
    assert out.dtype == np.uint8 and out.shape == (hw[0] * hw[1] * 3 // 2,)
    np.testing.assert_array_equal(out, vendor_bgr2nv12(image))


def test_u_comes_before_v():
    blue = np.zeros((4, 4, 3), np.uint8)
    blue[..., 0] = 255            # BGR blue: U (Cb) high, V (Cr) low
    uv = bgr_to_nv12(blue)[16:]
    assert (uv[0::2] > 200).all() and (uv[1::2] < 128).all()


@pytest.mark.parametrize('hw', [(240, 320), (480, 640)])
def test_nv12_bgr_nv12_round_trip_within_two_levels(hw):
    nv12 = bgr_to_nv12(natural_image(*hw, seed=1))
    again = bgr_to_nv12(Nv12Frame(nv12, hw[1], hw[0]).to_bgr())
    diff = np.abs(again.astype(int) - nv12.astype(int))
    assert diff.max() <= 2, diff.max()


def test_nv12_frame_of_the_input_size_passes_through_without_a_copy():
    nv12 = bgr_to_nv12(natural_image(320, 320))
    for data in (nv12, nv12.reshape(480, 320)):          # flat, or (H*3/2, W) as ROS holds it
        tensor, box = preprocess(Nv12Frame(data, 320, 320), nv12_spec())
        assert np.shares_memory(tensor, data) and tensor.shape == (320 * 320 * 3 // 2,)
        np.testing.assert_array_equal(tensor, nv12)
        assert (box.scale_x, box.scale_y, box.pad_x, box.pad_y) == (1.0, 1.0, 0, 0)
        assert (box.src_width, box.src_height) == (320, 320)


def test_nv12_frame_of_another_size_is_converted_and_maps_back():
    image = np.full((480, 640, 3), 30, np.uint8)
    image[200:240, 300:340] = 255
    frame = Nv12Frame(bgr_to_nv12(image), 640, 480)
    tensor, box = preprocess(frame, nv12_spec(pad_value=127))
    assert tensor.shape == (320 * 320 * 3 // 2,) and not np.shares_memory(tensor, frame.data)
    y = tensor[:320 * 320].reshape(320, 320)
    assert abs(int(y[0, 0]) - 125) <= 1           # the 127 grey pad, in BT.601 limited range
    ys, xs = np.nonzero(y > 180)
    found = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float32)
    np.testing.assert_allclose(box.boxes_to_source(found)[0], [300, 200, 340, 240], atol=2.0)


def test_nv12_frame_to_a_bgr_model_goes_the_normal_way():
    image = natural_image(240, 320)
    frame = Nv12Frame(bgr_to_nv12(image), 320, 240)
    spec = InputSpec(height=240, width=320, dtype='uint8', layout='nhwc', color='bgr')
    tensor, _ = preprocess(frame, spec)
    expected, _ = preprocess(frame.to_bgr(), spec)
    np.testing.assert_array_equal(tensor, expected)


def test_a_bgr_image_for_an_nv12_model_is_letterboxed_then_converted():
    image = natural_image(480, 640)
    spec = nv12_spec(pad_value=127)
    tensor, box = preprocess(image, spec)
    boxed, expected_box = letterbox(image, 320, 320, 127)
    np.testing.assert_array_equal(tensor, vendor_bgr2nv12(boxed))
    assert box == expected_box
    assert spec.shape == tensor.shape


@pytest.mark.parametrize('width, height', [(641, 480), (640, 481), (3, 3)])
def test_odd_sizes_are_rejected_with_the_reason(width, height):
    with pytest.raises(ValueError, match='even width and height'):
        Nv12Frame(np.zeros(width * height * 3 // 2, np.uint8), width, height)
    with pytest.raises(ValueError, match='even width and height'):
        nv12_spec(height=height, width=width)
    with pytest.raises(ValueError, match='even width and height'):
        bgr_to_nv12(np.zeros((height, width, 3), np.uint8))


def test_bad_nv12_frames_and_specs_are_rejected():
    with pytest.raises(ValueError, match='needs 115200 bytes, got 115199'):
        Nv12Frame(np.zeros(115199, np.uint8), 320, 240)
    with pytest.raises(ValueError, match='uint8'):
        Nv12Frame(np.zeros(115200, np.float32), 320, 240)
    with pytest.raises(ValueError, match='nv12 needs dtype uint8'):
        InputSpec(color='nv12', dtype='float32')


def test_bad_yuv422_frames_are_rejected_with_the_reason():
    with pytest.raises(ValueError, match='positive, even width'):
        Yuv422Frame(np.zeros((4, 3, 2), np.uint8), 3, 4)
    with pytest.raises(ValueError, match=r'shape \(4, 6, 2\), got \(4, 6, 3\)'):
        Yuv422Frame(np.zeros((4, 6, 3), np.uint8), 6, 4)
    with pytest.raises(ValueError, match='uint8'):
        Yuv422Frame(np.zeros((4, 6, 2), np.float32), 6, 4)
    with pytest.raises(ValueError, match="order 'yvyu' is not one of"):
        Yuv422Frame(np.zeros((4, 6, 2), np.uint8), 6, 4, 'yvyu')


def test_nv12_frame_letterboxed_for_an_nv12_model_equals_the_vendor_way_via_bgr():
    """An nv12 camera frame of another size: as if converted to BGR first (the reference)."""
    image = natural_image(1080, 1920)
    frame = Nv12Frame(bgr_to_nv12(image), 1920, 1080)
    tensor, box = preprocess(frame, nv12_spec(640, 640, pad_value=127))
    boxed, expected_box = letterbox(frame.to_bgr(), 640, 640, 127)
    np.testing.assert_array_equal(tensor, vendor_bgr2nv12(boxed))
    assert box == expected_box
