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
"""ament_python package definition of edge_perception."""

from glob import glob
import os

from setuptools import Extension, find_packages, setup

package_name = 'edge_perception'


def tree(folder):
    """(install dir, files) pairs for every file below ``folder``, keeping sub-folders."""
    pairs = {}
    for path in glob(os.path.join(folder, '**', '*'), recursive=True):
        if os.path.isfile(path):
            target = os.path.join('share', package_name, os.path.dirname(path))
            pairs.setdefault(target, []).append(path)
    return sorted(pairs.items())


setup(
    name=package_name,
    version='0.1.0',
    packages=find_packages(exclude=['test', 'test.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', ['resource/' + package_name]),
        ('share/' + package_name, ['package.xml']),
    ] + tree('launch') + tree('config') + tree('models'),
    # ROS installs resolve dependencies through rosdep (package.xml); pip users take an extra.
    install_requires=['setuptools'],
    extras_require={
        'cpu': ['numpy', 'opencv-python-headless', 'onnxruntime', 'pyyaml'],
        'test': ['pytest'],
    },
    # The decoders' compiled kernels (edge_perception/native.py): optional, a machine without
    # a C compiler installs the package with a warning and decodes with numpy.
    ext_modules=[Extension('edge_perception._native', ['edge_perception/_native.c'],
                           optional=True)],
    zip_safe=False,
    maintainer='edge_perception maintainers',
    maintainer_email='maintainers@edge-perception.dev',
    description='Real-time perception for ROS 2 on edge NPUs, ONNX Runtime on the CPU.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={
        'console_scripts': [
            'detector_node = edge_perception.ros.detector_node:main',
            'segmenter_node = edge_perception.ros.segmenter_node:main',
            'pose_node = edge_perception.ros.pose_node:main',
            'classifier_node = edge_perception.ros.classifier_node:main',
            'perception_container = edge_perception.ros.container:main',
            'edge-perception = edge_perception.cli:main',
        ],
    },
)
