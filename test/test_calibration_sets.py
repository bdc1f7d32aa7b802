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
The named int8 calibration sets.

'samples-augmented' is real pictures and never the sample pictures themselves (they stay the
validation set the RKNN precision table is measured on).
"""

import os

import cv2
from edge_perception.image_sets import augmented_samples, calibration_images, NAMED_SETS
from edge_perception.preprocess import letterbox
import numpy as np
import pytest

skimage_data = pytest.importorskip('skimage.data', reason='the sample pictures need '
                                   'scikit-image (in every environment set-up builds)')


def _validation_pictures():
    """Return the sample pictures straight from scikit-image (not through edge_perception)."""
    pictures = []
    for name, rotate in (('camera', True), ('astronaut', True), ('rocket', False)):
        image = getattr(skimage_data, name)()
        rgb = np.stack([image] * 3, -1) if image.ndim == 2 else image[..., :3]
        bgr = np.ascontiguousarray(rgb[..., ::-1])
        pictures.append(bgr)
        if rotate:
            pictures.append(np.ascontiguousarray(np.rot90(bgr)))
    return pictures


@pytest.fixture(scope='module')
def augmented():
    return augmented_samples()


def test_the_augmented_set_is_44_real_pictures(augmented):
    assert len(augmented) == 44
    assert all(i.dtype == np.uint8 and i.ndim == 3 and i.shape[2] == 3 for i in augmented)
    assert all(min(i.shape[:2]) >= 100 and i.std() > 5 for i in augmented)  # no blank tiles
    coffee = skimage_data.coffee()[..., ::-1]
    assert any(i.shape == coffee.shape and np.array_equal(i, coffee) for i in augmented)


def test_the_augmented_set_never_holds_a_validation_picture(augmented):
    """No calibration image is a sample picture, as given or as the 640 letterboxed input."""
    boxed = [letterbox(i, 640, 640, 114)[0] for i in augmented]
    for picture in _validation_pictures():
        same = [i for i in augmented if i.shape == picture.shape and np.array_equal(i, picture)]
        assert not same
        target = letterbox(picture, 640, 640, 114)[0].astype(np.int16)
        closest = min(np.abs(b.astype(np.int16) - target).mean() for b in boxed)
        assert closest > 5, closest


def test_the_augmented_set_shows_the_people_mirrored_cropped_and_smaller(augmented):
    """Views of each sample picture: its mirror image is in the set, exactly."""
    for picture in _validation_pictures():
        mirror = picture[:, ::-1]
        assert any(i.shape == mirror.shape and np.array_equal(i, mirror) for i in augmented)
    crops = [i for i in augmented if i.shape[:2] == (358, 358)]     # 0.7 of 512
    assert len(crops) == 16                                         # 4 square pictures x 4
    assert sum(1 for i in augmented if i.shape[:2] == (640, 640)) == 5   # mosaics


def test_named_sets_load_by_name_and_a_real_folder_wins(tmp_path, monkeypatch):
    assert NAMED_SETS == ('samples', 'samples-augmented')
    assert len(calibration_images('samples')) == 5 == len(calibration_images(None))
    assert len(calibration_images('samples-augmented')) == 44
    monkeypatch.chdir(tmp_path)
    os.mkdir('samples-augmented')
    assert cv2.imwrite(os.path.join('samples-augmented', 'one.png'),
                       np.full((32, 32, 3), 7, np.uint8))
    assert len(calibration_images('samples-augmented')) == 1
