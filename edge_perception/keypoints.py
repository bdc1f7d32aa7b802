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
Keypoint names and the limbs between them (COCO 17-keypoint person pose), for markers.

``COCO_KEYPOINTS`` are the names pose models report by default (a model card overrides them
with ``keypoints: [names...]``); ``SKELETON`` lists limbs as pairs of keypoint indices.
"""

COCO_KEYPOINTS = (
    'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
    'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip',
    'left_knee', 'right_knee', 'left_ankle', 'right_ankle',
)

# COCO person skeleton (0-based keypoint indices): legs, hips, torso, arms, face, ears.
SKELETON = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8),
    (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
)


def keypoint_names(count: int, names=()) -> tuple:
    """Return names for ``count`` keypoints: the given ones, COCO for 17, else '0', '1', ..."""
    names = tuple(str(n) for n in names)
    if names:
        if len(names) != count:
            raise ValueError(f'{len(names)} keypoint names for a model with {count} keypoints')
        return names
    if count == len(COCO_KEYPOINTS):
        return COCO_KEYPOINTS
    return tuple(str(i) for i in range(count))
