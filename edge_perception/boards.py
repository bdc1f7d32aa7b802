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
Board profiles: which backend, model files, NPU cores and CPU cores a board uses.

``config/boards/<board>.yaml`` holds one profile per board. This module (pure Python, no ROS)
loads them, recognises the board it runs on from the device tree, and turns a profile plus
launch arguments into node parameters; ``launch/perception.launch.py`` only calls it.
"""

from dataclasses import dataclass, field
import os
from typing import Dict, List, Optional, Tuple

import yaml

from . import share
from .errors import ConfigError
from .ros.tasks import USER_TASKS

COMPATIBLE = '/proc/device-tree/compatible'
# Device-tree "compatible" entries are matched whole (the file is a NUL-separated list of
# "vendor,name" entries, most specific first): a board's own entry or the SoC's. Rockchip
# (Linux arch/arm64/boot/dts/rockchip): "rockchip,rk3588", RK3588S boards "rockchip,rk3588s".
SOC_BOARDS = {'rk3588': 'rk3588', 'rk3588s': 'rk3588', 'rk3576': 'rk3576',
              'rk3568': 'rk3568', 'rk3566': 'rk3566', 'rk3562': 'rk3562'}
# D-Robotics / Horizon Robotics kernels name the SoC after the vendor, sometimes with a space
# after the comma: "hobot,x3" (HorizonRDK/kernel hobot-xj3.dtsi), "D-Robotics, x5" (x5.dtsi of
# D-Robotics/x5-kernel) and "Horizon, x5" (its x5-som.dts). No public RDK Ultra (J5) or S100
# device tree was found: their names here follow the same pattern, unverified.
RDK_VENDORS = ('hobot', 'horizon', 'd-robotics')
RDK_SOCS = {'x3': 'rdk_x3', 'x5': 'rdk_x5', 'j5': 'rdk_ultra', 's100': 'rdk_s100'}
PROFILE_KEYS = {'board', 'soc', 'description', 'backend', 'npu_cores', 'workers', 'core_mask',
                'threads', 'cpu_affinity', 'image_encoding', 'camera', 'models'}
# Camera drivers the launch file can start: package, executable, the image topic it publishes
# (relative to its namespace), whether it is sensor_msgs/Image ('raw') or CompressedImage, and
# the parameters we set. Facts from the drivers' documentation; not verified on hardware here.
CAMERAS = {
    'usb_cam': ('usb_cam', 'usb_cam_node_exe', 'image_raw', 'raw',
                {'video_device': '/dev/video0', 'image_width': 640, 'image_height': 480,
                 'framerate': 30.0}),
    'v4l2_camera': ('v4l2_camera', 'v4l2_camera_node', 'image_raw', 'raw',
                    {'video_device': '/dev/video0', 'image_size': [640, 480]}),
    'hobot_usb_cam': ('hobot_usb_cam', 'hobot_usb_cam', 'image', 'raw',
                      {'usb_video_device': '/dev/video8', 'usb_image_width': 640,
                       'usb_image_height': 480}),
    'mipi_cam': ('mipi_cam', 'mipi_cam', 'image_raw', 'raw',
                 {'out_format': 'nv12', 'image_width': 640, 'image_height': 640,
                  'io_method': 'ros'}),
}


@dataclass
class BoardProfile:
    """One board's defaults (see config/boards/*.yaml for the meaning of each field)."""

    board: str
    soc: str
    backend: str
    description: str = ''
    npu_cores: int = 0
    workers: int = 1
    core_mask: str = 'auto'
    threads: int = 0
    cpu_affinity: List[int] = field(default_factory=list)
    image_encoding: str = 'bgr8'
    camera: str = 'usb_cam'
    models: Dict[str, str] = field(default_factory=dict)
    path: str = ''


def boards_dir(share_dir: Optional[str] = None) -> str:
    """Return the folder of the board profiles: installed share/ first, else the source tree."""
    return os.path.join(share_dir or share.share_dir(), 'config', 'boards')


def known_boards(folder: Optional[str] = None) -> List[str]:
    """Return the names of every board profile."""
    folder = folder or boards_dir()
    return sorted(os.path.splitext(f)[0] for f in os.listdir(folder) if f.endswith('.yaml'))


def compatible_entries(compatible: str = COMPATIBLE) -> List[str]:
    """Return the device tree's "compatible" entries, lower case (OSError when absent)."""
    with open(compatible, 'rb') as f:
        return [e.decode('ascii', 'replace').strip().lower()
                for e in f.read().split(b'\0') if e.strip()]


def board_of_entry(entry: str) -> Optional[str]:
    """Return the board profile one whole "compatible" entry names, or None."""
    vendor, _, soc = (part.strip() for part in entry.lower().partition(','))
    if vendor == 'rockchip':
        return SOC_BOARDS.get(soc)
    if vendor in RDK_VENDORS:
        return RDK_SOCS.get(soc)
    return None


def detect_board(compatible: str = COMPATIBLE) -> Tuple[str, str]:
    """
    Recognise the board from the device tree; return (board, evidence).

    ('pc', reason) when there is no device tree or it names no supported SoC.
    """
    try:
        entries = compatible_entries(compatible)
    except OSError as exc:
        return 'pc', f'no device tree ({exc.strerror.lower() if exc.strerror else exc})'
    for entry in entries:
        board = board_of_entry(entry)
        if board:
            return board, f'{compatible}: {entry}'
    return 'pc', f'{compatible} names no supported SoC ({", ".join(entries) or "empty"})'


def load_profile(board: str = 'auto', folder: Optional[str] = None,
                 compatible: str = COMPATIBLE) -> BoardProfile:
    """Load a board profile by name ('auto': the board this runs on)."""
    folder = folder or boards_dir()
    if board == 'auto':
        board, _ = detect_board(compatible)
    path = os.path.join(folder, f'{board}.yaml')
    if not os.path.isfile(path):
        raise ConfigError(f'unknown board {board!r}; known: {", ".join(known_boards(folder))} '
                          '(or auto)')
    with open(path, encoding='utf-8') as f:
        data = yaml.safe_load(f) or {}
    unknown = set(data) - PROFILE_KEYS
    if unknown:
        raise ConfigError(f'{path}: unknown keys {sorted(unknown)}')
    try:
        profile = BoardProfile(**data, path=path)
    except TypeError as exc:
        raise ConfigError(f'{path}: {exc}') from None
    profile.core_mask = str(profile.core_mask)
    if profile.camera not in CAMERAS:
        raise ConfigError(f'{path}: camera {profile.camera!r} is not one of {sorted(CAMERAS)}')
    return profile


def node_parameters(profile: BoardProfile, task: str = 'detect', model: str = '',
                    share_dir: Optional[str] = None, **overrides) -> Dict[str, object]:
    """
    Return the node parameters a profile implies for ``task``.

    task: one of ros.tasks.USER_TASKS (the one task -> node table). model: a card or model
    file, given as ``model:=`` or by the params_file ('' = the profile's default for the task,
    relative to the package share directory). overrides: parameters given at launch (e.g.
    publish_debug_image) win over the profile.
    """
    if task not in USER_TASKS:
        raise ConfigError(f'task {task!r} is not one of {", ".join(USER_TASKS)}')
    if not model:
        if task not in profile.models:
            raise ConfigError(f'board {profile.board} has no default {task} model; '
                              'pass model:=<card or file>, or a params_file:= that sets '
                              'model')
        model = os.path.join(share_dir or share.share_dir(), profile.models[task])
    params = {
        'model': model,
        'backend': profile.backend,
        'soc': profile.soc,
        'workers': int(profile.workers),
        'core_mask': profile.core_mask,
        'threads': int(profile.threads),
        'cpu_affinity': [int(c) for c in profile.cpu_affinity],
    }
    if profile.backend == 'onnxruntime' or not profile.core_mask:
        params['core_mask'] = 'auto'
    params.update({k: v for k, v in overrides.items() if v is not None})
    return params


def camera_node(name: str, profile: Optional[BoardProfile] = None) -> Dict[str, object]:
    """Describe the camera driver node ``name`` ('' or 'none': no camera)."""
    if name in ('', 'none'):
        return {}
    if name == 'default' and profile is not None:
        name = profile.camera
    if name not in CAMERAS:
        raise ConfigError(f'camera {name!r} is not one of {", ".join(sorted(CAMERAS))} '
                          '(or none)')
    package, executable, topic, transport, params = CAMERAS[name]
    return {'package': package, 'executable': executable, 'name': 'camera',
            'image_topic': f'camera/{topic}', 'transport': transport,
            'parameters': dict(params)}
