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
ByteTracker's behaviour on hand-made scenes: ids, the two stages, gaps, loss, reset, order.

The expected ids come from the scenes themselves (which object is where), never from the
tracker's own tables.
"""

from dataclasses import replace

from edge_perception.decoders.oriented import OrientedDetections
from edge_perception.results import Detections
from edge_perception.tracking import ByteTracker, TrackerSettings
import numpy as np
import pytest

NAMES = ('Normal', 'Fall')


def box(x, y=100.0, w=60.0, h=120.0):
    """Return an x1, y1, x2, y2 box with its left top corner at x, y."""
    return [x, y, x + w, y + h]


def frame(boxes, scores=None, classes=None, **extra):
    """Return the Detections of one frame."""
    n = len(boxes)
    scores = [0.9] * n if scores is None else scores
    classes = [0] * n if classes is None else classes
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), scores, classes, NAMES,
                      **extra)


def ids_by_x(out):
    """Tracker ids of an update's output, ordered left to right."""
    return [int(i) for _, i in sorted(zip(out.xyxy[:, 0], out.tracker_id))]


def test_first_frame_tracks_get_ids_at_once_and_keep_them():
    tracker = ByteTracker()
    first = tracker.update(frame([box(10), box(300)]), 0)
    assert first.tracker_id.dtype == np.int64
    assert sorted(first.tracker_id) == [1, 2]
    left, right = ids_by_x(first)
    for f in range(1, 20):
        out = tracker.update(frame([box(10 + 4 * f), box(300 - 3 * f)]), f)
        assert ids_by_x(out) == [left, right]


def test_a_new_object_is_reported_from_its_second_frame_with_a_new_id():
    tracker = ByteTracker()
    tracker.update(frame([box(10)]), 0)
    out = tracker.update(frame([box(12), box(400)]), 1)
    assert list(out.tracker_id) == [1]            # the newcomer is not confirmed yet
    out = tracker.update(frame([box(14), box(402)]), 2)
    assert ids_by_x(out) == [1, 2]


def test_a_detection_below_the_new_track_threshold_starts_nothing():
    tracker = ByteTracker(TrackerSettings(track_threshold=0.5, new_track_threshold=0.8))
    tracker.update(frame([box(10)]), 0)
    for f in range(1, 5):
        out = tracker.update(frame([box(10), box(400)], scores=[0.9, 0.7]), f)
        assert list(out.tracker_id) == [1]
    assert len(tracker.tracks) == 1


def test_low_score_detections_continue_a_track_second_stage():
    # an object whose score drops (occlusion) keeps its track through the low-score stage
    tracker = ByteTracker(TrackerSettings(track_threshold=0.5, low_threshold=0.1))
    scores = [0.9] * 5 + [0.3] * 5 + [0.9] * 5
    got = []
    for f, s in enumerate(scores):
        out = tracker.update(frame([box(10 + 5 * f)], scores=[s]), f)
        got.append(list(out.tracker_id))
    assert got == [[1]] * 15


def test_without_the_second_stage_the_same_object_is_lost_while_its_score_is_low():
    # the same scene with low_threshold = track_threshold (no second stage): not reported
    tracker = ByteTracker(TrackerSettings(track_threshold=0.5, low_threshold=0.5))
    scores = [0.9] * 5 + [0.3] * 5 + [0.9] * 5
    got = [list(tracker.update(frame([box(10 + 5 * f)], scores=[s]), f).tracker_id)
           for f, s in enumerate(scores)]
    assert got[5:10] == [[]] * 5 and got[10:] == [[1]] * 5


def test_a_dropped_frame_is_a_gap_not_a_reset():
    # the object moves 8 px a frame; frames 10..15 never reach the tracker
    tracker = ByteTracker()
    for f in list(range(10)) + list(range(16, 25)):
        out = tracker.update(frame([box(10 + 8 * f)]), f)
        assert list(out.tracker_id) == [1], f
    assert tracker.frame_index == 24


def test_a_fast_object_is_found_after_a_gap_by_its_predicted_motion():
    # 25 px a frame for a 60 px box: after 6 dropped frames it is 175 px on, far beyond any
    # overlap with where it was last seen; only the prediction brings the track there
    tracker = ByteTracker()
    for f in list(range(10)) + [16, 17]:
        out = tracker.update(frame([box(10 + 25 * f)]), f)
        assert list(out.tracker_id) == [1], f


def test_a_fast_object_after_a_gap_is_a_new_track_without_prediction(monkeypatch):
    # bite check of the test above: with prediction disabled the same scene gives a new id
    tracker = ByteTracker()
    monkeypatch.setattr(tracker, '_predict', lambda steps: None)
    got = [list(tracker.update(frame([box(10 + 4 * f if f < 10 else 10 + 25 * f)]), f)
                .tracker_id) for f in list(range(10)) + [16, 17]]
    assert got[-1] == [2]


@pytest.mark.parametrize('lost,gap,same', [(5, 6, True), (5, 7, False), (0, 1, True),
                                           (0, 2, False), (30, 31, True), (30, 32, False)])
def test_a_lost_track_is_kept_lost_track_frames_counted_by_frame_index(lost, gap, same):
    # last seen at frame 9; comes back at frame 9 + gap, having missed gap - 1 frames (that
    # had no detection of it, or never arrived: both count)
    tracker = ByteTracker(TrackerSettings(lost_track_frames=lost))
    for f in range(10):
        tracker.update(frame([box(100)]), f)
    if gap > 2:
        tracker.update(frame([]), 9 + gap // 2)       # a frame that came, without it
    out = tracker.update(frame([box(100)]), 9 + gap)
    out = tracker.update(frame([box(100)]), 10 + gap)
    assert list(out.tracker_id) == ([1] if same else [2])


def test_frames_must_come_in_increasing_order():
    tracker = ByteTracker()
    tracker.update(frame([box(10)]), 5)
    for bad in (5, 4):
        with pytest.raises(ValueError, match='increasing order'):
            tracker.update(frame([box(10)]), bad)


def test_reset_forgets_tracks_and_the_frame_index_but_never_reuses_ids():
    tracker = ByteTracker()
    for f in range(3):
        tracker.update(frame([box(10), box(300)]), 100 + f)
    tracker.reset()
    assert tracker.tracks == [] and tracker.frame_index is None
    out = tracker.update(frame([box(10)]), 0)          # a new sequence may start anywhere
    assert list(out.tracker_id) == [3]


def test_a_class_change_keeps_the_id():
    # the cameraman falls: Normal then Fall, the same person
    tracker = ByteTracker()
    got = [list(tracker.update(frame([box(100)], classes=[int(f >= 5)]), f).tracker_id)
           for f in range(10)]
    assert got == [[1]] * 10
    assert tracker.tracks[0].class_id == 1


def test_the_same_object_seen_as_two_classes_starts_one_track():
    # per-class NMS keeps a Normal and a Fall box on one person: one track, not two
    tracker = ByteTracker()
    tracker.update(frame([box(100)]), 0)
    for f in range(1, 6):
        out = tracker.update(frame([box(100), box(102)], scores=[0.8, 0.7], classes=[0, 1]),
                             f)
        assert list(out.tracker_id) == [1]
    assert len(tracker.tracks) == 1


def iou(a, b):
    """Return the IoU of two x1 y1 x2 y2 boxes (for the scenes below)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return w * h / (area - w * h)


def test_a_detection_between_two_tracks_continues_the_one_it_fits_best():
    # two people side by side, then one detection that overlaps both (IoU > 0.2 with each)
    # but fits the right one better: the right one's track continues, the left one is lost
    left, right = box(100), box(140)
    tracker = ByteTracker()
    first = tracker.update(frame([left, right]), 0)
    right_id = int(first.tracker_id[1])
    seen = box(134)
    assert 0.2 < iou(seen, left) < iou(seen, right)
    out = tracker.update(frame([seen]), 1)
    assert list(out.tracker_id) == [right_id]
    # and mirrored, so the answer is not the order of the tracks
    tracker = ByteTracker()
    first = tracker.update(frame([left, right]), 0)
    seen = box(106)
    assert 0.2 < iou(seen, right) < iou(seen, left)
    assert list(tracker.update(frame([seen]), 1).tracker_id) == [int(first.tracker_id[0])]


def test_two_detections_on_one_track_continue_it_once():
    # one track, two detections overlapping it (IoU > 0.2 each, under the duplicate IoU
    # with each other): the better one continues the track, the other starts a new one
    tracker = ByteTracker()
    tracker.update(frame([box(100)]), 0)
    near, far = box(104), box(130)
    assert 0.2 < iou(far, box(100)) < iou(near, box(100)) and iou(near, far) < 0.7
    out = tracker.update(frame([near, far]), 1)
    assert list(out.tracker_id) == [1]
    np.testing.assert_array_equal(out.xyxy, np.array([near], np.float32))
    out = tracker.update(frame([box(104), box(130)]), 2)
    assert ids_by_x(out) == [1, 2]


def test_a_score_equal_to_the_threshold_is_at_the_threshold():
    # 0.7 is 0.699999988 in float32, below the Python float 0.7: a detection that scores
    # 0.7 is still at track_threshold 0.7 and new_track_threshold 0.7 and starts a track
    settings = TrackerSettings(track_threshold=0.7, new_track_threshold=0.7)
    tracker = ByteTracker(settings)
    out = tracker.update(frame([box(100)], scores=[0.7]), 0)
    assert list(out.tracker_id) == [1]
    tracker = ByteTracker(settings)
    assert len(tracker.update(frame([box(100)], scores=[0.6999]), 0)) == 0


def test_keypoints_masks_and_rows_stay_aligned_with_the_ids():
    tracker = ByteTracker()
    masks = np.zeros((3, 240, 640), bool)
    for i, x in enumerate((10, 200, 400)):
        masks[i, 100:220, x:x + 60] = True
    keypoints = np.arange(3 * 2 * 3, dtype=np.float32).reshape(3, 2, 3)
    tracker.update(frame([box(10), box(400)]), 0)
    # the middle one is new (not reported yet), the others are reported with their rows
    out = tracker.update(frame([box(10), box(200), box(400)], masks=masks,
                               keypoints=keypoints), 1)
    assert ids_by_x(out) == [1, 2]
    np.testing.assert_array_equal(out.keypoints, keypoints[[0, 2]])
    np.testing.assert_array_equal(out.masks.dense(), masks[[0, 2]])
    np.testing.assert_array_equal(out.xyxy, np.array([box(10), box(400)], np.float32))


def test_oriented_detections_keep_their_angles():
    tracker = ByteTracker()
    det = OrientedDetections(np.array([box(10), box(300)], np.float32), [0.9, 0.9], [0, 0],
                             NAMES, angle=[0.1, 0.2])
    out = tracker.update(det, 0)
    assert isinstance(out, OrientedDetections)
    np.testing.assert_allclose(out.angle, [0.1, 0.2])
    assert sorted(out.tracker_id) == [1, 2]


def test_detections_tracker_id_is_indexed_and_checked():
    det = frame([box(10), box(100), box(200)], tracker_id=[7, 8, 9])
    assert list(det[1:].tracker_id) == [8, 9]
    assert list(det[np.array([True, False, True])].tracker_id) == [7, 9]
    assert list(det[2].tracker_id) == [9]
    assert frame([box(10)]).tracker_id is None
    assert replace(det, tracker_id=None)[0].tracker_id is None
    with pytest.raises(ValueError, match='tracker_id has 2 rows, expected 3'):
        frame([box(10), box(100), box(200)], tracker_id=[1, 2])


def test_empty_frames_are_fine_and_only_the_first_frame_confirms_at_once():
    tracker = ByteTracker()
    assert len(tracker.update(frame([]), 0)) == 0
    assert len(tracker.update(frame([box(10)]), 1)) == 0     # not the first frame: new
    assert list(tracker.update(frame([box(11)]), 2).tracker_id) == [1]
    assert len(tracker.update(frame([]), 3)) == 0


@pytest.mark.parametrize('kwargs,reason', [
    ({'track_threshold': 1.5}, 'track_threshold must be a number in'),
    ({'low_threshold': -0.1}, 'low_threshold must be a number in'),
    ({'new_track_threshold': 'high'}, 'new_track_threshold must be a number in'),
    ({'track_threshold': True}, 'track_threshold must be a number in'),
    ({'match_iou': 0.0}, 'would match boxes that do not overlap'),
    ({'match_iou': 1.2}, 'match_iou must be in'),
    ({'lost_track_frames': -1}, 'lost_track_frames must be an integer'),
    ({'lost_track_frames': 2.5}, 'lost_track_frames must be an integer'),
    ({'lost_track_frames': True}, 'lost_track_frames must be an integer'),
    ({'low_threshold': 0.6, 'track_threshold': 0.5}, 'must not exceed track_threshold'),
    ({'new_track_threshold': 0.4, 'track_threshold': 0.5}, 'must not be below track_threshold'),
])
def test_bad_settings_are_refused_with_the_reason(kwargs, reason):
    with pytest.raises(ValueError, match=reason):
        TrackerSettings(**kwargs)


def test_default_settings_are_the_papers():
    s = TrackerSettings()
    assert s.problems() == []
    assert (s.track_threshold, s.low_threshold, s.new_track_threshold) == (0.5, 0.1, 0.6)
    assert (s.match_iou, s.lost_track_frames) == (0.2, 30)
    with pytest.raises(TypeError, match='TrackerSettings'):
        ByteTracker({'track_threshold': 0.5})


@pytest.mark.parametrize('track_id,label', [(None, 'Normal 0.90'), (7, '#7 Normal 0.90'),
                                            (1234, '#1234 Normal 0.90')])
def test_debug_images_label_tracked_detections_with_their_id(track_id, label):
    import cv2
    from edge_perception.drawing import annotate, class_color
    det = frame([box(100, y=200)], scores=[0.9])
    if track_id is not None:
        det = replace(det, tracker_id=[track_id])
    image = annotate(np.zeros((480, 640, 3), np.uint8), det)
    # the filled label strip above the box is as wide as OpenCV measures the label text
    scale, thickness = max(0.4, 480 / 1000), max(1, round(480 / 320))
    (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    top = 200 - th - base - 2
    # the strip's rows above the box's own outline: its right edge (past the text) is at
    # x1 + text width + 2
    strip = np.all(image[top:top + th] == class_color(0), axis=2).any(axis=0)
    assert np.flatnonzero(strip).min() == 100
    assert np.flatnonzero(strip).max() == 100 + tw + 2
