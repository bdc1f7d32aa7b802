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
The tracker's settings (``TrackerSettings``) and their validation.

Defaults follow the ByteTrack paper (Zhang et al., ECCV 2022): detections scoring at or above
``track_threshold`` are matched first, those between ``low_threshold`` and it only continue
existing tracks, a new track starts from a detection at or above ``new_track_threshold``.
"""

from dataclasses import dataclass
from typing import List

__all__ = ['TRACKERS', 'TrackerSettings']

TRACKERS = ('none', 'bytetrack')
MAX_LOST_TRACK_FRAMES = 100000


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@dataclass(frozen=True)
class TrackerSettings:
    """
    ByteTrack's parameters; an invalid value raises ValueError naming it and why.

    track_threshold: score from which a detection is matched in the first stage.
    low_threshold: score from which a detection may continue a track (second stage).
    new_track_threshold: score from which an unmatched detection starts a new track.
    match_iou: least IoU between a track's predicted box and a detection to match them.
    lost_track_frames: frames a track may miss and still come back with its id in the next
    one (last matched in frame f, it can match up to frame f + lost_track_frames + 1);
    frames count by frame index, so dropped frames count too.
    """

    track_threshold: float = 0.5
    low_threshold: float = 0.1
    new_track_threshold: float = 0.6
    match_iou: float = 0.2
    lost_track_frames: int = 30

    def __post_init__(self):
        """Refuse invalid values with the reasons."""
        problems = self.problems()
        if problems:
            raise ValueError('invalid tracker settings: ' + '; '.join(problems))

    def problems(self) -> List[str]:
        """Each invalid value with the reason (empty when all are valid)."""
        found = []
        for name in ('track_threshold', 'low_threshold', 'new_track_threshold'):
            value = getattr(self, name)
            if not _is_number(value) or not 0.0 <= value <= 1.0:
                found.append(f'{name} must be a number in [0, 1] (a score), got {value!r}')
        if not _is_number(self.match_iou) or not 0.0 < self.match_iou <= 1.0:
            found.append(f'match_iou must be in (0, 1] (0 would match boxes that do not '
                         f'overlap at all), got {self.match_iou!r}')
        lost = self.lost_track_frames
        if isinstance(lost, bool) or not isinstance(lost, int) or \
                not 0 <= lost <= MAX_LOST_TRACK_FRAMES:
            found.append(f'lost_track_frames must be an integer in [0, {MAX_LOST_TRACK_FRAMES}]'
                         f' (frames), got {lost!r}')
        if found:
            return found
        if self.low_threshold > self.track_threshold:
            found.append(f'low_threshold ({self.low_threshold}) must not exceed track_threshold '
                         f'({self.track_threshold}): the second stage takes the detections '
                         'between the two')
        if self.new_track_threshold < self.track_threshold:
            found.append(f'new_track_threshold ({self.new_track_threshold}) must not be below '
                         f'track_threshold ({self.track_threshold}): new tracks start only '
                         'from detections of the first stage')
        return found
