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
The tracker's parts against outside oracles.

Box IoU against py-motmetrics' ``boxiou``; the assignment against a brute force over every
one-to-one matching; the Kalman filter against the motion it observes.
"""

import itertools

from edge_perception.tracking.kalman import BoxKalman, cxcywh_to_xyxy, xyxy_to_cxcywh
from edge_perception.tracking.matching import box_iou, match_by_iou
import motmetrics as mm
import numpy as np
import pytest


def random_boxes(rng, n):
    xy = rng.uniform(0, 200, (n, 2))
    return np.concatenate([xy, xy + rng.uniform(5, 80, (n, 2))], axis=1)


def test_box_iou_matches_motmetrics():
    rng = np.random.default_rng(1)
    a, b = random_boxes(rng, 40), random_boxes(rng, 30)
    to_xywh = np.concatenate([a[:, :2], a[:, 2:] - a[:, :2]], axis=1)
    to_xywh_b = np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)
    oracle = mm.distances.boxiou(to_xywh[:, None], to_xywh_b[None, :])
    ours = box_iou(a, b)
    assert (ours > 0).sum() > 20          # the scene has overlaps to compare
    np.testing.assert_allclose(ours, oracle, atol=1e-9)


def brute_force(iou, min_iou):
    """Best total of IoU - min_iou over every one-to-one matching of pairs >= min_iou."""
    n, m = iou.shape
    best = 0.0
    for k in range(1, min(n, m) + 1):
        for rows in itertools.combinations(range(n), k):
            for cols in itertools.permutations(range(m), k):
                values = iou[list(rows), list(cols)]
                if (values >= min_iou).all():
                    best = max(best, float((values - min_iou).sum()))
    return best


@pytest.mark.parametrize('seed', range(12))
def test_assignment_is_the_best_matching(seed):
    rng = np.random.default_rng(seed)
    tracks = random_boxes(rng, int(rng.integers(1, 5)))
    detections = np.concatenate([tracks + rng.normal(0, 15, tracks.shape),
                                 random_boxes(rng, int(rng.integers(0, 3)))])
    detections[:, 2:] = np.maximum(detections[:, 2:], detections[:, :2] + 1)
    pairs, lost, fresh = match_by_iou(tracks, detections, 0.2)
    iou = box_iou(tracks, detections)
    assert (iou[pairs[:, 0], pairs[:, 1]] >= 0.2).all()
    assert float((iou[pairs[:, 0], pairs[:, 1]] - 0.2).sum()) == pytest.approx(
        brute_force(iou, 0.2))
    assert sorted(list(pairs[:, 0]) + list(lost)) == list(range(len(tracks)))
    assert sorted(list(pairs[:, 1]) + list(fresh)) == list(range(len(detections)))


@pytest.mark.parametrize('seed', range(6))
def test_assign_gives_what_scipy_gives_and_the_best_total(seed):
    # sparse IoU matrices as tracking makes them (most pairs 0, a few candidates, some at
    # exactly the least IoU): assign's pairs are scipy's linear_sum_assignment's on the
    # gain matrix (its one-to-one shortcut included) and their total is the brute force's
    from edge_perception.tracking.matching import assign
    from scipy.optimize import linear_sum_assignment
    rng = np.random.default_rng(seed)
    shortcut = 0
    for _ in range(150):
        n, m = (int(v) for v in rng.integers(1, 6, 2))
        iou = np.where(rng.random((n, m)) < 0.3, rng.uniform(0.2, 1.0, (n, m)), 0.0)
        iou[rng.random((n, m)) < 0.05] = 0.2
        gain = np.where(iou >= 0.2, iou - 0.2, 0.0)
        rows, cols = linear_sum_assignment(gain, maximize=True)
        keep = iou[rows, cols] >= 0.2
        got = assign(iou, 0.2)
        assert got == (rows[keep].tolist(), cols[keep].tolist()), iou
        assert float((iou[got[0], got[1]] - 0.2).sum()) == pytest.approx(
            brute_force(iou, 0.2))
        one_to_one = ((iou >= 0.2).sum(axis=0) <= 1).all() and \
            ((iou >= 0.2).sum(axis=1) <= 1).all()
        shortcut += bool(one_to_one and (iou >= 0.2).any())
    assert shortcut > 10                  # the shortcut's case was among them


def test_two_weak_pairs_do_not_displace_one_strong_pair(monkeypatch):
    # track 0 fits detection 0 well (IoU 0.9); track 1 fits it only poorly, and track 0 fits
    # detection 1 poorly: the best is one strong pair, not two weak ones (0.7 > 0.05 + 0.1)
    iou = np.array([[0.9, 0.25], [0.3, 0.0]])
    assert brute_force(iou, 0.2) == pytest.approx(0.7)
    from edge_perception.tracking import matching
    monkeypatch.setattr(matching, 'box_iou', lambda a, b: iou)
    two = np.zeros((2, 4))
    pairs, lost, fresh = match_by_iou(two, two, 0.2)
    assert pairs.tolist() == [[0, 0]] and lost.tolist() == [1] and fresh.tolist() == [1]


def test_empty_sides_match_nothing():
    pairs, lost, fresh = match_by_iou(np.zeros((0, 4)), np.array([[0, 0, 1, 1]]), 0.2)
    assert pairs.shape == (0, 2) and lost.size == 0 and fresh.tolist() == [0]
    pairs, lost, fresh = match_by_iou(np.array([[0, 0, 1, 1]]), np.zeros((0, 4)), 0.2)
    assert pairs.shape == (0, 2) and lost.tolist() == [0] and fresh.size == 0


def test_box_conversions_round_trip():
    rng = np.random.default_rng(3)
    boxes = random_boxes(rng, 10)
    np.testing.assert_allclose(cxcywh_to_xyxy(xyxy_to_cxcywh(boxes)), boxes, atol=1e-9)


def test_kalman_learns_a_steady_motion_and_predicts_across_a_gap():
    # two boxes: one moving (+6, -3) px a frame and growing 1 px a frame, one at rest;
    # observed 15 frames with 1 px noise, then predicted 8 frames ahead
    rng = np.random.default_rng(0)
    kf = BoxKalman()
    start = np.array([[100.0, 200.0, 50.0, 100.0], [400.0, 300.0, 80.0, 160.0]])
    velocity = np.array([[6.0, -3.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    state = kf.initiate(start)
    for f in range(1, 15):
        kf.predict(state)
        kf.update(state, start + f * velocity + rng.normal(0, 1, (2, 4)))
    kf.predict(state, steps=8)
    mean, cov = BoxKalman.mean(state), BoxKalman.covariance(state)
    truth = start + 22 * velocity
    np.testing.assert_allclose(mean[:, :4], truth, atol=6.0)
    np.testing.assert_allclose(mean[:, 4:], velocity, atol=0.6)
    # covariances stay symmetric positive definite and grow while only predicting
    np.testing.assert_allclose(cov, np.transpose(cov, (0, 2, 1)), atol=1e-9)
    assert (np.linalg.eigvalsh(cov) > 0).all()
    wider = BoxKalman.covariance(kf.predict(state.copy(), steps=3))
    assert (np.diagonal(wider, axis1=1, axis2=2) > np.diagonal(cov, axis1=1, axis2=2)).all()


def test_kalman_update_pulls_toward_the_measurement_by_the_noise_ratio():
    # one coordinate: prior variance p, measurement variance r -> the textbook gain p/(p+r)
    kf = BoxKalman()
    state = kf.initiate(np.array([[100.0, 100.0, 40.0, 80.0]]))
    p = BoxKalman.covariance(state)[0, 0, 0]
    r = (kf.position_weight * 40.0) ** 2
    moved = BoxKalman.mean(kf.update(state, np.array([[110.0, 100.0, 40.0, 80.0]])))
    assert moved[0, 0] == pytest.approx(100.0 + 10.0 * p / (p + r))
    assert moved[0, 1] == pytest.approx(100.0)


class Textbook:
    """
    One track's Kalman filter as the textbook writes it: full 8x8 matrices, numpy.linalg.

    The model is SORT's and ByteTrack's: constant velocity, F = [[I, I], [0, I]], H = [I, 0];
    process noise std per frame position_weight x the box size for the positions and
    velocity_weight x it for the velocities (width for the x terms, height for the y terms,
    from the box before the step), measurement noise std position_weight x the predicted
    box's size; the initial std is twice (positions) and ten times (velocities) those;
    widths and heights never below 1e-3 px.
    """

    def __init__(self, box, position_weight, velocity_weight):
        self.pw, self.vw = position_weight, velocity_weight
        self.f = np.eye(8)
        self.f[:4, 4:] = np.eye(4)
        self.h = np.eye(4, 8)
        self.x = np.concatenate([box, np.zeros(4)])
        size = self._size()
        self.p = np.diag(np.concatenate([(2 * self.pw * size) ** 2,
                                         (10 * self.vw * size) ** 2]))

    def _size(self):
        w, h = np.maximum(self.x[2:4], 1e-3)
        return np.array([w, h, w, h])

    def predict(self):
        size = self._size()
        q = np.diag(np.concatenate([(self.pw * size) ** 2, (self.vw * size) ** 2]))
        self.x = self.f @ self.x
        self.p = self.f @ self.p @ self.f.T + q
        self.x[2:4] = np.maximum(self.x[2:4], 1e-3)

    def update(self, z):
        r = np.diag((self.pw * self._size()) ** 2)
        s = self.h @ self.p @ self.h.T + r
        k = self.p @ self.h.T @ np.linalg.inv(s)
        self.x = self.x + k @ (z - self.h @ self.x)
        self.p = (np.eye(8) - k @ self.h) @ self.p
        self.x[2:4] = np.maximum(self.x[2:4], 1e-3)


@pytest.mark.parametrize('seed,weights', [(0, (1 / 20, 1 / 160)), (1, (1 / 20, 1 / 160)),
                                          (2, (1 / 8, 1 / 40))])
def test_batched_kalman_equals_the_textbook_filter_per_track(seed, weights):
    # 12 tracks on random walks: each frame every track is predicted (1 to 3 steps at once,
    # a gap) and a random subset is measured; the batched filter on its compact state must
    # give each track's textbook mean and covariance, and leave the unmeasured ones alone
    rng = np.random.default_rng(seed)
    n = 12
    boxes = np.concatenate([rng.uniform(0, 600, (n, 2)), rng.uniform(80, 200, (n, 2))],
                           axis=1)
    # positions move a few px a frame, sizes change slowly (they stay positive)
    velocity = np.concatenate([rng.normal(0, 4, (n, 2)), rng.normal(0, 0.4, (n, 2))], axis=1)
    boxes[0, 2], velocity[0, 2] = 0.0, 1.0              # a zero width at first: the floor
    kf = BoxKalman(*weights)
    state = kf.initiate(boxes)
    reference = [Textbook(b, *weights) for b in boxes]
    for frame in range(40):
        steps = int(rng.integers(1, 4))
        kf.predict(state, steps)
        for track in reference:
            for _ in range(steps):
                track.predict()
        measured = np.flatnonzero(rng.random(n) < 0.7)
        rng.shuffle(measured)                           # any order of tracks
        boxes = boxes + steps * velocity
        z = boxes[measured] + rng.normal(0, 2, (len(measured), 4))
        before = BoxKalman.mean(state), BoxKalman.covariance(state)
        kf.update(state, z, measured.tolist())
        for i, k in enumerate(measured):
            reference[k].update(z[i])
        others = np.setdiff1d(np.arange(n), measured)
        np.testing.assert_array_equal(BoxKalman.mean(state)[others], before[0][others])
        np.testing.assert_array_equal(BoxKalman.covariance(state)[others], before[1][others])
        np.testing.assert_allclose(BoxKalman.mean(state), [t.x for t in reference],
                                   rtol=1e-11, atol=1e-9)
        np.testing.assert_allclose(BoxKalman.covariance(state), [t.p for t in reference],
                                   rtol=1e-9, atol=1e-9)
    # the velocities were learnt: the comparison covered a filter that does something
    np.testing.assert_allclose(BoxKalman.mean(state)[1:, 4:], velocity[1:], atol=1.5)
