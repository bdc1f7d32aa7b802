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
Image sequences for the tracking tests, made from scikit-image's real pictures.

People are cut out of ``camera`` (the cameraman) and ``astronaut`` (boxes found by the fall
model on the whole pictures, a margin added), scaled to 300 pixels high and pasted moving over
``grass`` (960x540). Each frame comes with its ground truth: person name -> pasted box
(x1, y1, x2, y2), or nothing for a person out of sight. In a ``blocked`` frame something
covers the whole view (the ``brick`` picture): nobody is seen.
"""

from typing import Dict, List, NamedTuple, Optional, Tuple

import cv2
import numpy as np

WIDTH, HEIGHT = 960, 540
PERSON_HEIGHT = 300
FLOOR = HEIGHT - 20                 # feet of everyone (bottom of the pasted boxes)
# boxes of the fall model on the whole 512x512 pictures (test_real_models.py pins camera's)
CAMERAMAN_BOX = (0, 74, 327, 507)
ASTRONAUT_BOX = (0, 29, 379, 511)


class Frame(NamedTuple):
    """One picture of a sequence, its frame index and where each visible person is."""

    index: int
    image: np.ndarray
    truth: Dict[str, Tuple[int, int, int, int]]


def _bgr(picture: np.ndarray) -> np.ndarray:
    if picture.ndim == 2:
        return cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)
    return cv2.cvtColor(picture, cv2.COLOR_RGB2BGR)


def _cut(picture: np.ndarray, box, margin: int = 16) -> np.ndarray:
    x1, y1, x2, y2 = box
    crop = picture[max(0, y1 - margin):y2 + margin, max(0, x1 - margin):x2 + margin]
    scale = PERSON_HEIGHT / crop.shape[0]
    size = (int(round(crop.shape[1] * scale)), PERSON_HEIGHT)
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA)


def people() -> Dict[str, np.ndarray]:
    """Return the two cut-outs, BGR, 300 pixels high."""
    from skimage import data
    return {'cameraman': _cut(_bgr(data.camera()), CAMERAMAN_BOX),
            'astronaut': _cut(_bgr(data.astronaut()), ASTRONAUT_BOX)}


def background() -> np.ndarray:
    """Return the grass picture, 960x540 BGR."""
    from skimage import data
    return cv2.resize(_bgr(data.grass()), (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)


def _paste(frame: np.ndarray, sprite: np.ndarray, left: int
           ) -> Optional[Tuple[int, int, int, int]]:
    """Paste ``sprite`` with its left edge at ``left`` (clipped at the frame); its box."""
    h, w = sprite.shape[:2]
    x1, x2 = max(0, left), min(WIDTH, left + w)
    if x2 - x1 < w // 3:                     # less than a third in view: out of sight
        return None
    frame[FLOOR - h:FLOOR, x1:x2] = sprite[:, x1 - left:x2 - left]
    return (x1, FLOOR - h, x2, FLOOR)


def render(paths: Dict[str, List[Optional[int]]], order: Tuple[str, ...],
           indices: Optional[List[int]] = None, blocked: Tuple[int, ...] = ()
           ) -> List[Frame]:
    """
    Frames of people walking: ``paths[name][i]`` is the left edge in frame i (None: away).

    ``order`` is back to front. ``indices`` are the frame indices to keep (the others are
    dropped frames; default all). In the ``blocked`` frames the view is covered.
    """
    from skimage import data
    sprites = people()
    ground = background()
    cover = cv2.resize(_bgr(data.brick()), (WIDTH, HEIGHT), interpolation=cv2.INTER_LINEAR)
    count = len(next(iter(paths.values())))
    frames = []
    for i in range(count) if indices is None else indices:
        if i in blocked:
            frames.append(Frame(i, cover.copy(), {}))
            continue
        image = ground.copy()
        truth = {}
        for name in order:
            left = paths[name][i]
            box = None if left is None else _paste(image, sprites[name], left)
            if box is not None:
                truth[name] = box
        frames.append(Frame(i, image, truth))
    return frames


def walk(start: int, step: int, count: int) -> List[Optional[int]]:
    """Left edges of a steady walk."""
    return [start + step * i for i in range(count)]
