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
for ros2 lifecycle set). Everything a board implies (backend, NPU cores per worker, CPU
affinity, default model) comes from config/boards/<board>.yaml through edge_perception.boards;
the layering (board, then params_file, then explicit arguments) is
edge_perception.ros.launch_params; both are tested without ROS launch.
"""

from ament_index_python.packages import get_package_share_directory
from edge_perception import boards
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
) + launch_params.COMMON_ARGUMENTS


def _nodes(context):
    value = {name: LaunchConfiguration(name).perform(context) for name, _, _ in ARGUMENTS}
    share = get_package_share_directory('edge_perception')
    profile = boards.load_profile(value['board'], boards.boards_dir(share))
    camera = boards.camera_node(value['camera'], profile)
    image = value['image'] or (camera['image_topic'] if camera else 'image')
    params = boards.node_parameters(
        profile, value['task'], value['model'], share_dir=share,
        image_transport=camera.get('transport') if camera else None)
    explicit = launch_params.common_parameters(value)
    if value['model']:
        explicit['model'] = value['model']
    if value['use_debug_image']:
        explicit['publish_debug_image'] = launch_params.as_bool('use_debug_image',
                                                                value['use_debug_image'])
    parameters = launch_params.parameter_list(params, value['params_file'], explicit)
    actions = [LogInfo(msg=f'edge_perception: board {profile.board} ({profile.description}), '
                           f'backend {params["backend"]}, {params["workers"]} worker(s), '
                           f'model {params["model"]}, image {image}')]
    if camera:
        actions.append(Node(package=camera['package'], executable=camera['executable'],
                            name=camera['name'], namespace=_join(value['namespace'], 'camera'),
                            parameters=[camera['parameters']], output='screen'))
    executable = boards.TASK_EXECUTABLES[value['task']]
    actions.append(LifecycleNode(     # a managed node: autostart drives it, or a manager
        package='edge_perception', executable=executable,
        name=executable[:-len('_node')], namespace=value['namespace'], parameters=parameters,
        output='screen',
        remappings=[('image', image), ('image/compressed', image + '/compressed')]))
    return actions


def _join(namespace, child):
    return f'{namespace.rstrip("/")}/{child}' if namespace else child


def generate_launch_description():
    """Declare the arguments; the nodes are built once they are known."""
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, default, text in ARGUMENTS] + [OpaqueFunction(function=_nodes)])
