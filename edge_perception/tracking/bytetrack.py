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
ByteTrack, written from its paper for this package.

Zhang et al., "ByteTrack: Multi-Object Tracking by Associating Every Detection Box", ECCV 2022.

Per frame: every track's box is predicted by a Kalman filter (one step per frame index, so a
dropped frame is a gap, not a reset); detections at or above ``track_threshold`` are matched
to all tracks (followed and lost) by IoU with the Hungarian algorithm; the low-score
detections (``low_threshold`` to ``track_threshold``) then continue the followed tracks left
over, which keeps an occluded object, whose score drops, on its track. Tracks that still match
nothing are lost and kept ``lost_track_frames`` frames. A high detection left over starts a
track when it scores ``new_track_threshold``; the track is confirmed, and given its id, when
it matches again in the next frame (at once in the first frame of a sequence). Association
ignores the class, so a person who falls (``Normal`` -> ``Fall``) keeps one id.

Differences from the reference code: IoU is not weighted by the score; lost tracks are not
removed for overlapping followed ones; a detection that overlaps a matched one by IoU >= 0.7
(the same object under another class: NMS is per class) starts no track; ids are given at
confirmation, so they are consecutive, and are never reused by one tracker. The one-to-one
matching optimises what the reference's does (scipy's ``linear_sum_assignment``, not ``lap``).
"""

from dataclasses import replace
from typing import List, Optional

import numpy as np

from .kalman import BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh
from .matching import box_iou, match_by_iou
from .settings import TrackerSettings
from ..results import Detections

__all__ = ['ByteTracker', 'Track']

# from the paper and its reference code: the second (low-score) stage needs IoU 0.5, an
# unconfirmed track is confirmed by a detection with IoU 0.3
SECOND_STAGE_IOU = 0.5
CONFIRM_IOU = 0.3
# a detection overlapping a matched one this much is a duplicate (another class, same object)
DUPLICATE_IOU = 0.7


class Track:
    """One tracked object: its filter state and bookkeeping (read-only for callers)."""

    __slots__ = ('mean', 'cov', 'track_id', 'confirmed', 'lost', 'last_frame', 'first_frame',
                 'class_id', 'score')

    def __init__(self, mean, cov, frame_index: int, class_id: int, score: float):
        """Start a track (not confirmed) from a filter state."""
        self.mean = mean
        self.cov = cov
        self.track_id = 0               # 0 until confirmed
        self.confirmed = False
        self.lost = False
        self.first_frame = frame_index
        self.last_frame = frame_index   # frame index of the last matched detection
        self.class_id = class_id
        self.score = score

    @property
    def xyxy(self) -> np.ndarray:
        """Return the filter's current box, x1, y1, x2, y2."""
        return cxcywh_to_xyxy(self.mean[:4])[0]

    def __repr__(self) -> str:
        """Id, state, box and the last frame it matched."""
        state = 'lost' if self.lost else ('tracked' if self.confirmed else 'new')
        box = ' '.join(f'{v:.0f}' for v in self.xyxy)
        return f'Track({self.track_id} {state} [{box}] last {self.last_frame})'


class ByteTracker:
    """
    Multi-object tracker: ``update(detections, frame_index)`` per frame, in frame order.

    Returns the detections on confirmed tracks (input order, masks and keypoints kept) with
    ``tracker_id`` set; the others are left out, as in ByteTrack and supervision.
    """

    def __init__(self, settings: Optional[TrackerSettings] = None):
        """Track with ``settings`` (default: ``TrackerSettings()``)."""
        self.settings = TrackerSettings() if settings is None else settings
        if not isinstance(self.settings, TrackerSettings):
            raise TypeError(f'settings must be a TrackerSettings, got {type(settings).__name__}')
        self._kalman = BoxKalman()
        self._next_id = 1
        self.reset()

    def reset(self) -> None:
        """Forget every track and the frame index (a new sequence); ids are not reused."""
        self._tracks: List[Track] = []
        self._frame: Optional[int] = None

    @property
    def tracks(self) -> List[Track]:
        """Return the tracks alive now (followed, lost and not yet confirmed)."""
        return list(self._tracks)

    @property
    def frame_index(self) -> Optional[int]:
        """Return the frame index of the last update (None after reset)."""
        return self._frame

    def update(self, detections: Detections, frame_index: int) -> Detections:
        """Advance to ``frame_index`` (greater than the last one) with this frame's detections."""
        frame_index = int(frame_index)
        if self._frame is not None and frame_index <= self._frame:
            raise ValueError(
                f'frame_index {frame_index} after {self._frame}: frames must come in '
                'increasing order (reset() starts a new sequence)')
        first = self._frame is None
        steps = 0 if first else frame_index - self._frame
        self._frame = frame_index
        s = self.settings
        # a track may miss lost_track_frames frames (by frame index: dropped frames count)
        # and still match in the next one
        self._tracks = [t for t in self._tracks
                        if frame_index - t.last_frame - 1 <= s.lost_track_frames]
        self._predict(steps)

        scores = detections.confidence
        high = np.flatnonzero(scores >= s.track_threshold)
        low = np.flatnonzero((scores >= s.low_threshold) & (scores < s.track_threshold))
        boxes = detections.xyxy
        matched = {}                    # detection row -> track

        pool = [t for t in self._tracks if t.confirmed]
        pairs, rest, high_left = match_by_iou(self._boxes(pool), boxes[high], s.match_iou)
        for ti, di in pairs:
            matched[int(high[di])] = pool[ti]
        # second stage: low-score detections continue tracks followed until the last frame
        followed = [pool[i] for i in rest if not pool[i].lost]
        pairs, _, _ = match_by_iou(self._boxes(followed), boxes[low], SECOND_STAGE_IOU)
        for ti, di in pairs:
            matched[int(low[di])] = followed[ti]
        # new tracks of the last frame are confirmed by a high detection, or dropped
        high = high[high_left]
        fresh = [t for t in self._tracks if not t.confirmed]
        pairs, _, high_left = match_by_iou(self._boxes(fresh), boxes[high], CONFIRM_IOU)
        for ti, di in pairs:
            matched[int(high[di])] = fresh[ti]
        confirmed_ids = {id(t) for t in matched.values()}
        self._tracks = [t for t in self._tracks if t.confirmed or id(t) in confirmed_ids]

        self._correct(matched, detections, frame_index)
        for t in self._tracks:
            t.lost = t.last_frame != frame_index
        # a left-over detection on the box of a matched one is the same object seen as
        # another class (NMS is per class): it starts no track
        left = [int(i) for i in high[high_left] if scores[i] >= s.new_track_threshold]
        taken = np.array(sorted(matched), np.intp)
        if left and len(taken):
            overlap = box_iou(boxes[left], boxes[taken]).max(axis=1)
            left = [i for i, o in zip(left, overlap) if o < DUPLICATE_IOU]
        starts = left
        for row in starts:
            track = self._start(detections, row, frame_index, confirm=first)
            if track.confirmed:
                matched[row] = track
        rows = np.array(sorted(r for r, t in matched.items() if t.confirmed), np.intp)
        ids = np.array([matched[r].track_id for r in rows], np.int64)
        return replace(detections[rows], tracker_id=ids)

    def _boxes(self, tracks: List[Track]) -> np.ndarray:
        if not tracks:
            return np.zeros((0, 4))
        return cxcywh_to_xyxy(np.stack([t.mean[:4] for t in tracks]))

    def _predict(self, steps: int) -> None:
        if not self._tracks or steps <= 0:
            return
        # beyond lost_track_frames + 1 steps a track is gone before it could match again
        steps = min(steps, self.settings.lost_track_frames + 1)
        mean, cov = self._kalman.predict(np.stack([t.mean for t in self._tracks]),
                                         np.stack([t.cov for t in self._tracks]), steps)
        for t, m, c in zip(self._tracks, mean, cov):
            t.mean, t.cov = m, c

    def _correct(self, matched: dict, detections: Detections, frame_index: int) -> None:
        if not matched:
            return
        rows = sorted(matched)
        tracks = [matched[r] for r in rows]
        mean, cov = self._kalman.update(np.stack([t.mean for t in tracks]),
                                        np.stack([t.cov for t in tracks]),
                                        xyxy_to_cxcywh(detections.xyxy[rows]))
        for t, m, c, r in zip(tracks, mean, cov, rows):
            t.mean, t.cov = m, c
            t.last_frame = frame_index
            t.lost = False
            t.class_id = int(detections.class_id[r])
            t.score = float(detections.confidence[r])
            if not t.confirmed:
                self._confirm(t)

    def _confirm(self, track: Track) -> None:
        track.confirmed = True
        track.track_id = self._next_id
        self._next_id += 1

    def _start(self, detections: Detections, row: int, frame_index: int, confirm: bool
               ) -> Track:
        mean, cov = self._kalman.initiate(xyxy_to_cxcywh(detections.xyxy[row:row + 1]))
        track = Track(mean[0], cov[0], frame_index, int(detections.class_id[row]),
                      float(detections.confidence[row]))
        if confirm:
            self._confirm(track)
        self._tracks.append(track)
        return track
