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
Perception on any supported board.

Usage: ``ros2 launch edge_perception perception.launch.py board:=rk3588``.

Arguments: board (auto = read the device tree; rk3588, rk3576, rk3568, rk3566, rk3562, rdk_x3,
rdk_x5, rdk_ultra, rdk_s100, pc), task (detect, segment, pose, classify; the node is named
detector, segmenter, pose, classifier), model (card or file; default the board's), image (topic
to subscribe to), namespace, use_debug_image, camera (none, default = the
board's driver, or usb_cam, v4l2_camera, hobot_usb_cam, mipi_cam), params_file (a
config/params/<task>.yaml-style file), use_sim_time, autostart (false: the managed node waits
for ros2 lifecycle set), tracker (none or bytetrack), use_depth, camera_info, depth,
depth_camera_info (the topics to remap them to). Everything a board implies (backend, NPU
cores per worker, CPU affinity, default model) comes from config/boards/<board>.yaml through
edge_perception.boards; the model is model:=, else the params_file's, else the board's; the
layering (board, then params_file, then explicit arguments) and the task -> node table
(edge_perception.ros.tasks) meet in edge_perception.ros.launch_params.perception_nodes, tested
without ROS launch; this file only turns its result into launch actions.
"""

from ament_index_python.packages import get_package_share_directory
from edge_perception.ros import launch_params
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, LogInfo, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node

ARGUMENTS = (
    ('board', 'auto', 'board profile, or auto'),
    ('task', 'detect', 'perception task: detect, segment, pose or classify'),
    ('model', '', "model card or file ('' = the board's default)"),
    ('image', '', "image topic ('' = the camera's when one is started, else image)"),
    ('namespace', '', 'namespace of the nodes'),
    ('use_debug_image', '', "publish annotated images: true or false ('' = the "
     "params_file's, else false)"),
    ('camera', 'none', 'camera driver to start: none, default, or a driver name'),
) + launch_params.NODE_ARGUMENTS + launch_params.COMMON_ARGUMENTS


def _nodes(context):
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    started = launch_params.perception_nodes(
        value, get_package_share_directory('edge_perception'))
    actions = [LogInfo(msg=started['message'])]
    camera = started['camera']
    if camera:
        actions.append(Node(package=camera['package'], executable=camera['executable'],
                            name=camera['name'], namespace=_join(value['namespace'], 'camera'),
                            parameters=[camera['parameters']], output='screen'))
    # a managed node: autostart drives it, or a lifecycle manager
    actions.append(LifecycleNode(**started['node']))
    return actions


def _join(namespace, child):
    return f'{namespace.rstrip("/")}/{child}' if namespace else child


def generate_launch_description():
    """Declare the arguments; the nodes are built once they are known."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, default, text in ARGUMENTS] + [OpaqueFunction(function=_nodes)])
