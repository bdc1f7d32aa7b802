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

One loader (``calibration_images``: a folder, a list file, arrays, or the sample pictures) and
one writer per vendor format:

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

from ..errors import ModelLoadError
from ..preprocess import as_bgr, letterbox

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')
RDK_SUFFIX = '.rgbchw'


def image_paths(source: str) -> List[str]:
    """
    Return the image files of a folder (sorted), of a list file, or the one image given.

    A list file holds one path a line, relative to the file's folder.
    """
    path = os.fspath(source)
    if os.path.isdir(path):
        return [os.path.join(path, f) for f in sorted(os.listdir(path))
                if f.lower().endswith(IMAGE_SUFFIXES)]
    if os.path.isfile(path) and not path.lower().endswith(IMAGE_SUFFIXES):
        base = os.path.dirname(os.path.abspath(path))
        with open(path, encoding='utf-8') as f:
            return [os.path.join(base, line.strip()) for line in f if line.strip()]
    return [path]


def calibration_images(calibration) -> List[np.ndarray]:
    """
    Load the calibration images as BGR uint8 arrays.

    calibration: None (scikit-image's sample pictures), a folder of images, a text file listing
    image paths (one a line, relative to the file), or a sequence of paths / BGR arrays.
    """
    if calibration is None:
        from ..samples import sample_images
        return [image for _, image in sample_images()]
    if isinstance(calibration, (str, os.PathLike)):
        items = image_paths(calibration)
    else:
        items = list(calibration)
    images = []
    for item in items:
        if isinstance(item, np.ndarray):
            images.append(as_bgr(item))
            continue
        image = cv2.imread(os.fspath(item), cv2.IMREAD_COLOR)
        if image is None:
            raise ModelLoadError(f'calibration image {item} is missing or not an image')
        images.append(image)
    if not images:
        raise ModelLoadError(f'calibration {calibration!r} holds no images '
                             f'({", ".join(IMAGE_SUFFIXES)})')
    return images


def letterboxed(images: Sequence[np.ndarray], width: int, height: int,
                pad_value: int = 114) -> List[np.ndarray]:
    """Return the images letterboxed to width x height as the runtime does (BGR uint8)."""
    return [letterbox(image, width, height, pad_value)[0] for image in images]


def write_rknn_dataset(images: Sequence[np.ndarray], folder: str, width: int, height: int,
                       pad_value: int = 114) -> str:
    """Write letterboxed calibration images and their list file for rknn-toolkit2; return it."""
    os.makedirs(folder, exist_ok=True)
    names = []
    for i, boxed in enumerate(letterboxed(images, width, height, pad_value)):
        name = os.path.join(folder, f'calib_{i:04d}.png')
        # The toolkit reads image files as RGB (cv2.imread + BGR->RGB), as the runtime's RGB
        # input: so write them as OpenCV does, BGR.
        if not cv2.imwrite(name, boxed):
            raise ModelLoadError(f'cannot write calibration image {name}')
        names.append(name)
    dataset = os.path.join(folder, 'dataset.txt')
    with open(dataset, 'w', encoding='utf-8') as f:
        f.write('\n'.join(names) + '\n')
    return dataset


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
