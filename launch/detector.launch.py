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
Start one detector node: `ros2 launch edge_perception detector.launch.py model:=<card>`.

Arguments: model (card or model file; default the demo card), image (the camera topic to
remap `image` to), namespace, backend, image_transport, use_debug_image, tracker (none or
bytetrack), use_depth, camera_info, depth, depth_camera_info (the topics to remap them to),
params_file (a config/params/detect.yaml-style file), use_sim_time and autostart (false: the
managed node waits for `ros2 lifecycle set /detector configure`, then `activate`). An argument
left empty takes the params_file's value, else the node's default; one given explicitly wins
over the file. What the node gets is decided by edge_perception.ros.launch_params.detector_node
(tested without ROS launch); this file only turns it into a LifecycleNode.
"""

from edge_perception.ros import launch_params
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode

ARGUMENTS = (
    ('model', '', "model card (.yaml) or model file ('' = the params_file's, else the demo "
     'card)'),
    ('image', 'image', 'image topic to subscribe to'),
    ('namespace', '', 'namespace of the node'),
    ('backend', '', "auto, onnxruntime, rknn or rdk ('' = auto)"),
    ('image_transport', '', "raw or compressed ('' = raw)"),
    ('use_debug_image', '', "publish detections/image: true or false ('' = false)"),
) + launch_params.NODE_ARGUMENTS + launch_params.COMMON_ARGUMENTS


def _node(context):
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    # a managed node: autostart drives it, or a lifecycle manager
    return [LifecycleNode(**launch_params.detector_node(value))]


def generate_launch_description():
    """Declare the arguments; the node is built once they are known."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, default, text in ARGUMENTS] + [OpaqueFunction(function=_node)])
