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
Calibration sets for int8 builds, letterboxed exactly as the runtime's pre-processing does.

One loader (``calibration_images``: a folder, a list file, arrays, or the sample pictures;
it and the rknn-toolkit2 writer live in ``edge_perception.image_sets``, which the runtime's
rknn_sim backend shares) and one writer per vendor format:

- rknn-toolkit2 (``write_rknn_dataset``): image files plus a list file, one path a line. The
  toolkit reads each file with OpenCV and converts BGR to RGB, as the runtime input is RGB;
  so the letterboxed images are written as OpenCV writes them (BGR).
- D-Robotics hb_mapper / hb_compile (``write_rdk_calibration``): one raw tensor file per image,
  (1, 3, H, W) float32 RGB in 0..255 (``cal_data_type: float32``; the 1/255 scale is the
  config's ``data_scale``, applied by the compiler), as rdk_model_zoo's conversion guides
  prepare ``calibration_data_rgb_f32_640``.
"""

import os
from typing import List, Sequence

import cv2
import numpy as np

from ..image_sets import (calibration_images, image_paths, IMAGE_SUFFIXES,  # noqa: F401
                          letterboxed, write_rknn_dataset)
from ..preprocess import letterbox

RDK_SUFFIX = '.rgbchw'


def rdk_tensor(image_bgr: np.ndarray, width: int, height: int,
               pad_value: int = 114) -> np.ndarray:
    """Return one letterboxed image as hb_mapper reads it: (1, 3, H, W) float32 RGB 0..255."""
    boxed = letterbox(image_bgr, width, height, pad_value)[0]
    rgb = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def write_rdk_calibration(images: Sequence[np.ndarray], folder: str, width: int, height: int,
                          pad_value: int = 114) -> List[str]:
    """Write one raw float32 NCHW RGB tensor file per image for hb_mapper; return the paths."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, image in enumerate(images):
        path = os.path.join(folder, f'calib_{i:04d}{RDK_SUFFIX}')
        rdk_tensor(image, width, height, pad_value).tofile(path)
        paths.append(path)
    return paths
