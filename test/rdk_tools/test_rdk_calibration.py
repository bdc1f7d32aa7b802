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
RDK calibration and BPU input, held against the toolchain's own transformers (no compile).

The oracle is hb_mapper's code itself (``horizon_tc_ui``): ``get_raw_transformer('nv12',
'rgb', ...)`` is the chain makertbin applies to each calibration tensor file (RGB -> NV12 ->
YUV444 -> -128), ``RGB2NV12Transformer`` its NV12 step and ``NV12ToYUV444Transformer`` the
BPU's view of an NV12 frame; ``get_raw_transformer('yuv420sp_bt601_video', ...)`` the chain of
a ``bt601_video`` build (RGB -> video-range YUV444 -> -128, per pixel), and
``rgb2bt601_full_range`` the full-range BT.601 our BGR -> NV12 must produce for a default build.
"""

import os

from edge_perception.backends.rdk_sim_io import bpu_input
from edge_perception.samples import sample_images
from edge_perception.tools.rdk_calibration import (calibration_tensor, runtime_nv12,
                                                   write_calibration)
from edge_perception.yuv_range import bgr_to_nv12_in
import numpy as np
import pytest

from .rdk_models import random_scenes

SIZES = [(320, 320), (640, 480)]


def _images():
    return [image for _, image in sample_images()][:3] + random_scenes(2)


@pytest.mark.parametrize('width, height', SIZES)
def test_the_quantiser_sees_the_runtime_nv12_byte_for_byte(width, height):
    """hb_mapper's own RGB -> NV12 of our calibration tensor is the runtime's NV12, exactly."""
    from horizon_tc_ui.data.transformer import RGB2NV12Transformer
    to_nv12 = RGB2NV12Transformer(data_format='CHW')
    for image in _images():
        for pad in (114, 127):
            tensor = calibration_tensor(image, width, height, pad)
            assert tensor.shape == (1, 3, height, width) and tensor.dtype == np.float32
            theirs = to_nv12.run_transform(tensor[0]).reshape(-1)
            assert np.array_equal(theirs, runtime_nv12(image, width, height, pad))


@pytest.mark.parametrize('width, height', SIZES)
def test_makertbins_whole_calibration_chain_gives_the_bpu_input(width, height):
    """RGB -> NV12 -> YUV444 -> -128 (makertbin's chain) = bpu_input of the runtime NV12."""
    from horizon_tc_ui.helper import get_raw_transformer
    chain = get_raw_transformer('nv12', 'rgb', 'NCHW', height, width)
    for image in _images():
        data = calibration_tensor(image, width, height)[0]
        for transformer in chain:
            data = transformer.run_transform(data)
        ours = bpu_input(runtime_nv12(image, width, height), width, height)
        assert ours.shape == (1, height, width, 3) and ours.dtype == np.int8
        assert np.array_equal(data, ours[0].transpose(2, 0, 1).astype(np.float32))


def test_bpu_input_is_the_toolchains_nv12_to_yuv444():
    """NV12ToYUV444Transformer (nearest chroma upsampling) minus 128 is bpu_input."""
    from horizon_tc_ui.data.transformer import NV12ToYUV444Transformer
    rng = np.random.default_rng(3)
    nv12 = rng.integers(0, 256, 320 * 256 * 3 // 2, dtype=np.uint8)
    theirs = NV12ToYUV444Transformer((256, 320)).run_transform(nv12)
    assert np.array_equal(bpu_input(nv12, 320, 256)[0],
                          (theirs.astype(np.int16) - 128).astype(np.int8))


def test_the_plain_letterboxed_rgb_is_not_what_the_runtime_feeds():
    """Why the tensors are solved for: the toolchain's NV12 of the plain RGB differs."""
    from horizon_tc_ui.data.transformer import RGB2NV12Transformer
    from edge_perception.preprocess import letterbox
    import cv2
    image = _images()[0]
    boxed = letterbox(image, 320, 320, 114)[0]
    plain = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB).transpose(2, 0, 1).astype(np.float32)
    theirs = RGB2NV12Transformer(data_format='CHW').run_transform(plain).reshape(-1)
    full = runtime_nv12(image, 320, 320)             # the default build's range: full
    assert 0 < np.mean(theirs != full) < 0.05        # its truncation vs our rounding: by 1
    assert np.abs(theirs.astype(np.int16) - full).max() == 1
    video = runtime_nv12(image, 320, 320, yuv_range='video')
    assert np.mean(theirs != video) > 0.5            # full range vs OpenCV's BT.601 video range


def test_makertbins_bt601_video_chain_gives_the_bpu_input_of_video_range_nv12():
    """input_space_and_range bt601_video: the mapper's chain of our tensor = bpu_input, exactly."""
    from horizon_tc_ui.helper import get_raw_transformer
    for width, height in SIZES:
        chain = get_raw_transformer('yuv420sp_bt601_video', 'rgb', 'NCHW', height, width)
        for image in _images():
            data = calibration_tensor(image, width, height, yuv_range='video')[0]
            for transformer in chain:
                data = transformer.run_transform(data)
            nv12 = runtime_nv12(image, width, height, yuv_range='video')
            ours = bpu_input(nv12, width, height)[0].transpose(2, 0, 1).astype(np.float32)
            np.testing.assert_allclose(data, ours, atol=2e-3)


def test_our_full_range_nv12_is_the_toolchains_full_range_bt601():
    """Y of each pixel and U, V of each 2x2 block's mean RGB, as the mapper's formula gives."""
    from horizon_tc_ui.data.transformer import rgb2bt601_full_range
    for image in _images():
        boxed = image[:240, :320]
        nv12 = bgr_to_nv12_in(boxed, 'full')
        rgb = boxed[..., ::-1].astype(np.float64)
        y, _, _ = rgb2bt601_full_range(rgb[..., 0], rgb[..., 1], rgb[..., 2])
        assert np.abs(nv12[:320 * 240].reshape(240, 320) - y).max() <= 0.51
        means = rgb.reshape(120, 2, 160, 2, 3).mean(axis=(1, 3))
        _, u, v = rgb2bt601_full_range(means[..., 0], means[..., 1], means[..., 2])
        uv = nv12[320 * 240:].reshape(120, 160, 2).astype(np.float64)
        assert np.abs(uv[..., 0] - u).max() <= 1.5 and np.abs(uv[..., 1] - v).max() <= 1.5


def test_write_calibration_files_are_raw_float32_tensors(tmp_path):
    images = random_scenes(2)
    paths = write_calibration(images, str(tmp_path / 'calibration_data_rgb_f32'), 320, 320)
    assert [os.path.basename(p) for p in paths] == ['calib_0000.rgbchw', 'calib_0001.rgbchw']
    for path, image in zip(paths, images):
        data = np.fromfile(path, np.float32).reshape(1, 3, 320, 320)
        assert np.array_equal(data, calibration_tensor(image, 320, 320))
