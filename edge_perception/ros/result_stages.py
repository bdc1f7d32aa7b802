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
The result stages a node's own parameters ask for: the tracker and depth (or metric markers).

``tracker`` (detect, segment, pose nodes; ``none`` turns it off) gives a ``TrackingStage``;
``use_depth`` (or a node that always draws metric markers: pose) gives a ``DepthStage``.
Semantic maps have no boxes: neither stage runs for them. The tracker runs first.
"""

from .depth_stage import DepthStage
from .parameters import check_choice, TRACKER_SETTINGS, tracker_settings
from .tracking_stage import TrackingStage
from ..tracking import TRACKERS


def tracker_values(param) -> dict:
    """Return the current tracker settings (``param(name)`` reads a parameter)."""
    return {name: param(name) for name in TRACKER_SETTINGS}


def parameter_stages(node, param, settings):
    """Return (tracking, depth) for ``node`` (a configured PerceptionNode); None: off."""
    tracking = depth = None
    if node.TRACKING and check_choice('tracker', param('tracker'),
                                      TRACKERS) != 'none' and node.task != 'semantic':
        tracking = TrackingStage(tracker_settings(tracker_values(param)))
    use_depth = node.DEPTH and bool(param('use_depth'))
    if (use_depth or node.MARKERS) and node.task != 'semantic':
        depth = DepthStage(
            use_depth, param('depth_slop'), param('depth_max_wait'),
            param('assume_registered'), param('marker_distance'), skeleton=node.SKELETON,
            keypoint_threshold=settings.get('keypoint_threshold', 0.5))
    return tracking, depth
