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
Depth fusion for a node: camera_info state, registration check, 3D boxes, marker geometry.

``DepthFusion`` holds the latest colour and depth ``camera_info`` and turns a frame's 2D
detections plus its paired depth image into ``Objects3D`` (``lift``), or says why not.
Registered depth (the depth image in the colour camera's optical frame, the driver's
"aligned depth", e.g. realsense2_camera ``align_depth.enable:=true``) at any resolution:
colour pixels are mapped to depth pixels through the two intrinsics (``lift_detections``).
Depth whose frame_id differs from the colour image's (unless ``assume_registered``: drivers
that name one frame twice) is another camera: its extrinsics come from ``depth_to_colour``
when given, else from the static transform tree (``transforms``, fed from /tf_static), and
every depth pixel is reprojected into the colour image (``lift_unregistered``). Without a
transform yet the frame stays 2D only (reason ``no_extrinsics``).
Every reason is counted and handed out throttled through ``reasons`` (``ReasonLog``).
"""

import time
from typing import Callable, Dict, List, Optional, Tuple

from .box_extent import DepthConfig, lift_detections, Objects3D, objects_on_rays
from .extrinsics import RigidTransform, StaticTransforms
from .pinhole import PinholeCamera
from .unregistered import lift_unregistered

__all__ = ['DepthFusion', 'ReasonLog']


class ReasonLog:
    """Counts reasons by code and releases each text at most once per ``period`` seconds."""

    def __init__(self, period: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.period = float(period)
        self._clock = clock
        self.counts: Dict[str, int] = {}
        self._last: Dict[str, float] = {}
        self._due: List[Tuple[str, str]] = []
        self._once_done = set()

    def note(self, code: str, text: str, once: bool = False) -> None:
        """Count ``code``; queue ``text`` unless logged within the period (or ever, once)."""
        self.counts[code] = self.counts.get(code, 0) + 1
        now = self._clock()
        if once:
            if code in self._once_done:
                return
            self._once_done.add(code)
        elif code in self._last and now - self._last[code] < self.period:
            return
        self._last[code] = now
        self._due.append((code, text))

    def due(self) -> List[Tuple[str, str]]:
        """Return and forget the (code, text) pairs to log now."""
        out, self._due = self._due, []
        return out


class DepthFusion:
    """
    Colour + depth (registered or not) -> Objects3D, every failure counted and explained.

    ``depth_to_colour``: a fixed ``RigidTransform`` mapping depth-frame points into the
    colour frame (the depth optical frame's pose in the colour optical frame), or None to
    look the frames up in ``transforms`` (a ``StaticTransforms``, possibly shared).
    """

    def __init__(self, config: DepthConfig = DepthConfig(), assume_registered: bool = False,
                 marker_distance: float = 2.0, reasons: Optional[ReasonLog] = None,
                 depth_to_colour: Optional[RigidTransform] = None,
                 transforms: Optional[StaticTransforms] = None):
        if not marker_distance > 0:
            raise ValueError(f'marker_distance must be positive, got {marker_distance}')
        self.config = config
        self.assume_registered = bool(assume_registered)
        self.depth_to_colour = depth_to_colour
        self.transforms = transforms if transforms is not None else StaticTransforms()
        self.marker_distance = float(marker_distance)
        self.reasons = reasons if reasons is not None else ReasonLog()
        self.colour_camera: Optional[PinholeCamera] = None
        self.depth_camera: Optional[PinholeCamera] = None

    def set_colour_info(self, info) -> None:
        """Take the colour camera's sensor_msgs/CameraInfo (a bad one is explained, kept None)."""
        self.colour_camera = self._camera(info, 'colour')

    def set_depth_info(self, info) -> None:
        """Take the depth camera's sensor_msgs/CameraInfo (depth/camera_info)."""
        self.depth_camera = self._camera(info, 'depth')

    def _camera(self, info, which: str) -> Optional[PinholeCamera]:
        try:
            return PinholeCamera.from_camera_info(info)
        except (ValueError, TypeError, AttributeError) as err:
            self.reasons.note(f'bad_{which}_camera_info', f'{which} camera_info unusable: {err}')
            return None

    def colour_camera_for(self, width: int, height: int) -> Optional[PinholeCamera]:
        """Return the colour intrinsics at the image's size (scaled if camera_info's differs)."""
        cam = self.colour_camera
        if cam is None:
            return None
        if cam.size != (width, height):
            self.reasons.note('colour_info_size', f'colour camera_info is {cam.width}x'
                              f'{cam.height} but the image is {width}x{height}: intrinsics '
                              f'scaled to the image')
            cam = cam.scaled_to(width, height)
        return cam

    def lift(self, detections, colour_size: Tuple[int, int], colour_frame: str,
             depth_m, depth_frame: str) -> Optional[Objects3D]:
        """
        3D boxes of ``detections`` (colour pixels) from ``depth_m`` (float32 metres), or None.

        None (the frame is published in 2D only) when there is no depth camera_info, the
        depth image does not match it, or it is another camera's and there is no transform
        between the two frames yet; each reason is counted. Objects without enough valid
        depth are marked invalid with their reason.
        """
        depth_cam = self.depth_camera
        if depth_cam is None:
            self.reasons.note('no_depth_camera_info', 'no depth/camera_info received yet: '
                              'detections are published in 2D only')
            return None
        h, w = depth_m.shape[:2]
        if depth_cam.size != (w, h):
            self.reasons.note('depth_info_size', f'depth image is {w}x{h} but depth/'
                              f'camera_info is {depth_cam.width}x{depth_cam.height}: 2D only')
            return None
        extrinsics = None
        if depth_frame != colour_frame and not self.assume_registered:
            extrinsics = self.extrinsics(depth_frame, colour_frame)
            if extrinsics is None:
                self.reasons.note('no_extrinsics', f'no transform between the depth frame '
                                  f'{depth_frame!r} and the colour frame {colour_frame!r} on '
                                  f'/tf_static yet (nor depth_to_colour): 2D only')
                return None
        width, height = colour_size
        colour_cam = self.colour_camera_for(width, height)
        if colour_cam is None and extrinsics is not None:
            self.reasons.note('no_colour_camera_info', 'no colour camera_info: depth of '
                              'another camera cannot be projected into the colour image: '
                              '2D only')
            return None
        if colour_cam is None:
            self.reasons.note('no_colour_camera_info', 'no colour camera_info: colour pixels '
                              'mapped to depth pixels by the ratio of the image sizes')
            colour_cam = depth_cam.scaled_to(width, height)
        if extrinsics is None:
            objects = lift_detections(detections, depth_m, depth_cam, colour_cam, self.config)
        else:
            objects = lift_unregistered(detections, depth_m, depth_cam, colour_cam,
                                        extrinsics, self.config)
        for reason in objects.reasons:
            if reason is not None:
                self.reasons.note('no_valid_depth', f'object without 3D: {reason}')
        return objects

    def extrinsics(self, depth_frame: str, colour_frame: str) -> Optional[RigidTransform]:
        """Return the map of depth-frame points into the colour frame, None: not known."""
        if self.depth_to_colour is not None:
            return self.depth_to_colour
        return self.transforms.lookup(colour_frame, depth_frame)

    def marker_objects(self, detections, colour_size: Tuple[int, int],
                       objects: Optional[Objects3D] = None) -> Optional[Objects3D]:
        """
        Return the geometry of metric markers, or None.

        ``objects`` when lifted from depth, else the detections on their camera rays at
        ``marker_distance``, else None (no camera_info at all: said once).
        """
        if objects is not None:
            return objects
        width, height = colour_size
        cam = self.colour_camera_for(width, height)
        if cam is None and self.depth_camera is not None:
            cam = self.depth_camera.scaled_to(width, height)
        if cam is None:
            self.reasons.note('no_markers', 'no depth and no camera_info: metric markers '
                              'are not published', once=True)
            return None
        return objects_on_rays(detections, cam, self.marker_distance,
                               self.config.keypoint_threshold)
