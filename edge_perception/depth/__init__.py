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
3D from a depth camera, ROS-free: depth decoding, pinhole model, robust depth, 3D boxes.

``decode_depth`` (16UC1 mm / 32FC1 m -> float32 metres), ``PinholeCamera`` (camera_info
intrinsics), ``lift_detections`` (registered depth) / ``lift_unregistered`` (depth of another
camera, with ``RigidTransform`` extrinsics from ``StaticTransforms``, the /tf_static tree) /
``objects_on_rays`` (``Objects3D``), ``StampSynchroniser`` (colour/depth pairing) and
``DepthFusion`` (what a node holds). Messages: ros/depth_messages.
"""

from .box_extent import DepthConfig, lift_detections, Objects3D, objects_on_rays
from .depth_image import decode_depth, depth_from_array
from .extrinsics import RigidTransform, StaticTransforms
from .fusion import DepthFusion, ReasonLog
from .pinhole import PinholeCamera
from .synchroniser import Pair, stamp_ns, StampSynchroniser
from .unregistered import lift_unregistered

__all__ = ['DepthConfig', 'DepthFusion', 'Objects3D', 'Pair', 'PinholeCamera', 'ReasonLog',
           'RigidTransform', 'StampSynchroniser', 'StaticTransforms', 'decode_depth',
           'depth_from_array', 'lift_detections', 'lift_unregistered', 'objects_on_rays',
           'stamp_ns']
