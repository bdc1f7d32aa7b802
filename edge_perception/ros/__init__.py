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
ROS 2 layer of edge_perception: managed task nodes and what they are made of.

One concern per module: ``parameters`` (names, defaults, descriptors, checks), ``qos``,
``diagnostics`` (counters and /diagnostics), ``node_base`` (the lifecycle base class:
transitions, parameter callback, wiring), ``node_parameters`` (declaration, checked changes),
``model_contexts`` (one model context per worker), ``frame_intake`` (cameras, subscriptions,
counting), ``result_publishing`` and ``status_publishing`` (outputs; label_info and
/diagnostics), ``worker_faults`` (bad frames, errors, timeouts), ``result_stages`` (the tracker
and depth stages a node's parameters ask for), ``startup`` (StartupError, run),
``outputs`` (a task's publishers per camera), ``stages`` (per-frame result post-processing),
``messages`` and ``tros`` (message building), ``image_conversions`` and ``frames`` (input),
``tasks`` (which node serves which task), ``launch_params`` (launch-file logic), ``container``;
one short file per node: ``detector_node``, ``segmenter_node``, ``pose_node``,
``classifier_node``.

Importing this package does not import rclpy; ``tasks``, ``launch_params`` and ``stages`` need
no ROS at all, ``image_conversions`` and ``messages`` the message packages only.
"""
