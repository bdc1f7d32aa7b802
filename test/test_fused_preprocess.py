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
The one-resize pre-processing against the reference path, for every source and backend input.

Reference (written out here, independent of the code under test): OpenCV converts the whole
frame to BGR, ultralytics' letterbox (``test_preprocess.ultralytics_letterbox``, transcribed
from ultralytics), then the backend's tensor: RGB uint8 NHWC (RKNN), the vendor's BGR -> I420
-> NV12 (RDK), ``cv2.dnn.blobFromImage`` of the RGB image (what ONNX Runtime models got
before) and (x - mean) / std. The fused path must give the same bytes; floats exactly
blobFromImage's and within 1e-6 of the formula.
"""

import cv2
from edge_perception import load_model
from edge_perception.fused_preprocess import point_sampled, rows_read_by_resize
from edge_perception.preprocess import InputSpec, Nv12Frame, preprocess, Yuv422Frame, YuvFrame
from edge_perception.yuv_frames import samples_in_pairs
import numpy as np
import pytest

from .test_nv12 import natural_image, vendor_bgr2nv12
from .test_preprocess import smooth_picture, ultralytics_letterbox
from .test_real_models import FALL_CARD

FLAGS = {'linear': cv2.INTER_LINEAR, 'area': cv2.INTER_AREA, 'nearest': cv2.INTER_NEAREST}

# backend inputs: RKNN, RDK, ONNX Runtime, and the other spec combinations the code handles
SPECS = {
    'rknn_u8_nhwc_rgb': {'dtype': 'uint8', 'layout': 'nhwc'},
    'rdk_nv12': {'dtype': 'uint8', 'color': 'nv12', 'pad_value': 127},
    'ort_f32_nchw_rgb': {},
    'u8_nchw_bgr': {'dtype': 'uint8', 'color': 'bgr'},
    'f16_nchw_rgb': {'dtype': 'float16'},
    'f32_nhwc_bgr_mean_std': {'layout': 'nhwc', 'color': 'bgr', 'mean': (103.5, 116.3, 123.7),
                              'std': (57.4, 57.1, 58.4)},
    'f32_nchw_rgb_mean_std': {'mean': (123.7, 116.3, 103.5), 'std': (58.4, 57.1, 57.4)},
    'stretch_u8_nhwc_rgb': {'dtype': 'uint8', 'layout': 'nhwc', 'resize': 'stretch'},
}


def yuv_sources(bgr):
    """Yield (encoding, frame, the whole frame as OpenCV converts it to BGR)."""
    height, width = bgr.shape[:2]
    nv12 = vendor_bgr2nv12(bgr).reshape(height * 3 // 2, width)
    y, uv = nv12[:height], nv12[height:]
    yuyv = np.stack([y, np.repeat(uv, 2, axis=0)], axis=2)
    uyvy = np.ascontiguousarray(yuyv[..., ::-1])
    yield 'nv12', Nv12Frame(nv12, width, height), cv2.cvtColor(nv12, cv2.COLOR_YUV2BGR_NV12)
    yield 'yuyv', Yuv422Frame(yuyv, width, height), cv2.cvtColor(yuyv, cv2.COLOR_YUV2BGR_YUYV)
    yield 'uyvy', Yuv422Frame(uyvy, width, height, 'uyvy'), \
        cv2.cvtColor(uyvy, cv2.COLOR_YUV2BGR_UYVY)


def reference(bgr, spec):
    """Return the input tensor by the reference path (see the module docstring)."""
    flag = FLAGS[spec.interpolation]
    if spec.resize == 'stretch':
        boxed = cv2.resize(bgr, (spec.width, spec.height), interpolation=flag)
    else:
        boxed, _ = ultralytics_letterbox(bgr, spec.height, spec.width, flag, spec.pad_value)
    if spec.color == 'nv12':
        return vendor_bgr2nv12(boxed)
    ordered = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB) if spec.color == 'rgb' else boxed
    if spec.dtype == 'uint8':
        return ordered[None] if spec.layout == 'nhwc' else ordered.transpose(2, 0, 1)[None]
    formula = (ordered.astype(np.float64) - spec.mean) / spec.std
    formula = formula.transpose(2, 0, 1)[None] if spec.layout == 'nchw' else formula[None]
    if len(set(spec.mean)) == 1 and len(set(spec.std)) == 1 and spec.layout == 'nchw':
        blob = cv2.dnn.blobFromImage(ordered, 1.0 / spec.std[0], mean=spec.mean, swapRB=False)
        return blob.astype(spec.dtype), formula
    return None, formula


def assert_same(tensor, bgr, spec, where):
    expected = reference(bgr, spec)
    assert tensor.flags['C_CONTIGUOUS'], where
    if spec.dtype == 'uint8':
        assert tensor.shape == expected.shape and tensor.dtype == np.uint8, where
        assert np.array_equal(tensor, expected), \
            f'{where}: {np.count_nonzero(tensor != expected)} values differ'
        return
    exact, formula = expected
    assert tensor.shape == formula.shape and tensor.dtype == spec.dtype, where
    if exact is not None:
        assert np.array_equal(tensor, exact), \
            f'{where}: {np.count_nonzero(tensor != exact)} values differ from blobFromImage'
    tolerance = 1e-6 if spec.dtype == 'float32' else 2e-3 * np.abs(formula).max()
    np.testing.assert_allclose(tensor, formula, rtol=0, atol=tolerance, err_msg=where)


# (height, width) frames of robot cameras, portrait, and sizes that exercise each path for a
# 640x640 input: 640x480 (no resize), 1280x720 (2x), 1920x1080 (3x: rows only), odd factors
FRAME_SIZES = [(480, 640), (720, 1280), (1080, 1920), (1920, 1080), (540, 960), (518, 334)]


@pytest.mark.parametrize('spec_name', sorted(SPECS))
@pytest.mark.parametrize('hw', FRAME_SIZES, ids=lambda hw: f'{hw[1]}x{hw[0]}')
def test_yuv_frames_give_the_tensor_of_the_whole_frame_converted_first(hw, spec_name):
    bgr = natural_image(*hw, seed=hw[0])
    spec = InputSpec(height=640, width=640, **SPECS[spec_name])
    for encoding, frame, full_bgr in yuv_sources(bgr):
        tensor, box = preprocess(frame, spec)
        assert_same(tensor, full_bgr, spec, f'{encoding} {hw[1]}x{hw[0]} {spec_name}')
        assert box == preprocess(full_bgr, spec)[1]


@pytest.mark.parametrize('spec_name', sorted(SPECS))
@pytest.mark.parametrize('hw', FRAME_SIZES + [(517, 333), (3, 1000), (640, 640)],
                         ids=lambda hw: f'{hw[1]}x{hw[0]}')
def test_bgr_and_grey_frames_give_the_reference_tensor(hw, spec_name):
    bgr = smooth_picture(*hw, seed=hw[1])
    spec = InputSpec(height=640, width=384, **SPECS[spec_name])
    assert_same(preprocess(bgr, spec)[0], bgr, spec, f'bgr {hw} {spec_name}')
    grey = bgr[..., 1].copy()
    grey_bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    for image in (grey, grey[..., None]):
        assert_same(preprocess(image, spec)[0], grey_bgr, spec, f'grey {image.shape} {spec_name}')
    bgra = np.concatenate([bgr, np.full(hw + (1,), 9, np.uint8)], axis=2)
    assert_same(preprocess(bgra, spec)[0], bgr, spec, f'bgra {hw} {spec_name}')


@pytest.mark.parametrize('interpolation', sorted(FLAGS))
@pytest.mark.parametrize('hw', [(1080, 1920), (720, 1280), (481, 643)],
                         ids=lambda hw: f'{hw[1]}x{hw[0]}')
def test_every_interpolation_stays_exact(hw, interpolation):
    bgr = natural_image(hw[0] // 2 * 2, hw[1] // 2 * 2, seed=7)
    for spec_name in ('rknn_u8_nhwc_rgb', 'ort_f32_nchw_rgb', 'rdk_nv12'):
        spec = InputSpec(height=640, width=640, interpolation=interpolation, **SPECS[spec_name])
        assert_same(preprocess(bgr, spec)[0], bgr, spec, f'bgr {spec_name}')
        for encoding, frame, full_bgr in yuv_sources(bgr):
            assert_same(preprocess(frame, spec)[0], full_bgr, spec, f'{encoding} {spec_name}')


@pytest.mark.parametrize('hw', [(720, 1280), (480, 640)], ids=['resized', 'not_resized'])
def test_a_padded_bgr_view_of_a_message_is_read_as_it_is(hw):
    """ROS rows with padding: a strided view, not contiguous; the reference tensor."""
    height, width = hw
    padded = np.zeros((height, width * 3 + 16), np.uint8)
    view = np.ndarray((height, width, 3), np.uint8, buffer=padded,
                      strides=(width * 3 + 16, 3, 1))
    view[...] = smooth_picture(height, width)
    for spec_name, fields in SPECS.items():
        spec = InputSpec(**fields)
        assert_same(preprocess(view, spec)[0], view.copy(), spec, f'{hw} {spec_name}')


# --- the maths the YUV shortcuts rely on, held against OpenCV itself ---

@pytest.mark.parametrize('k', [3, 5])
def test_opencv_linear_shrink_by_an_odd_factor_reads_one_row_per_output_row(k):
    image = natural_image(120 * k, 90 * k, seed=k)
    shrunk = cv2.resize(image, (90, 120), interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(shrunk, image[(k - 1) // 2::k, (k - 1) // 2::k])
    rows = rows_read_by_resize(120 * k, 120, cv2.INTER_LINEAR)
    np.testing.assert_array_equal(rows, np.arange((k - 1) // 2, 120 * k, k))
    # the rows alone, resized only across, give the same image (any horizontal ratio)
    for width in (90, 77, 200):
        np.testing.assert_array_equal(cv2.resize(image[rows], (width, 120)),
                                      cv2.resize(image, (width, 120)))


@pytest.mark.parametrize('k', [3, 5])
def test_opencv_nearest_exact_picks_the_pixels_linear_reads_at_odd_factors(k):
    """The shortcut of ``point_sampled``: the same bytes as INTER_LINEAR, OpenCV's own."""
    rng = np.random.default_rng(k)
    for shape in ((120 * k, 90 * k, 3), (120 * k, 90 * k), (120 * k, 90 * k, 4), (120, 90 * k)):
        image = rng.integers(0, 256, shape, dtype=np.uint8)
        new_w, new_h = 90, min(120, shape[0])
        flag = point_sampled(shape[1], shape[0], new_w, new_h, cv2.INTER_LINEAR)
        assert flag == cv2.INTER_NEAREST_EXACT
        np.testing.assert_array_equal(cv2.resize(image, (new_w, new_h), interpolation=flag),
                                      cv2.resize(image, (new_w, new_h)), err_msg=str(shape))


@pytest.mark.parametrize('size', [(640, 360), (1280, 720), (640, 720), (90, 120), (480, 270)])
def test_no_point_sampling_where_linear_blends(size):
    """1920x1080 -> 640x360 picks pixels; 2x, mixed or fractional shrinks blend them."""
    assert point_sampled(1920, 1080, 640, 360, cv2.INTER_LINEAR) == cv2.INTER_NEAREST_EXACT
    if size != (640, 360):
        assert point_sampled(1920, 1080, *size, cv2.INTER_LINEAR) == cv2.INTER_LINEAR
    for flag in (cv2.INTER_AREA, cv2.INTER_NEAREST):
        assert point_sampled(1920, 1080, *size, flag) == flag


@pytest.mark.parametrize('src_h, new_h, flag', [(720, 360, cv2.INTER_LINEAR),
                                                (1000, 360, cv2.INTER_LINEAR),
                                                (1080, 360, cv2.INTER_AREA),
                                                (1080, 360, cv2.INTER_NEAREST),
                                                (360, 1080, cv2.INTER_LINEAR),
                                                (480, 480, cv2.INTER_LINEAR)])
def test_no_row_shortcut_where_the_resize_reads_more(src_h, new_h, flag):
    assert rows_read_by_resize(src_h, new_h, flag) is None


def test_nv12_rows_convert_with_the_whole_frame_formula_on_every_byte_value():
    """Random bytes (out-of-gamut YUV too): NV12 rows as YUYV = OpenCV's own NV12 result."""
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, (96 * 3 // 2, 128), dtype=np.uint8)
    frame = Nv12Frame(data, 128, 96)
    rows = np.arange(96)
    np.testing.assert_array_equal(frame.convert_rows(rows, rgb=False), frame.to_bgr())
    np.testing.assert_array_equal(frame.convert_rows(rows[1::3], rgb=True),
                                  cv2.cvtColor(data, cv2.COLOR_YUV2RGB_NV12)[1::3])
    packed = Yuv422Frame(rng.integers(0, 256, (96, 128, 2), dtype=np.uint8), 128, 96, 'uyvy')
    np.testing.assert_array_equal(packed.convert_rows(rows[1::3], rgb=False),
                                  packed.to_bgr()[1::3])


@pytest.mark.parametrize('size, new_size', [
    ((384, 216), (128, 72)), ((216, 384), (72, 128)), ((384, 72), (128, 72)),
    ((896, 72), (128, 24))], ids=['3x', 'portrait_3x', 'across_only', '7x_across_3x_down'])
def test_picked_pixels_convert_with_the_whole_frame_formula_on_every_byte_value(size, new_size):
    """
    Random bytes (out-of-gamut YUV too): picked pixels = whole frame converted, then resized.

    Written into a strided view, for NV12 (both ranges), YUYV and UYVY, BGR and RGB: OpenCV's
    whole-frame conversion resized with INTER_LINEAR, and nothing outside the view touched.
    """
    (width, height), (new_w, new_h) = size, new_size
    assert samples_in_pairs(width, new_w)
    rng = np.random.default_rng(width + height)
    nv12 = rng.integers(0, 256, (height * 3 // 2, width), dtype=np.uint8)
    packed = rng.integers(0, 256, (height, width, 2), dtype=np.uint8)
    frames = [Nv12Frame(nv12, width, height), Nv12Frame(nv12, width, height, 'full'),
              Yuv422Frame(packed, width, height), Yuv422Frame(packed, width, height, 'uyvy')]
    for frame in frames:
        for rgb in (False, True):
            expected = frame.to_bgr()
            expected = cv2.cvtColor(expected, cv2.COLOR_BGR2RGB) if rgb else expected
            expected = cv2.resize(expected, new_size, interpolation=cv2.INTER_LINEAR)
            canvas = np.full((new_h + 4, new_w + 6, 3), 7, np.uint8)
            frame.convert_sampled(rgb, canvas[2:2 + new_h, 4:4 + new_w])
            kind = frame.order if isinstance(frame, Yuv422Frame) else frame.yuv_range
            where = f'{type(frame).__name__} {kind} rgb={rgb}'
            np.testing.assert_array_equal(canvas[2:2 + new_h, 4:4 + new_w], expected,
                                          err_msg=where)
            canvas[2:2 + new_h, 4:4 + new_w] = 7
            assert np.all(canvas == 7), f'{where}: wrote outside its window'


def test_pixel_pairs_only_where_the_picked_pixels_line_up():
    """Across by 3, 7, 11 to an even width; not 5 or 9 (the pairs alternate otherwise)."""
    assert samples_in_pairs(1920, 640) and samples_in_pairs(4480, 640)
    assert samples_in_pairs(7040, 640)
    for src_w, new_w in ((3200, 640), (5760, 640), (1920, 1920), (1280, 640), (1917, 639),
                         (1000, 640)):
        assert not samples_in_pairs(src_w, new_w), (src_w, new_w)


class _Spy:
    """Record the YuvFrame conversions preprocess asks for (whole frame, rows)."""

    def __init__(self, monkeypatch):
        self.calls = []
        convert, convert_rows = YuvFrame.convert, Nv12Frame.convert_rows
        rows_422 = Yuv422Frame.convert_rows

        def spy_convert(frame, rgb, dst=None):
            self.calls.append(('whole', dst is not None))
            return convert(frame, rgb, dst)

        def spy_rows(original):
            def call(frame, rows, rgb):
                self.calls.append(('rows', len(rows)))
                return original(frame, rows, rgb)
            return call

        def spy_sampled(original):
            def call(frame, rgb, dst):
                self.calls.append(('sampled', dst.shape[:2]))
                return original(frame, rgb, dst)
            return call

        monkeypatch.setattr(YuvFrame, 'convert', spy_convert)
        monkeypatch.setattr(Nv12Frame, 'convert_rows', spy_rows(convert_rows))
        monkeypatch.setattr(Yuv422Frame, 'convert_rows', spy_rows(rows_422))
        for cls in (Nv12Frame, Yuv422Frame):
            monkeypatch.setattr(cls, 'convert_sampled', spy_sampled(cls.convert_sampled))


@pytest.mark.parametrize('hw, fields, expected', [
    ((1080, 1920), {}, ('sampled', (360, 640))),
    ((1920, 1080), {}, ('sampled', (640, 360))),
    ((2520, 4480), {}, ('sampled', (360, 640))),
    ((640, 1920), {'resize': 'stretch'}, ('sampled', (640, 640))),
    ((1800, 3200), {}, ('rows', 360)),
    ((1080, 1920), {'width': 800, 'height': 360, 'resize': 'stretch'}, ('rows', 360)),
    ((480, 640), {}, ('whole', True)),
    ((720, 1280), {}, ('whole', False))],
    ids=['1080p_picked_pixels', 'portrait_1080p_picked', '7x_picked', 'across_only_picked',
         '5x_rows_only', '1080p_to_800x360_rows_only', '480p_into_the_tensor',
         '720p_whole_frame'])
def test_how_much_of_a_yuv_frame_is_converted(monkeypatch, hw, fields, expected):
    """
    What is converted: only the picked pixels, only rows, into the tensor, or the whole frame.

    1080p -> 640x360 (3x, 7x, or 3x across only): only the pixels INTER_LINEAR reads, in pixel
    pairs; 5x (pairs would not line up) or 800x360 (blended across): a third or a fifth of
    the rows; 640x480: straight into the tensor; 720p: all.
    """
    spy = _Spy(monkeypatch)
    bgr = natural_image(*hw)
    spec = InputSpec(dtype='uint8', layout='nhwc', **fields)
    for _, frame, full_bgr in yuv_sources(bgr):
        spy.calls.clear()
        tensor = preprocess(frame, spec)[0]
        assert spy.calls == [expected]
        assert_same(tensor, full_bgr, spec, f'{hw} {fields}')


@pytest.mark.parametrize('pad_value', [0, 255])
def test_nv12_pad_colour_follows_the_range(pad_value):
    """Grey 0 or 255 differs between ranges (Y 16 vs 0, 235 vs 255): each its own pad."""
    from edge_perception.yuv_range import bgr_to_nv12_in
    bgr = natural_image(720, 1280, seed=5)
    for yuv_range in ('video', 'full', 'video'):
        spec = InputSpec(dtype='uint8', color='nv12', pad_value=pad_value, yuv_range=yuv_range)
        boxed, _ = ultralytics_letterbox(bgr, 640, 640, cv2.INTER_LINEAR, pad_value)
        np.testing.assert_array_equal(preprocess(bgr, spec)[0], bgr_to_nv12_in(boxed, yuv_range),
                                      err_msg=yuv_range)


def test_each_call_returns_a_fresh_tensor():
    image = smooth_picture(720, 1280)
    for fields in SPECS.values():
        spec = InputSpec(**fields)
        first, second = preprocess(image, spec)[0], preprocess(image, spec)[0]
        assert not np.shares_memory(first, second)
        assert not np.shares_memory(first, image)


# --- the real fall-detection model: detections from YUV frames are those of BGR frames ---

@pytest.fixture(scope='module')
def fall_model():
    model = load_model(FALL_CARD, threads=2)
    yield model
    model.close()


def _pictures():
    from skimage import data
    camera = cv2.cvtColor(data.camera(), cv2.COLOR_GRAY2BGR)
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    return [('camera_rot90', np.ascontiguousarray(np.rot90(camera))), ('astronaut', astronaut)]


@pytest.mark.parametrize('size', [(640, 480), (1280, 720), (1920, 1080)],
                         ids=lambda s: f'{s[0]}x{s[1]}')
def test_fall_model_sees_the_same_in_yuv_frames(fall_model, size):
    found = 0
    for name, picture in _pictures():
        bgr = cv2.resize(picture, size, interpolation=cv2.INTER_LINEAR)
        for encoding, frame, full_bgr in yuv_sources(bgr):
            expected = fall_model(full_bgr)
            got = fall_model(frame)
            where = f'{name} {size} {encoding}'
            assert got.names == expected.names, where
            np.testing.assert_array_equal(got.xyxy, expected.xyxy, err_msg=where)
            np.testing.assert_array_equal(got.confidence, expected.confidence, err_msg=where)
            found += len(got)
    assert found >= 6           # a person in every picture, every encoding: not empty results
