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
Image sets (int8 calibration, validation) loaded and letterboxed as the runtime does.

The runtime package's rknn_sim backend and the model toolchain (``edge_perception.tools``)
both use these; they live here so that no runtime module imports the toolchain.
``write_rknn_dataset`` writes what rknn-toolkit2 reads: image files plus a list file, one path
a line. The toolkit reads each file with OpenCV and converts BGR to RGB, as the runtime input
is RGB; so the letterboxed images are written as OpenCV writes them (BGR).
"""

import os
from typing import List, Sequence

import cv2
import numpy as np

from .errors import ModelLoadError
from .preprocess import as_bgr, letterbox

IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.bmp')


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


def validation_images(source: str):
    """Return (paths, BGR pictures) of a validation folder or list; ModelLoadError if unusable."""
    paths = image_paths(source)
    pictures = []
    for path in paths:
        picture = cv2.imread(path, cv2.IMREAD_COLOR)
        if picture is None:
            raise ModelLoadError(f'validation image {path} is missing or not an image')
        pictures.append(picture)
    if not pictures:
        raise ModelLoadError(f'{source} holds no images')
    return paths, pictures


def calibration_images(calibration) -> List[np.ndarray]:
    """
    Load the calibration images as BGR uint8 arrays.

    calibration: None (scikit-image's sample pictures), a folder of images, a text file listing
    image paths (one a line, relative to the file), or a sequence of paths / BGR arrays.
    """
    if calibration is None:
        from .samples import sample_images
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
