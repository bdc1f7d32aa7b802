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
remap `image` to), namespace, backend, image_transport, use_debug_image.
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description():
    """Declare the arguments and the detector node."""
    share = get_package_share_directory('edge_perception')
    default_model = os.path.join(share, 'config', 'models', 'fall_detection.yaml')
    args = [
        DeclareLaunchArgument('model', default_value=default_model,
                              description='model card (.yaml) or model file'),
        DeclareLaunchArgument('image', default_value='image',
                              description='image topic to subscribe to'),
        DeclareLaunchArgument('namespace', default_value=''),
        DeclareLaunchArgument('backend', default_value='auto'),
        DeclareLaunchArgument('image_transport', default_value='raw',
                              description='raw or compressed'),
        DeclareLaunchArgument('use_debug_image', default_value='false'),
    ]
    node = Node(
        package='edge_perception', executable='detector_node', name='detector',
        namespace=LaunchConfiguration('namespace'), output='screen',
        parameters=[{
            'model': LaunchConfiguration('model'),
            'backend': LaunchConfiguration('backend'),
            'image_transport': LaunchConfiguration('image_transport'),
            'publish_debug_image': ParameterValue(LaunchConfiguration('use_debug_image'),
                                                  value_type=bool),
        }],
        remappings=[('image', LaunchConfiguration('image')),
                    ('image/compressed', [LaunchConfiguration('image'), '/compressed'])],
    )
    return LaunchDescription(args + [node])
