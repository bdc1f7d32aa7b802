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
RDK calibration data that reaches the quantiser as the BPU's runtime input does, and that input.

A model compiled with ``input_type_rt: nv12`` / ``input_type_train: rgb`` runs on NV12 frames:
the BPU upsamples the chroma (each 2x2 block's U, V for all four pixels), subtracts 128, and the
model's first node (``HzPreprocess``) turns that YUV444 into RGB, in the range the build chose
(``input_space_and_range``: ``regular``, hb_mapper's default, is ``YUV_BT601_FULL_RANGE``;
``bt601_video`` is ``YUV_BT601_Video_Range``). hb_mapper calibrates on *RGB* tensor files (the
train type) and makes its own YUV of them (regular: ``RGB2NV12Transformer``, full-range BT.601,
truncation, 2x2 chroma; bt601_video: ``RGB2YUVBT601VIDEOTransformer``, per pixel, no rounding).
The runtime, though, feeds the NV12 this package makes (``preprocess``: the letterbox, then the
BGR -> NV12 of the model's ``yuv_range``), which is not what the quantiser would make of the
letterboxed RGB. So each calibration image is letterboxed and converted to NV12 exactly as the
runtime does, and the RGB tensor written for hb_mapper is the one its own conversion maps back
onto those NV12 bytes (regular: solved per pixel at the centre of each byte's truncation
interval; bt601_video: exactly): the quantiser sees the board's input byte for byte.

The other half, ``bpu_input`` (the BPU's view of an NV12 frame for the quantized ONNX,
``HB_ONNXRuntime``), is runtime code: ``edge_perception.backends.rdk_sim_io``.
"""

import os
from typing import List, Sequence

import numpy as np

from ..backends.rdk_sim_io import nv12_planes
from ..preprocess import InputSpec, preprocess

SUFFIX = '.rgbchw'
# horizon_tc_ui.data.transformer.RGB2NV12Transformer.rgb2nv12_calc: Y, U - 128, V - 128 of RGB
TOOLCHAIN_RGB_TO_YUV = np.array([[0.299, 0.587, 0.114],
                                 [-0.169, -0.331, 0.5],
                                 [0.5, -0.419, -0.081]])
_YUV_TO_RGB = np.linalg.inv(TOOLCHAIN_RGB_TO_YUV)
# horizon_tc_ui.data.transformer.rgb2bt601_video_range: Y - 16, U - 128, V - 128 of RGB (what
# RGB2YUVBT601VIDEOTransformer computes per pixel for input_space_and_range: bt601_video)
TOOLCHAIN_RGB_TO_VIDEO_YUV = np.array([[0.257, 0.504, 0.098],
                                       [-0.148, -0.291, 0.439],
                                       [0.439, -0.368, -0.071]])
_VIDEO_YUV_TO_RGB = np.linalg.inv(TOOLCHAIN_RGB_TO_VIDEO_YUV)


def runtime_nv12(image_bgr: np.ndarray, width: int, height: int, pad_value: int = 114,
                 interpolation: str = 'linear', yuv_range: str = 'full') -> np.ndarray:
    """Return the flat NV12 buffer the runtime feeds the BPU for a BGR image (``preprocess``)."""
    spec = InputSpec(height=height, width=width, layout='nchw', dtype='uint8', color='nv12',
                     pad_value=pad_value, interpolation=interpolation, yuv_range=yuv_range)
    return preprocess(image_bgr, spec)[0]


def rgb_for_nv12(nv12: np.ndarray, width: int, height: int,
                 yuv_range: str = 'full') -> np.ndarray:
    """
    Return the (1, 3, H, W) float32 RGB that hb_mapper's own RGB -> YUV maps onto ``nv12``.

    ``video`` (input_space_and_range: bt601_video): hb_mapper converts each RGB pixel to video
    range YUV444 without subsampling or rounding, so the RGB solved from the BPU's YUV444 view
    of ``nv12`` (chroma repeated 2x2) gives that view back exactly.
    ``full`` (regular): each pixel's (Y, U, V) bytes plus 0.5 (the middle of the interval its
    truncation keeps) are mapped through the inverse of the toolchain's matrix; U and V are
    those of the pixel's 2x2 block (the toolchain reads them at the block's top-left pixel).
    """
    y, u, v = nv12_planes(nv12, width, height)
    yuv = np.stack([y, u, v], axis=-1).astype(np.float64)
    if yuv_range == 'video':
        yuv -= (16.0, 128.0, 128.0)
        rgb = yuv @ _VIDEO_YUV_TO_RGB.T
    else:
        yuv += 0.5
        yuv[..., 1:] -= 128.0
        rgb = yuv @ _YUV_TO_RGB.T
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def calibration_tensor(image_bgr: np.ndarray, width: int, height: int, pad_value: int = 114,
                       interpolation: str = 'linear', yuv_range: str = 'full') -> np.ndarray:
    """Return one calibration tensor: the RGB hb_mapper turns into the runtime's NV12."""
    nv12 = runtime_nv12(image_bgr, width, height, pad_value, interpolation, yuv_range)
    return rgb_for_nv12(nv12, width, height, yuv_range)


def write_calibration(images: Sequence[np.ndarray], folder: str, width: int, height: int,
                      pad_value: int = 114, interpolation: str = 'linear',
                      yuv_range: str = 'full') -> List[str]:
    """Write one float32 (1, 3, H, W) tensor file per image into ``folder``; return the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = os.path.join(folder, f'calib_{i:04d}{SUFFIX}')
        calibration_tensor(image, width, height, pad_value, interpolation,
                           yuv_range).tofile(path)
        paths.append(path)
    return paths
