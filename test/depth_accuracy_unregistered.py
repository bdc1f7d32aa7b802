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
3D error of lift_unregistered: ``python -m test.depth_accuracy_unregistered``.

The scenes of test/depth_accuracy.py, but the depth camera (848x480) is another camera: 5 cm
beside the colour camera (1280x720) and turned by 2 degrees (depth_scenes.DEPTH_POSE).
Stereo-like noise (sigma 2 mm x z^2), 5 % zero/NaN pixels, 20 seeds. The truth is in the
depth camera's optical frame (where detections_3d is published). Prints the centre error
(mm) and the size error (mm) per scene, and the time of one lift.
"""

import time

from edge_perception.depth import lift_unregistered, PinholeCamera, RigidTransform
from edge_perception.results import Detections
import numpy as np

from .depth_scenes import (board_corners, camera_info, camera_noise, COLOUR_K, compose,
                           DEPTH_FRAME, DEPTH_K, DEPTH_POSE, DEPTH_QUATERNION,
                           DEPTH_TRANSLATION, project_box, project_corners, render_board,
                           render_box, render_plane, to_depth_frame)

COLOUR = PinholeCamera.from_camera_info(camera_info(COLOUR_K))
DEPTH = PinholeCamera.from_camera_info(camera_info(DEPTH_K, DEPTH_FRAME))
EXTRINSICS = RigidTransform.from_xyz_quaternion(list(DEPTH_TRANSLATION) + DEPTH_QUATERNION)
SEEDS = 20


def board(centre, width, height, yaw=0.0):
    """Scene, 2D box, true centre and true size of a board 1.5 m in front of a wall."""
    depth = compose(render_board(DEPTH_K, centre, width, height, yaw, pose=DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], centre[2] + 1.5, pose=DEPTH_POSE))
    box = project_corners(COLOUR_K, board_corners(centre, width, height, yaw))
    size = (width * np.cos(yaw), height, width * np.sin(yaw))
    return depth, box, np.array(centre), np.array(size), None


def thick_box(lo, hi):
    """Make a 40 cm cube: what is seen is its front face; the truth is the cube's centre."""
    depth = compose(render_box(DEPTH_K, lo, hi, pose=DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], 4.0, pose=DEPTH_POSE))
    lo, hi = np.array(lo), np.array(hi)
    return depth, project_box(COLOUR_K, lo, hi), (lo + hi) / 2, hi - lo, None


def frame_with_mask(centre, outer, inner):
    """Make a square frame with a hole; the mask (colour pixels) is the frame's."""
    def render(k, pose):
        out = render_board(k, centre, outer, outer, pose=pose)
        out[np.isfinite(render_board(k, centre, inner, inner, pose=pose))] = np.inf
        return out
    depth = compose(render(DEPTH_K, DEPTH_POSE),
                    render_plane(DEPTH_K, [0, 0, 1.0], centre[2] + 2.0, pose=DEPTH_POSE))
    box = project_corners(COLOUR_K, board_corners(centre, outer, outer))
    return depth, box, np.array(centre), np.array([outer, outer, 0.0]), \
        np.isfinite(render(COLOUR_K, None))[None]


SCENES = {
    'board 0.45x0.6 m facing, 0.8 m': board((0.2, -0.15, 0.8), 0.45, 0.6),
    'board 0.45x0.6 m facing, 2.0 m': board((0.2, -0.15, 2.0), 0.45, 0.6),
    'board 0.45x0.6 m facing, 4.5 m': board((0.2, -0.15, 4.5), 0.45, 0.6),
    'board 0.6x0.5 m yawed 35 deg, 2.0 m': board((0.1, 0.0, 2.0), 0.6, 0.5, np.radians(35)),
    'cube 0.4 m, centre 2.0 m': thick_box((-0.2, -0.2, 1.8), (0.2, 0.2, 2.2)),
    'frame 0.6 m with hole 0.45 m, mask, 1.2 m': frame_with_mask((0.15, -0.05, 1.2), 0.6,
                                                                 0.45),
}


def main():
    """Print one row per scene: centre error and size errors in mm (mean / max over seeds)."""
    print(f'{"scene":44s} {"centre err mm":>15s} {"size x,y err mm":>17s} '
          f'{"size z mm (true)":>18s} {"ms":>6s}')
    for name, (depth, box, centre, size, masks) in SCENES.items():
        dets = Detections([box], [0.9], [0], ('object',), masks=masks)
        centre_err, size_err, size_z, times = [], [], [], []
        truth = to_depth_frame(centre)
        for seed in range(SEEDS):
            noisy = camera_noise(depth, np.random.default_rng(seed))
            start = time.perf_counter()
            objects = lift_unregistered(dets, noisy, DEPTH, COLOUR, EXTRINSICS)
            times.append((time.perf_counter() - start) * 1000)
            centre_err.append(np.linalg.norm(objects.center[0] - truth) * 1000)
            size_err.append(np.abs(objects.size[0][:2] - size[:2]).max() * 1000)
            size_z.append(objects.size[0][2] * 1000)
        print(f'{name:44s} {np.mean(centre_err):7.1f} /{np.max(centre_err):6.1f} '
              f'{np.mean(size_err):8.1f} /{np.max(size_err):6.1f} '
              f'{np.mean(size_z):9.0f} ({size[2] * 1000:4.0f}) {np.median(times):6.1f}')


if __name__ == '__main__':
    main()
