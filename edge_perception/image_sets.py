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
# Named calibration sets (``--calib NAME``): 'samples' the sample pictures; 'samples-augmented'
# views of them (mirror images, corner crops, 2x2 mosaics) without the pictures themselves,
# plus scikit-image's other bundled photographs (see ``augmented_samples``).
NAMED_SETS = ('samples', 'samples-augmented')
# scikit-image's bundled photographs other than the sample pictures (no download needed)
OTHER_PICTURES = ('coffee', 'chelsea', 'hubble_deep_field', 'coins', 'moon', 'clock',
                  'immunohistochemistry', 'retina', 'brick', 'gravel', 'cell', 'page')
CROP = 0.7                  # corner crops keep this share of each side


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

    calibration: None or 'samples' (scikit-image's sample pictures), 'samples-augmented'
    (``augmented_samples``), a folder of images, a text file listing image paths (one a line,
    relative to the file), or a sequence of paths / BGR arrays.
    """
    if calibration is None or (isinstance(calibration, str) and calibration == 'samples'
                               and not os.path.exists(calibration)):
        from .samples import sample_images
        return [image for _, image in sample_images()]
    if isinstance(calibration, str) and calibration == 'samples-augmented' and \
            not os.path.exists(calibration):
        return augmented_samples()
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


def _bgr(image: np.ndarray) -> np.ndarray:
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2BGR)


def corner_crops(image: np.ndarray, share: float = CROP) -> List[np.ndarray]:
    """Return the four corner crops of ``image`` keeping ``share`` of each side."""
    height, width = image.shape[:2]
    h, w = int(height * share), int(width * share)
    return [np.ascontiguousarray(image[y:y + h, x:x + w])
            for y, x in ((0, 0), (0, width - w), (height - h, 0), (height - h, width - w))]


def mosaic(images: Sequence[np.ndarray], size: int = 640, pad_value: int = 114) -> np.ndarray:
    """Return four pictures at half size in a 2x2 grid (each letterboxed into its quarter)."""
    half = size // 2
    tiles = [letterbox(image, half, half, pad_value)[0] for image in images[:4]]
    return np.vstack([np.hstack(tiles[:2]), np.hstack(tiles[2:4])])


def augmented_samples(pad_value: int = 114) -> List[np.ndarray]:
    """
    Return the 'samples-augmented' calibration set: 44 real pictures, BGR uint8.

    Views of the sample pictures that are not the pictures themselves (so the sample pictures
    can stay the validation set): each mirrored (5), four corner crops of each (20, objects
    larger), five 2x2 mosaics (objects at half size); plus the 14 other photographs bundled
    with scikit-image (``OTHER_PICTURES`` and the stereo motorcycle pair). No synthetic pixels.
    """
    from skimage import data

    from .samples import sample_images
    samples = [image for _, image in sample_images()]
    views = [np.ascontiguousarray(image[:, ::-1]) for image in samples]
    for image in samples:
        views += corner_crops(image)
    count = len(samples)
    for i in range(count):
        views.append(mosaic([samples[(i + k) % count][:, ::-1] if k % 2 else
                             samples[(i + k) % count] for k in range(4)], pad_value=pad_value))
    views += [_bgr(getattr(data, name)()) for name in OTHER_PICTURES]
    left, right, _ = data.stereo_motorcycle()
    return views + [_bgr(left), _bgr(right)]
