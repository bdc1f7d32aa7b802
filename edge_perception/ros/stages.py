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
Per-frame result stages: post-processing run in frame order, one frame at a time.

A stage sees every frame's result after inference and before the node publishes it, one
frame at a time and in frame order (per camera), so a stateful step such as a tracker
(``tracking``: ``tracker.update(detections, frame_index) -> track ids``) or depth lifting
(``depth``: boxes to 3D from a depth image) can be added without touching the node. A stage
may replace ``result.output`` or put what it computes into ``result.extras`` (the task's
outputs and any publishers the stage creates read it there).

Plug-in::

    class TrackIds(ResultStage):
        name = 'tracking'

        def configure(self, node):
            self.tracker = ByteTrack()                  # e.g. edge_perception.tracking

        def process(self, camera, frame_index, header, result):
            result.extras['track_ids'] = self.tracker.update(result.output, frame_index)

        def reset(self):
            self.tracker = ByteTrack()                  # deactivate: forget the tracks

    DetectorNode(stages=[TrackIds()])                   # or node.add_stage(...) before configure
"""

import dataclasses
from typing import Dict


@dataclasses.dataclass
class FrameResult:
    """What a worker hands to the in-order publisher for one frame."""

    image: object               # BGR array or YUV frame (Nv12Frame/Yuv422Frame) the model saw
    output: object              # Detections, SemanticMap or Classifications
    times: object               # StageTimes
    convert: float              # seconds
    started: object             # rclpy Time when the worker took the frame
    extras: Dict[str, object] = dataclasses.field(default_factory=dict)   # stages' results


class ResultStage:
    """
    One post-processing step over each frame's result; override what the stage needs.

    Called by the node: ``configure(node)`` when the node is configured (create publishers,
    read parameters), ``process(camera, frame_index, header, result)`` on the publisher
    thread for every frame in order (``camera``: the camera's output prefix, '' for the single
    ``image`` topic; ``frame_index`` counts that camera's received frames from 0 since
    activation, so a frame never inferred (dropped, late, bad, paused) is a gap in it),
    ``reset()`` on deactivate and ``close()`` on cleanup and shutdown.
    An exception in ``process`` counts the frame as bad (``bad_publish``); later frames go on.
    """

    name = 'stage'

    def configure(self, node) -> None:
        """Prepare the stage for ``node`` (its parameters and publishers)."""

    def process(self, camera: str, frame_index: int, header, result: FrameResult) -> None:
        """Process one frame's result in place (``result.output``, ``result.extras``)."""

    def reset(self) -> None:
        """Forget per-stream state (the node was deactivated)."""

    def close(self) -> None:
        """Free what the stage holds."""
