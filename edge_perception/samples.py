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
Sample pictures for the demo, the benchmark and the tests, from scikit-image's bundled data.

scikit-image ships these files inside its wheel (no download). Rotated copies turn a standing
person into a lying one, which the fall-detection demo model reports as 'Fall'.
"""

from typing import List, Tuple

import cv2
import numpy as np

# scikit-image loader name, and whether to add a copy rotated by 90 degrees
SAMPLES = (('camera', True), ('astronaut', True), ('rocket', False))


def sample_images() -> List[Tuple[str, np.ndarray]]:
    """(name, BGR uint8 image) pairs; raises RuntimeError saying how to get scikit-image."""
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError('sample images come from scikit-image: pip install scikit-image') \
            from None
    images = []
    for name, rotate in SAMPLES:
        image = getattr(data, name)()
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else \
            cv2.cvtColor(image[..., :3], cv2.COLOR_RGB2BGR)
        images.append((name, image))
        if rotate:
            images.append((f'{name}_rot90', np.ascontiguousarray(np.rot90(image))))
    return images
