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
Multi-object tracking of Detections across frames (ROS-free).

``ByteTracker(TrackerSettings(...)).update(detections, frame_index)`` returns the detections
on confirmed tracks with ``tracker_id`` set; call it once per frame in frame order (a gap in
``frame_index`` is dropped frames, not a new sequence); ``reset()`` starts a new sequence.
"""

from .bytetrack import ByteTracker, Track
from .settings import TRACKERS, TrackerSettings

__all__ = ['ByteTracker', 'TRACKERS', 'Track', 'TrackerSettings']
