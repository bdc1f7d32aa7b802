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
Board profiles (edge_perception.boards), tested without ROS launch.

launch/perception.launch.py reaches this module through edge_perception.ros.launch_params;
test_launch_files runs the launch file itself.
"""

import os

from edge_perception import boards
from edge_perception.errors import ConfigError
from edge_perception.ros import tasks
from edge_perception.spec import load_card
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REQUIRED = ('rk3588', 'rk3576', 'rk3568', 'rk3566', 'rk3562', 'rdk_x3', 'rdk_x5', 'rdk_ultra',
            'rdk_s100', 'pc')
FOLDER = os.path.join(ROOT, 'config', 'boards')


def test_every_required_board_has_a_profile():
    assert set(REQUIRED) <= set(boards.known_boards(FOLDER))


@pytest.mark.parametrize('board', REQUIRED)
def test_profile_resolves_to_node_parameters(board):
    profile = boards.load_profile(board, FOLDER)
    params = boards.node_parameters(profile, 'detect', share_dir=ROOT)
    assert params['backend'] == profile.backend
    assert os.path.isfile(params['model']), params['model']
    card = load_card(params['model'])
    assert profile.backend in card.files or board == 'pc'
    masks = params['core_mask'].split(',')
    assert params['core_mask'] == 'auto' or len(masks) == params['workers']
    if profile.backend == 'rknn':
        # a multi-core mask only on SoCs with that many NPU cores
        assert profile.npu_cores >= len(masks)
        assert params['threads'] == 1
    if board in ('rk3588', 'rk3576'):
        assert params['cpu_affinity'] == [4, 5, 6, 7]          # the big cores
        assert params['workers'] == profile.npu_cores
    if profile.backend == 'rdk':
        assert profile.image_encoding == 'nv12'


def test_launch_arguments_override_the_profile():
    profile = boards.load_profile('rk3588', FOLDER)
    params = boards.node_parameters(profile, 'detect', model='/m.yaml', share_dir=ROOT,
                                    workers=1, publish_debug_image=True, image_transport=None)
    assert params['model'] == '/m.yaml' and params['workers'] == 1
    assert params['publish_debug_image'] is True and 'image_transport' not in params


def dt(*entries):
    """Return a /proc/device-tree/compatible file's bytes: NUL-terminated entries."""
    return b''.join(e.encode() + b'\0' for e in entries)


# Root "compatible" lists of real boards, as written in their device trees: Linux
# arch/arm64/boot/dts/rockchip (rk3588-rock-5b, rk3588s-orangepi-5, rk3576-armsom-sige5,
# rk3568-rock-3a, rk3566-quartz64-a, rk3562-evb2-v10), HorizonRDK/kernel hobot-xj3.dtsi (every
# RDK X3 board inherits it), D-Robotics/x5-kernel x5.dtsi and x5-som.dts (a space after the
# comma). The non-matching ones hold the old substring matches: "qcom,sdx55" contains "x5",
# "avnet,ultra96" contains "ultra".
REAL_TREES = [
    (dt('radxa,rock-5b', 'rockchip,rk3588'), 'rk3588'),
    (dt('xunlong,orangepi-5', 'rockchip,rk3588s'), 'rk3588'),
    (dt('armsom,sige5', 'rockchip,rk3576'), 'rk3576'),
    (dt('radxa,rock3a', 'rockchip,rk3568'), 'rk3568'),
    (dt('pine64,quartz64-a', 'rockchip,rk3566'), 'rk3566'),
    (dt('rockchip,rk3562-evb2-v10', 'rockchip,rk3562'), 'rk3562'),
    (dt('hobot,x3'), 'rdk_x3'),
    (dt('D-Robotics, x5'), 'rdk_x5'),
    (dt('Horizon, x5'), 'rdk_x5'),
    (dt('qcom,sdx55-mtp', 'qcom,sdx55'), 'pc'),
    (dt('avnet,ultra96-rev1', 'avnet,ultra96', 'xlnx,zynqmp-zcu100-revC', 'xlnx,zynqmp-zcu100',
        'xlnx,zynqmp'), 'pc'),
    (dt('raspberrypi,4-model-b', 'brcm,bcm2711'), 'pc'),
]
# No public device tree of the RDK Ultra (J5) or RDK S100 was found: these pin the naming
# pattern the table assumes for them, not a real board.
ASSUMED_TREES = [(dt('hobot,j5'), 'rdk_ultra'), (dt('d-robotics,s100'), 'rdk_s100')]


@pytest.mark.parametrize('entries,board', REAL_TREES + ASSUMED_TREES)
def test_board_auto_detection_from_the_device_tree(tmp_path, entries, board):
    compatible = tmp_path / 'compatible'
    compatible.write_bytes(entries)
    found, evidence = boards.detect_board(str(compatible))
    assert found == board and str(compatible) in evidence
    assert boards.load_profile('auto', FOLDER, str(compatible)).board == board


def test_no_device_tree_means_pc(tmp_path):
    board, evidence = boards.detect_board(str(tmp_path / 'absent'))
    assert board == 'pc' and 'no device tree' in evidence


def test_unknown_board_task_and_camera_are_rejected_with_the_choices():
    with pytest.raises(ConfigError, match='rk3588'):
        boards.load_profile('rk9999', FOLDER)
    profile = boards.load_profile('pc', FOLDER)
    with pytest.raises(ConfigError, match='task'):
        boards.node_parameters(profile, 'dance', share_dir=ROOT)
    with pytest.raises(ConfigError, match='usb_cam'):
        boards.camera_node('webcam9000', profile)


def test_bad_profile_file_is_rejected(tmp_path):
    (tmp_path / 'odd.yaml').write_text('board: odd\nsoc: odd\nbackend: rknn\nflux: 3\n')
    with pytest.raises(ConfigError, match='unknown keys'):
        boards.load_profile('odd', str(tmp_path))


def test_camera_drivers():
    assert boards.camera_node('none') == {}
    x5 = boards.camera_node('default', boards.load_profile('rdk_x5', FOLDER))
    assert x5['package'] == 'mipi_cam' and x5['parameters']['out_format'] == 'nv12'
    usb = boards.camera_node('usb_cam')
    assert usb['executable'] == 'usb_cam_node_exe' and usb['image_topic'] == 'camera/image_raw'


@pytest.mark.parametrize('task,executable', [
    ('detect', 'detector_node'), ('segment', 'segmenter_node'), ('pose', 'pose_node'),
    ('classify', 'classifier_node')])
def test_every_task_has_an_installed_executable(task, executable):
    assert tasks.TASK_NODES[task].executable == executable
    setup = open(os.path.join(ROOT, 'setup.py')).read()
    assert f"'{executable} = edge_perception.ros." in setup
    profile = boards.load_profile('pc', FOLDER)
    params = boards.node_parameters(profile, task, model='/m.onnx', share_dir=ROOT)
    assert params['model'] == '/m.onnx' and params['backend'] == profile.backend


def test_a_task_without_a_board_default_model_asks_for_one():
    profile = boards.load_profile('pc', FOLDER)
    with pytest.raises(ConfigError, match='no default pose model; pass model:=<card or file>, '
                                          'or a params_file:= that sets model'):
        boards.node_parameters(profile, 'pose', share_dir=ROOT)
