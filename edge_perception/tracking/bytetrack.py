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

The work per frame is batched for a few dozen objects, where each numpy call costs more than
its arithmetic: all tracks' filters are one array (``kalman.BoxKalman``); one IoU matrix of
every track with every detection serves the three stages, whose candidate pairs are sorted out
of it in one pass; a stage whose candidates are one-to-one takes them without the Hungarian
algorithm (``matching.assign`` proves the result the same); the bookkeeping is plain Python.
"""

from typing import Callable, Dict, List, Optional, Set, Tuple

import numpy as np

from .kalman import BoxKalman, cxcywh_to_xyxy, measured_boxes, MIN_SIZE, POS
from .matching import assign, box_iou, corner_iou
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
    """One tracked object: its filter state and bookkeeping (a snapshot, for reading)."""

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
        """Return the filter's box, x1, y1, x2, y2."""
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
        self._thresholds_of = (None, 0.0, 0.0, 0.0)
        self.reset()

    def reset(self) -> None:
        """Forget every track and the frame index (a new sequence); ids are not reused."""
        # track k (in the order tracks started) has the filter state _state[:, :, k] and the
        # k-th entry of each list
        self._state = np.zeros((6, 2, 0, 2))
        self._ids: List[int] = []       # 0 until confirmed
        self._first: List[int] = []     # frame index it started in
        self._last: List[int] = []      # frame index of its last matched detection
        self._class: List[int] = []
        self._score: List[float] = []
        self._frame: Optional[int] = None

    @property
    def tracks(self) -> List[Track]:
        """Return the tracks alive now (followed, lost and not yet confirmed): snapshots."""
        means = BoxKalman.mean(self._state)
        covs = BoxKalman.covariance(self._state)
        out = []
        for k, track_id in enumerate(self._ids):
            t = Track(means[k], covs[k], self._first[k], self._class[k], self._score[k])
            t.track_id, t.confirmed = track_id, track_id != 0
            t.last_frame = self._last[k]
            t.lost = t.last_frame != self._frame
            out.append(t)
        return out

    @property
    def frame_index(self) -> Optional[int]:
        """Return the frame index of the last update (None after reset)."""
        return self._frame

    def update(self, detections: Detections, frame_index: int) -> Detections:
        """Advance to ``frame_index`` (greater than the last one) with this frame's detections."""
        frame_index = int(frame_index)
        previous = self._frame
        if previous is not None and frame_index <= previous:
            raise ValueError(
                f'frame_index {frame_index} after {previous}: frames must come in '
                'increasing order (reset() starts a new sequence)')
        first = previous is None
        self._frame = frame_index
        s = self.settings
        # a track may miss lost_track_frames frames (by frame index: dropped frames count)
        # and still match in the next one
        oldest = frame_index - 1 - s.lost_track_frames
        if self._last and min(self._last) < oldest:
            self._keep([k for k, last in enumerate(self._last) if last >= oldest])
        if self._ids and not first:
            self._predict(frame_index - previous)

        scores = detections.confidence.tolist()
        high_from, low_from, new_from = self._thresholds()
        high = [d for d, v in enumerate(scores) if v >= high_from]
        low = [d for d, v in enumerate(scores) if low_from <= v < high_from]
        ids = self._ids
        matched: Dict[int, int] = {}    # detection row -> track
        if ids and (high or low):
            self._associate(detections.xyxy, high, low, previous, matched)
            if matched:
                self._correct(matched, detections, scores, frame_index)
        out = {d: ids[k] for d, k in matched.items()}      # detection row -> track id
        if 0 in ids:                    # new tracks of the last frame not confirmed now
            self._keep([k for k, i in enumerate(ids) if i])

        # a left-over detection on the box of a matched one is the same object seen as
        # another class (NMS is per class): it starts no track
        left = [d for d in high if d not in matched and scores[d] >= new_from]
        if left and matched:
            boxes = detections.xyxy
            overlap = box_iou(boxes[left], boxes[sorted(matched)]).max(axis=1)
            left = [d for d, o in zip(left, overlap.tolist()) if o < DUPLICATE_IOU]
        if left:
            self._start(detections, left, frame_index, confirm=first)
            if first:
                out.update(zip(left, self._ids[-len(left):]))
        rows = sorted(out)
        result = detections[rows]
        result.tracker_id = np.array([out[r] for r in rows], np.int64)
        return result

    def _predict(self, steps: int) -> None:
        """Move every track's filter ``steps`` frames on."""
        # beyond lost_track_frames + 1 steps a track is gone before it could match again
        self._kalman.predict(self._state, min(steps, self.settings.lost_track_frames + 1))

    def _thresholds(self) -> Tuple[float, float, float]:
        """
        Return the track, low and new-track thresholds rounded to float32, as Python floats.

        Scores are float32: a score compared with the threshold rounded to float32 takes the
        side numpy takes comparing a float32 array with a Python float (in float32: numpy
        1.x by value-based casting, 2.x by NEP 50), so a score printed as 0.7 is at a
        threshold of 0.7 (0.7 is 0.699999988 in float32) on every numpy.
        """
        s = self.settings
        if self._thresholds_of[0] is not s:
            self._thresholds_of = (s,) + tuple(float(np.float32(v)) for v in (
                s.track_threshold, s.low_threshold, s.new_track_threshold))
        return self._thresholds_of[1:]

    def _associate(self, boxes: np.ndarray, high: List[int], low: List[int],
                   previous: int, matched: Dict[int, int]) -> None:
        """
        Run ByteTrack's three matching stages, filling ``matched`` (detection row -> track).

        1. the high detections with the confirmed tracks (``match_iou``); 2. the low ones
        with the confirmed tracks left that were followed until the last frame
        (``SECOND_STAGE_IOU``); 3. the high ones left with the new tracks (``CONFIRM_IOU``).
        Each stage is the optimal assignment on its tracks x detections sub-matrix of one
        IoU matrix; the candidate pairs (IoU at least the stage's) of all three are sorted
        out of that matrix at once, and a stage whose candidates are one-to-one takes them
        as they are (``matching.assign`` proves that is the optimum).
        """
        s = self.settings
        ids, last = self._ids, self._last
        # the tracks' boxes as cxcywh_to_xyxy makes them, and the detections' corners
        centre = self._state[POS, 0]
        half = np.maximum(self._state[POS, 1], MIN_SIZE)
        half /= 2
        iou = corner_iou(centre - half, centre + half, boxes)
        tracks, rows = np.nonzero(iou >= min(s.match_iou, SECOND_STAGE_IOU, CONFIRM_IOU))
        if not len(tracks):
            return
        kind = [0] * len(boxes)         # 1: high, 2: low
        for d in high:
            kind[d] = 1
        for d in low:
            kind[d] = 2
        first, second, third = [], [], []
        for t, d, v in zip(tracks.tolist(), rows.tolist(), iou[tracks, rows].tolist()):
            k = kind[d]
            if not k:
                continue
            if ids[t]:
                if k == 1:
                    if v >= s.match_iou:
                        first.append((t, d, v))
                elif v >= SECOND_STAGE_IOU and last[t] == previous:
                    second.append((t, d, v))
            elif k == 1 and v >= CONFIRM_IOU:
                third.append((t, d, v))
        pool = [k for k, i in enumerate(ids) if i]
        taken = _stage(first, s.match_iou, iou, lambda: pool, lambda: high, matched)
        # second stage: low-score detections continue tracks followed until the last frame
        second = [c for c in second if c[0] not in taken]
        _stage(second, SECOND_STAGE_IOU, iou,
               lambda: [k for k in pool if k not in taken and last[k] == previous],
               lambda: low, matched)
        # new tracks of the last frame are confirmed by a high detection, or dropped
        third = [c for c in third if c[1] not in matched]
        _stage(third, CONFIRM_IOU, iou, lambda: [k for k, i in enumerate(ids) if not i],
               lambda: [d for d in high if d not in matched], matched)

    def _keep(self, tracks: List[int]) -> None:
        """Keep only these tracks (increasing order)."""
        self._state = np.take(self._state, tracks, axis=2)
        for name in ('_ids', '_first', '_last', '_class', '_score'):
            values = getattr(self, name)
            setattr(self, name, [values[k] for k in tracks])

    def _correct(self, matched: Dict[int, int], detections: Detections, scores: List[float],
                 frame_index: int) -> None:
        """Update the matched tracks' filters, confirm the new ones (in detection order)."""
        rows = sorted(matched)
        tracks = [matched[r] for r in rows]
        self._kalman.update(self._state, measured_boxes(detections.xyxy[rows]), tracks)
        classes = detections.class_id.tolist()
        for k, r in zip(tracks, rows):
            self._last[k] = frame_index
            self._class[k] = classes[r]
            self._score[k] = scores[r]
            if not self._ids[k]:
                self._ids[k] = self._next_id
                self._next_id += 1

    def _start(self, detections: Detections, rows: List[int], frame_index: int, confirm: bool
               ) -> None:
        """Start a track on each of these detection rows (confirmed at once: ``confirm``)."""
        n = len(rows)
        self._state = np.concatenate(
            [self._state, self._kalman.initiate(measured_boxes(detections.xyxy[rows]))], axis=2)
        if confirm:
            self._ids += list(range(self._next_id, self._next_id + n))
            self._next_id += n
        else:
            self._ids += [0] * n
        self._first += [frame_index] * n
        self._last += [frame_index] * n
        self._class += detections.class_id[rows].tolist()
        self._score += detections.confidence[rows].tolist()


def _stage(candidates: List[Tuple[int, int, float]], min_iou: float, iou: np.ndarray,
           tracks: Callable[[], List[int]], rows: Callable[[], List[int]],
           matched: Dict[int, int]) -> Set[int]:
    """
    One matching stage: its candidate (track, row, IoU) triples -> ``matched``; tracks taken.

    One-to-one candidates, each above ``min_iou``, are the optimal assignment (see
    ``matching.assign``); otherwise the Hungarian algorithm runs on the ``tracks()`` x
    ``rows()`` sub-matrix of ``iou``: the stage's whole matrix, in its order, as before.
    """
    if not candidates:
        return set()
    picked_tracks = {t for t, _, _ in candidates}
    if len(picked_tracks) == len(candidates) == len({d for _, d, _ in candidates}) and \
            min(v for _, _, v in candidates) > min_iou:
        pairs = [(t, d) for t, d, _ in candidates]
    else:
        tracks, rows = tracks(), rows()
        picked_tracks, picked_rows = assign(iou[tracks][:, rows], min_iou, forced=False)
        pairs = [(tracks[t], rows[d]) for t, d in zip(picked_tracks, picked_rows)]
    for t, d in pairs:
        matched[d] = t
    return {t for t, _ in pairs}
