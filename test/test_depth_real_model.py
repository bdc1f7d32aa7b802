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
The trained fall model's detections on real pictures, lifted with a synthetic depth map.

The depth map is painted from the picture itself, not from the detection: the dark pixels
of the left part of scikit-image's cameraman (his coat, hair, camera and tripod) are at the
person's distance, everything else is a background 7 m away. The depth camera is registered
at another resolution (320x320 for the 512x512 picture), encoded as a 16UC1 Image in
millimetres with noise and a band of zero pixels, and decoded by decode_depth.
"""

import array
from types import SimpleNamespace

import cv2
from edge_perception import load_model
from edge_perception.depth import decode_depth, DepthFusion
import numpy as np
import pytest

from .depth_scenes import camera_info, FRAME

# a 46 degree view; the depth camera's intrinsics are the colour ones scaled by 0.625
COLOUR_K = {'fx': 600.0, 'fy': 600.0, 'cx': 255.5, 'cy': 255.5, 'width': 512, 'height': 512}
DEPTH_K = {'fx': 375.0, 'fy': 375.0, 'cx': 159.6875, 'cy': 159.6875, 'width': 320,
           'height': 320}


@pytest.fixture(scope='module')
def fall_model(fall_model_card):
    return load_model(fall_model_card, threads=2)


def depth_message(grey, person_z, rng):
    """Build a 16UC1 Image (mm) at the depth camera's size: dark left pixels at person_z."""
    person = (grey < 60) & (np.arange(grey.shape[1])[None, :] < grey.shape[1] * 0.7)
    metres = np.where(person, person_z, 7.0)
    small = cv2.resize(metres.astype(np.float32), (DEPTH_K['width'], DEPTH_K['height']),
                       interpolation=cv2.INTER_NEAREST)
    small += rng.normal(0, 0.004, small.shape).astype(np.float32)
    mm = np.round(small * 1000).astype('<u2')
    mm[150:160, :] = 0                               # a band without measurement
    return SimpleNamespace(height=320, width=320, encoding='16UC1', is_bigendian=0, step=640,
                           data=array.array('B', mm.tobytes()))


@pytest.mark.parametrize('rotate,name,person_z', [(False, 'Normal', 2.4),
                                                  (True, 'Fall', 2.3)])
def test_fall_model_detection_lifted_to_3d(fall_model, rotate, name, person_z):
    from skimage import data
    grey = data.camera()
    if rotate:
        grey = np.ascontiguousarray(np.rot90(grey))
    dets = fall_model(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    assert dets.names[0] == name
    fusion = DepthFusion()
    fusion.set_colour_info(camera_info(COLOUR_K))
    fusion.set_depth_info(camera_info(DEPTH_K))
    depth = decode_depth(depth_message(grey, person_z, np.random.default_rng(3)))
    objects = fusion.lift(dets[:1], (512, 512), FRAME, depth, FRAME)
    assert objects.valid[0], objects.reasons
    x, y, z = objects.center[0]
    assert z == pytest.approx(person_z, abs=0.01)
    # the 3D box projected back into the colour picture (pinhole from first principles)
    # is the model's box
    (sx, sy, _) = objects.size[0]
    u1 = COLOUR_K['fx'] * (x - sx / 2) / z + COLOUR_K['cx'] + 0.5
    u2 = COLOUR_K['fx'] * (x + sx / 2) / z + COLOUR_K['cx'] + 0.5
    v1 = COLOUR_K['fy'] * (y - sy / 2) / z + COLOUR_K['cy'] + 0.5
    v2 = COLOUR_K['fy'] * (y + sy / 2) / z + COLOUR_K['cy'] + 0.5
    np.testing.assert_allclose([u1, v1, u2, v2], dets.xyxy[0], atol=0.05)
    # a person's size: 1.5..2 m tall standing, as long lying
    assert 1.5 < max(sx, sy) < 2.0
