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

import cv2
from edge_perception import load_model
from edge_perception.errors import ModelLoadError
from edge_perception.preprocess import (as_bgr, bgr_to_nv12, center_crop, InputSpec, letterbox,
                                        preprocess, to_tensor)
from edge_perception.spec import load_card
import numpy as np
import pytest

from .models import write_dense_model


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


# --- the ultralytics letterbox (geometry, interpolation) and the card's ``interpolation`` ---

# source (height, width) -> a 640x384 input: shrink, enlarge, portrait, landscape, odd sizes,
# one side exactly fitting, a thin strip
SIZES = [(1080, 810), (540, 960), (101, 77), (333, 517), (384, 640), (1000, 3), (413, 2001)]
CV2_FLAGS = {'linear': cv2.INTER_LINEAR, 'area': cv2.INTER_AREA, 'nearest': cv2.INTER_NEAREST}


def smooth_picture(height, width, seed=0):
    """Return a BGR picture with detail at every scale (noise blurred at several sizes)."""
    rng = np.random.default_rng(seed)
    image = np.zeros((height, width, 3), np.float32)
    for cells in (4, 16, 64):
        noise = rng.random((cells, cells, 3), dtype=np.float32)
        image += cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC) * 80
    return np.clip(image, 0, 255).astype(np.uint8)


def ultralytics_letterbox(image, height, width, flag=cv2.INTER_LINEAR, pad=114):
    """
    Letterbox ``image`` as ultralytics' LetterBox(auto=False) does, written out here.

    Transcribed from ultralytics/data/augment.py (8.4): r = min ratio, unpadded size
    round(side * r) at least 1, padding d/2 split as round(d/2 - 0.1) | round(d/2 + 0.1).
    """
    h, w = image.shape[:2]
    r = min(height / h, width / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (width - new_w) / 2, (height - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    if (new_w, new_h) != (w, h):
        image = cv2.resize(image, (new_w, new_h), interpolation=flag)
    boxed = cv2.copyMakeBorder(image, top, bottom, left, right, cv2.BORDER_CONSTANT,
                               value=(pad,) * 3)
    return boxed, (left, top, new_w, new_h)


@pytest.mark.parametrize('src_hw', SIZES)
def test_default_letterbox_is_ultralytics_pixel_for_pixel(src_hw):
    image = smooth_picture(*src_hw)
    expected, (left, top, new_w, new_h) = ultralytics_letterbox(image, 384, 640)
    boxed, info = letterbox(image, 640, 384)
    assert boxed.shape == expected.shape == (384, 640, 3)
    assert np.array_equal(boxed, expected), f'{np.count_nonzero(boxed != expected)} values differ'
    assert (info.pad_x, info.pad_y) == (left, top)
    assert (info.scale_x, info.scale_y) == (new_w / src_hw[1], new_h / src_hw[0])


def test_shrinking_is_linear_not_area():
    """The case that made load_model disagree with ultralytics: a 960x540 frame shrunk."""
    image = smooth_picture(540, 960)
    linear, _ = ultralytics_letterbox(image, 640, 640, cv2.INTER_LINEAR)
    area, _ = ultralytics_letterbox(image, 640, 640, cv2.INTER_AREA)
    assert np.count_nonzero(linear != area) > 1000        # the two really differ here
    assert np.array_equal(letterbox(image, 640, 640)[0], linear)
    assert np.array_equal(letterbox(image, 640, 640, interpolation='area')[0], area)


@pytest.mark.parametrize('interpolation', sorted(CV2_FLAGS))
@pytest.mark.parametrize('path', ['float_nchw_rgb', 'uint8_nhwc_rgb', 'nv12', 'stretch'])
def test_every_tensor_path_resizes_with_the_specs_interpolation(path, interpolation):
    """ONNX float NCHW, RKNN uint8 NHWC, RDK NV12 and stretched inputs: the spec's resize."""
    image = smooth_picture(540, 960, seed=3)
    flag = CV2_FLAGS[interpolation]
    if path == 'stretch':
        boxed = cv2.resize(image, (320, 320), interpolation=flag)
    else:
        boxed, _ = ultralytics_letterbox(image, 320, 320, flag)
    fields = {'float_nchw_rgb': {},
              'uint8_nhwc_rgb': {'dtype': 'uint8', 'layout': 'nhwc'},
              'nv12': {'dtype': 'uint8', 'color': 'nv12'},
              'stretch': {'dtype': 'uint8', 'layout': 'nhwc', 'resize': 'stretch'}}[path]
    spec = InputSpec(height=320, width=320, interpolation=interpolation, **fields)
    tensor, _ = preprocess(image, spec)
    rgb = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
    if path == 'float_nchw_rgb':
        np.testing.assert_allclose(tensor[0], rgb.transpose(2, 0, 1) / 255.0, atol=1e-6)
    elif path == 'nv12':
        np.testing.assert_array_equal(tensor, bgr_to_nv12(boxed))
    else:
        np.testing.assert_array_equal(tensor[0], rgb)


@pytest.mark.parametrize('interpolation', sorted(CV2_FLAGS))
def test_center_crop_resizes_with_the_given_interpolation(interpolation):
    image = smooth_picture(300, 451)
    # shorter side to 224: 451 * 224 / 300 = 336.75 -> 337 wide, 56 cut off on the left
    cover = cv2.resize(image, (337, 224), interpolation=CV2_FLAGS[interpolation])
    cropped, info = center_crop(image, 224, 224, interpolation)
    np.testing.assert_array_equal(cropped, cover[:, 56:280])
    assert (info.pad_x, info.pad_y) == (-56, 0)
    spec = InputSpec(224, 224, dtype='uint8', layout='nhwc', color='bgr', resize='center_crop',
                     interpolation=interpolation)
    np.testing.assert_array_equal(preprocess(image, spec)[0][0], cropped)


def test_interpolation_defaults_to_linear():
    assert InputSpec().interpolation == 'linear'
    image = smooth_picture(540, 960)
    np.testing.assert_array_equal(letterbox(image, 640, 640)[0],
                                  letterbox(image, 640, 640, interpolation='linear')[0])
    assert center_crop(image, 224, 224)[0].tobytes() == \
        center_crop(image, 224, 224, 'linear')[0].tobytes()


@pytest.mark.parametrize('bad', ['cubic', 'INTER_AREA', '', 'bilinear'])
def test_unknown_interpolation_is_rejected_with_the_choices(bad):
    with pytest.raises(ValueError, match=r"interpolation .* not one of \('linear', 'area', "
                                         r"'nearest'\)"):
        InputSpec(interpolation=bad)
    with pytest.raises(ValueError, match='interpolation'):
        letterbox(np.zeros((4, 4, 3), np.uint8), 8, 8, interpolation=bad)


def _card(tmp_path, input_text):
    write_dense_model(str(tmp_path / 'm.onnx'), num_classes=1)
    path = tmp_path / 'card.yaml'
    path.write_text(f'model: m.onnx\nclasses: [box]\n{input_text}')
    return str(path)


@pytest.mark.parametrize('written, expected', [('area', 'area'), ('Nearest', 'nearest'),
                                               ('linear', 'linear')])
def test_card_interpolation_reaches_the_models_preprocessing(tmp_path, written, expected):
    card = _card(tmp_path, f'input: {{interpolation: {written}, pad_value: 127}}\n')
    assert load_card(card).input['interpolation'] == expected
    with load_model(card, backend='onnxruntime') as model:
        assert model.input_spec.interpolation == expected
        assert model.input_spec.pad_value == 127
        image = smooth_picture(540, 960, seed=5)
        boxed, _ = ultralytics_letterbox(image, 320, 320, CV2_FLAGS[expected], pad=127)
        tensor, _ = preprocess(image, model.input_spec)
        rgb = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB).transpose(2, 0, 1)
        np.testing.assert_allclose(tensor[0], rgb / 255.0, atol=1e-6)


def test_card_without_interpolation_uses_linear(tmp_path):
    card = _card(tmp_path, 'input: {pad_value: 114}\n')
    assert 'interpolation' not in load_card(card).input
    with load_model(card, backend='onnxruntime') as model:
        assert model.input_spec.interpolation == 'linear'


@pytest.mark.parametrize('value', ['cubic', 3, 'area linear'])
def test_card_with_a_bad_interpolation_is_rejected_with_the_reason(tmp_path, value):
    card = _card(tmp_path, f'input: {{interpolation: {value}}}\n')
    with pytest.raises(ModelLoadError, match=r'card\.yaml: input interpolation .* is not one of '
                                             r"\('linear', 'area', 'nearest'\)"):
        load_card(card)
