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
Where the package's data lives: the installed share directory, else the source tree.

A ROS install (colcon) puts config/, launch/ and models/ under share/edge_perception; a source
checkout or an editable pip install has them at the repository root.
"""

import os

SOURCE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_CARD = os.path.join('config', 'models', 'fall_detection.yaml')


def share_dir() -> str:
    """Return the folder holding config/, launch/ and models/."""
    try:
        from ament_index_python.packages import get_package_share_directory
        path = get_package_share_directory('edge_perception')
        if os.path.isdir(os.path.join(path, 'config')):
            return path
    except (ImportError, LookupError, ValueError):
        pass
    return SOURCE_ROOT


def demo_card() -> str:
    """Return the path of the demo model card (the fall-detection YOLOv8s)."""
    return os.path.join(share_dir(), DEMO_CARD)
