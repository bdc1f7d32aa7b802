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
BPU's view of an NV12 frame.
"""

import os

from edge_perception.samples import sample_images
from edge_perception.tools.rdk_calibration import (bpu_input, calibration_tensor,
                                                   runtime_nv12, write_calibration)
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
    runtime = runtime_nv12(image, 320, 320)
    assert np.mean(theirs != runtime) > 0.5          # full range vs OpenCV's BT.601 video range


def test_write_calibration_files_are_raw_float32_tensors(tmp_path):
    images = random_scenes(2)
    paths = write_calibration(images, str(tmp_path / 'calibration_data_rgb_f32'), 320, 320)
    assert [os.path.basename(p) for p in paths] == ['calib_0000.rgbchw', 'calib_0001.rgbchw']
    for path, image in zip(paths, images):
        data = np.fromfile(path, np.float32).reshape(1, 3, 320, 320)
        assert np.array_equal(data, calibration_tensor(image, 320, 320))
