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
The ``tracker`` parameter's result stage: ByteTrack ids on each camera's detections.

One ``ByteTracker`` per camera, updated in frame order (one frame at a time) with
the frame's index among the frames that camera received (a frame dropped by the pool, late,
bad or received while paused is a gap the Kalman filter predicts over, not a reset). The
frame's ``Detections`` are replaced by those on confirmed tracks, ``tracker_id`` set; every
output then reads the track id from there (Detection2D.id, keypoint ids, ai_msgs
``Target.track_id``, the debug image's ``#id``). Results without boxes (semantic maps,
classifications) pass unchanged. Settings may change while running (``settings``).
"""

import threading
from typing import Dict

from .stages import FrameResult, ResultStage
from ..results import Detections
from ..tracking import ByteTracker, TrackerSettings

__all__ = ['TrackingStage']


class TrackingStage(ResultStage):
    """Track each camera's detections with ByteTrack (see the module docstring)."""

    name = 'tracking'

    def __init__(self, settings: TrackerSettings):
        """Track with ``settings`` (validated: TrackerSettings raises ValueError)."""
        self._settings = settings
        self._trackers: Dict[str, ByteTracker] = {}
        self._lock = threading.Lock()

    @property
    def settings(self) -> TrackerSettings:
        """Return the tracker settings in use."""
        return self._settings

    @settings.setter
    def settings(self, settings: TrackerSettings):
        """Apply new settings to every camera's tracker from the next frame on."""
        with self._lock:
            self._settings = settings
            for tracker in self._trackers.values():
                tracker.settings = settings

    def process(self, camera: str, frame_index: int, header, result: FrameResult) -> None:
        """Replace the detections by those on confirmed tracks, with their track ids."""
        if not isinstance(result.output, Detections):
            return
        with self._lock:
            tracker = self._trackers.get(camera)
            if tracker is None:
                tracker = self._trackers[camera] = ByteTracker(self._settings)
        result.output = tracker.update(result.output, frame_index)

    def reset(self) -> None:
        """Forget every track (deactivate: a new sequence; ids are not reused)."""
        with self._lock:
            for tracker in self._trackers.values():
                tracker.reset()

    def close(self) -> None:
        """Free the trackers."""
        with self._lock:
            self._trackers.clear()
