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
"""Pre-processing: letterbox geometry and its exact inverse, tensors per input spec."""

from edge_perception.preprocess import as_bgr, InputSpec, letterbox, preprocess, to_tensor
import numpy as np
import pytest


@pytest.mark.parametrize('src_hw', [(480, 640), (640, 480), (720, 1280), (333, 517), (640, 640),
                                    (100, 2000)])
@pytest.mark.parametrize('keep_ratio', [True, False])
def test_letterbox_points_round_trip(src_hw, keep_ratio):
    image = np.zeros(src_hw + (3,), np.uint8)
    boxed, info = letterbox(image, 640, 384, keep_ratio=keep_ratio)
    assert boxed.shape == (384, 640, 3)
    pts = np.array([[0, 0], [src_hw[1], src_hw[0]], [src_hw[1] / 3, src_hw[0] / 7]], np.float32)
    back = info.points_to_source(info.points_to_input(pts))
    np.testing.assert_allclose(back, pts, atol=1e-3)
    # the image corners land on the edges of the resized content
    corners = info.points_to_input(pts[:2])
    assert corners[0, 0] == pytest.approx(info.pad_x)
    assert corners[0, 1] == pytest.approx(info.pad_y)
    assert corners[1, 0] <= 640 + 1e-3 and corners[1, 1] <= 384 + 1e-3


def test_letterbox_content_is_centred_and_padded_with_the_pad_value():
    image = np.full((100, 200, 3), 7, np.uint8)
    boxed, info = letterbox(image, 640, 640, pad_value=114)
    assert (info.pad_x, info.pad_y) == (0, 160)
    assert info.scale_x == pytest.approx(3.2) and info.scale_y == pytest.approx(3.2)
    assert (boxed[:160] == 114).all() and (boxed[480:] == 114).all()
    assert (boxed[160:480] == 7).all()


def test_a_pixel_feature_maps_back_to_where_it_was():
    """A bright square in the source is found at the mapped position in the network input."""
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:240, 300:340] = 255
    boxed, info = letterbox(image, 320, 320)
    ys, xs = np.nonzero(boxed[..., 0] > 127)
    found = np.array([[xs.min(), ys.min()], [xs.max() + 1, ys.max() + 1]], np.float32)
    box = info.boxes_to_source(found.reshape(1, 4))[0]
    np.testing.assert_allclose(box, [300, 200, 340, 240], atol=2.0)


def test_boxes_to_source_clips_to_the_image():
    _, info = letterbox(np.zeros((100, 200, 3), np.uint8), 640, 640)
    box = info.boxes_to_source(np.array([[-50, 0, 700, 700]], np.float32))[0]
    assert box.tolist() == [0, 0, 200, 100]


def test_float_nchw_rgb_normalised():
    spec = InputSpec(height=4, width=4, color='rgb', mean=(0, 0, 0), std=(255, 255, 255))
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 255            # blue in BGR
    tensor, _ = preprocess(image, spec)
    assert tensor.shape == (1, 3, 4, 4) and tensor.dtype == np.float32
    assert tensor[0, 2].max() == pytest.approx(1.0) and tensor[0, 0].max() == 0.0  # B is last


def test_per_channel_mean_std_nhwc_float16():
    spec = InputSpec(height=2, width=2, layout='nhwc', dtype='float16', color='bgr',
                     mean=(10, 20, 30), std=(2, 4, 5))
    image = np.full((2, 2, 3), 50, np.uint8)
    tensor = to_tensor(image, spec)
    assert tensor.shape == (1, 2, 2, 3) and tensor.dtype == np.float16
    np.testing.assert_allclose(tensor[0, 0, 0], [20, 7.5, 4], rtol=1e-3)


def test_uint8_input_is_raw_pixels_in_the_wanted_layout():
    spec = InputSpec(height=8, width=8, layout='nhwc', dtype='uint8', color='rgb')
    image = np.random.default_rng(0).integers(0, 255, (8, 8, 3), dtype=np.uint8)
    tensor, _ = preprocess(image, spec)
    assert tensor.dtype == np.uint8 and tensor.shape == (1, 8, 8, 3)
    np.testing.assert_array_equal(tensor[0], image[..., ::-1])
    nchw = to_tensor(image, InputSpec(height=8, width=8, dtype='uint8'))
    assert nchw.shape == (1, 3, 8, 8) and nchw.flags['C_CONTIGUOUS']


def test_gray_and_bgra_images_are_accepted():
    assert as_bgr(np.zeros((5, 6), np.uint8)).shape == (5, 6, 3)
    assert as_bgr(np.zeros((5, 6, 4), np.uint8)).shape == (5, 6, 3)


@pytest.mark.parametrize('bad', [np.zeros((5, 6, 2), np.uint8), np.zeros((5, 6, 3), np.float32),
                                 'not an image'])
def test_bad_images_are_rejected_with_the_reason(bad):
    with pytest.raises(ValueError, match='image'):
        as_bgr(bad)


@pytest.mark.parametrize('field,value', [('layout', 'nchw4'), ('dtype', 'int4'), ('color', 'hsv'),
                                         ('resize', 'crop'), ('pad_value', 300), ('height', 0)])
def test_invalid_input_spec_is_rejected(field, value):
    with pytest.raises(ValueError, match=field.split('_')[0] if field != 'height' else 'size'):
        InputSpec(**{field: value})
