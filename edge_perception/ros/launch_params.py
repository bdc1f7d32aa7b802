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
What the launch files pass to a node, as plain Python (the launch package is not needed).

Every launch file takes ``params_file`` (a ``config/params/<task>.yaml``-style file),
``use_sim_time`` and ``autostart``. The node's parameters are layered, later entries winning,
as launch_ros applies them: what the board implies, then the params file, then what was given
on the command line (``model:=``, ``use_debug_image:=``, ``tracker:=``, ``use_depth:=``,
...).
Both launch files call ``detector_node`` / ``perception_nodes`` here and only turn the result
into launch actions, so everything they decide is tested without the launch package.
"""

import os
import re
import tempfile
from typing import Dict, List, Mapping, Optional, Tuple, Union

import yaml

from .tasks import TASK_NODES, USER_TASKS
from .. import boards
from ..errors import ConfigError

#: (name, default, description) of the arguments every launch file declares.
COMMON_ARGUMENTS = (
    ('params_file', '', 'YAML parameters file (config/params/<task>.yaml lists every '
     'parameter); launch arguments given explicitly win over it'),
    ('use_sim_time', 'false', 'use the /clock topic (simulation, bag replay)'),
    ('autostart', 'true', 'configure and activate the node at start; false: it waits for '
     'ros2 lifecycle set <node> configure / activate'),
)
#: (name, default, description) of the tracking and depth arguments (both launch files).
NODE_ARGUMENTS = (
    ('tracker', '', "none or bytetrack ('' = the params_file's, else the node's: bytetrack)"),
    ('use_depth', '', "true: also subscribe depth and publish detections_3d ('' = the "
     "params_file's, else false)"),
    ('camera_info', '', "colour camera_info topic ('' = camera_info next to the image topic)"),
    ('depth', '', "depth image topic, registered to the colour image or not ('' = depth)"),
    ('depth_camera_info', '', "depth camera_info topic ('' = camera_info next to the depth "
     'topic, else depth/camera_info)'),
)
#: The tasks whose node has a tracker and 3D from depth (the classifier has neither).
TRACKING_TASKS = ('detect', 'segment', 'pose')
PACKAGE = 'edge_perception'


def as_bool(name: str, text: Union[str, bool]) -> bool:
    """Parse a launch argument's true/false; ConfigError otherwise."""
    if isinstance(text, bool):
        return text
    value = str(text).strip().lower()
    if value not in ('true', 'false'):
        raise ConfigError(f'{name} must be true or false, got {text!r}')
    return value == 'true'


def parameter_list(implied: Mapping[str, object], params_file: str,
                   explicit: Mapping[str, object],
                   node: str = '') -> List[Union[Dict[str, object], str]]:
    """
    Return the ``parameters=`` list of a launch_ros Node: implied, the file, explicit.

    ``implied``: defaults the launch derives (a board's backend and workers); ``params_file``:
    '' for none (else it must exist); ``explicit``: values the user gave (they win); ``node``:
    the node's fully qualified name.

    rclpy does not apply params files in order: it applies the node entries in the order their
    names first appear across all files (launch_ros writes a dict under the node's full name),
    so a ``/**`` entry of the file would beat an explicit dict given after it. With a
    params_file the explicit values therefore go into a file of their own (written like
    launch_ros writes a dict) under the full name and every key of the params_file that names
    this node: each entry that could set the value is overwritten by the later file.
    """
    layers: List[Union[Dict[str, object], str]] = []
    implied = {k: v for k, v in implied.items() if k not in explicit}
    if implied:
        layers.append(implied)
    keys: List[str] = []
    if params_file:
        path = os.path.expanduser(params_file)
        if not os.path.isfile(path):
            raise ConfigError(f'params_file {params_file}: no such file')
        layers.append(path)
        keys = [key for key, _ in file_entries(params_file) if node and _matches(key, node)]
    if explicit and keys:
        entries = {key: {'ros__parameters': dict(explicit)} for key in keys + [node]}
        with tempfile.NamedTemporaryFile('w', prefix='edge_perception_launch_params_',
                                         suffix='.yaml', delete=False) as f:
            yaml.safe_dump(entries, f, default_flow_style=False)
        layers.append(f.name)
    elif explicit:
        layers.append(dict(explicit))
    return layers


def common_parameters(values: Mapping[str, str]) -> Dict[str, bool]:
    """Return the node parameters of the common arguments (use_sim_time, autostart)."""
    return {'use_sim_time': as_bool('use_sim_time', values.get('use_sim_time', 'false')),
            'autostart': as_bool('autostart', values.get('autostart', 'true'))}


def node_parameters(values: Mapping[str, str], task: str = 'detect') -> Dict[str, object]:
    """
    Return the parameters the tracking and depth arguments give explicitly ('' = not given).

    ConfigError for a tracker that is not none/bytetrack, a use_depth that is not true/false,
    or either given for a task whose node has neither (classify).
    """
    from ..tracking.settings import TRACKERS
    explicit: Dict[str, object] = {}
    tracker = str(values.get('tracker', '') or '').strip()
    if tracker:
        if tracker not in TRACKERS:
            raise ConfigError(f'tracker must be one of {", ".join(TRACKERS)}, got {tracker!r}')
        explicit['tracker'] = tracker
    if str(values.get('use_depth', '') or '').strip():
        explicit['use_depth'] = as_bool('use_depth', values['use_depth'])
    if explicit and task not in TRACKING_TASKS:
        raise ConfigError(f'{" and ".join(sorted(explicit))} apply to the '
                          f'{", ".join(TRACKING_TASKS)} nodes; the {TASK_NODES[task].name} '
                          'node has none')
    return explicit


def sibling(topic: str, name: str) -> str:
    """Return ``name`` next to ``topic`` (image_transport's camera_info rule)."""
    head, _, _ = topic.rstrip('/').rpartition('/')
    if not head and topic.startswith('/'):
        return '/' + name
    return f'{head}/{name}' if head else name


def remappings(image: str, values: Mapping[str, str],
               depth: bool = True) -> List[Tuple[str, str]]:
    """
    Return a node's remappings: image (and its compressed transport), the camera_infos, depth.

    camera_info follows the image topic (``/cam/color/image_raw`` ->
    ``/cam/color/camera_info``) unless given; ``depth/camera_info`` follows the depth topic the
    same way. ``depth``: whether the node has depth inputs (the classifier has none).
    """
    pairs = [('image', image), ('image/compressed', image + '/compressed')]
    if not depth:
        return pairs
    depth_topic = values.get('depth') or 'depth'
    more = [('camera_info', values.get('camera_info') or sibling(image, 'camera_info')),
            ('depth', depth_topic),
            ('depth/camera_info', values.get('depth_camera_info') or (
                sibling(depth_topic, 'camera_info') if values.get('depth')
                else 'depth/camera_info'))]
    return pairs + [(source, target) for source, target in more if source != target]


def _matches(key: str, node: str) -> bool:
    """
    Return whether a params-file node key names ``node``, as rclpy decides it.

    rclpy (node.cpp) puts a leading ``/`` on the key, turns each ``/*`` into a regular
    expression matching one name part (so ``/**`` matches any namespace) and matches the whole
    fully qualified name.
    """
    key = key if key.startswith('/') else '/' + key
    pattern = re.escape(key).replace(re.escape('/*'), r'(/\w+)').replace(r'\*', '*')
    return re.fullmatch(pattern, node) is not None


def file_entries(params_file: str) -> List[Tuple[str, Dict[str, object]]]:
    """
    Return the (node key, parameters) entries of a params file, in file order.

    Nested namespaces (``ns: {node: {ros__parameters: ...}}``) give ``ns/node``.
    """
    path = os.path.expanduser(params_file)
    try:
        with open(path, encoding='utf-8') as f:
            data = yaml.safe_load(f) or {}
    except OSError:
        raise ConfigError(f'params_file {params_file}: no such file') from None
    except yaml.YAMLError as exc:
        raise ConfigError(f'params_file {params_file}: not valid YAML: {exc}') from None
    entries: List[Tuple[str, Dict[str, object]]] = []

    def walk(mapping, prefix):
        if not isinstance(mapping, dict):
            return
        for key, value in mapping.items():
            if key == 'ros__parameters':
                if isinstance(value, dict):
                    entries.append((prefix, value))
            else:
                walk(value, f'{prefix}/{str(key).strip("/")}' if prefix else str(key))
    walk(data, '')
    return entries


def file_parameters(params_file: str, node: str) -> Dict[str, object]:
    """
    Return the parameters a params file gives the node ``node`` (fully qualified name).

    Entries are matched as rclpy matches them (``/**``, ``/ns/name``, ``/ns/*``), later ones
    winning (rclpy's order for one file). '' gives {}.
    """
    found: Dict[str, object] = {}
    for key, values in (file_entries(params_file) if params_file else ()):
        if _matches(key, node):
            found.update(values)
    return found


def node_description(executable: str, name: str, namespace: str,
                     parameters: List[Union[Dict[str, object], str]],
                     remaps: List[Tuple[str, str]]) -> Dict[str, object]:
    """Return the keyword arguments of a launch_ros ``LifecycleNode`` of this package."""
    return {'package': PACKAGE, 'executable': executable, 'name': name,
            'namespace': namespace, 'parameters': parameters, 'remappings': remaps,
            'output': 'screen'}


def qualified(namespace: str, name: str) -> str:
    """Return the fully qualified node name of ``name`` in ``namespace``."""
    return f'/{namespace.strip("/")}/{name}' if namespace.strip('/') else f'/{name}'


#: detector.launch.py: launch argument -> node parameter, for arguments that set one when given.
DETECTOR_PARAMETERS = {'model': 'model', 'backend': 'backend',
                       'image_transport': 'image_transport',
                       'use_debug_image': 'publish_debug_image'}


def detector_node(values: Mapping[str, str]) -> Dict[str, object]:
    """Return the LifecycleNode arguments of ``detector.launch.py`` (values: its arguments)."""
    node = TASK_NODES['detect']
    explicit: Dict[str, object] = common_parameters(values)
    for argument, parameter in DETECTOR_PARAMETERS.items():
        if values.get(argument):
            explicit[parameter] = values[argument]
    if 'publish_debug_image' in explicit:
        explicit['publish_debug_image'] = as_bool('use_debug_image',
                                                  explicit['publish_debug_image'])
    explicit.update(node_parameters(values, 'detect'))
    image = values.get('image') or 'image'
    return node_description(node.executable, node.name, values.get('namespace', ''),
                            parameter_list({}, values.get('params_file', ''), explicit,
                                           qualified(values.get('namespace', ''), node.name)),
                            remappings(image, values))


def perception_nodes(values: Mapping[str, str], share: str,
                     compatible: Optional[str] = None) -> Dict[str, object]:
    """
    Return what ``perception.launch.py`` starts: {'node', 'camera', 'profile', 'message'}.

    ``node``: LifecycleNode arguments; ``camera``: the camera driver (boards.camera_node, {}
    for none); ``message``: the line the launch logs. The model is the explicit ``model:=``,
    else the params_file's ``model``, else the board's default for the task (ConfigError
    names both fixes when there is none).
    """
    task = values.get('task') or 'detect'
    if task not in USER_TASKS:
        raise ConfigError(f'task {task!r} is not one of {", ".join(USER_TASKS)}')
    node = TASK_NODES[task]
    kwargs = {'compatible': compatible} if compatible else {}
    profile = boards.load_profile(values.get('board') or 'auto', boards.boards_dir(share),
                                  **kwargs)
    camera = boards.camera_node(values.get('camera', 'none'), profile)
    image = values.get('image') or (camera['image_topic'] if camera else 'image')
    namespace = values.get('namespace', '')
    params_file = values.get('params_file', '')
    from_file = file_parameters(params_file, qualified(namespace, node.name))
    model = values.get('model') or str(from_file.get('model') or '')
    implied = boards.node_parameters(
        profile, task, model, share_dir=share,
        image_transport=camera.get('transport') if camera else None)
    explicit: Dict[str, object] = common_parameters(values)
    if values.get('model'):
        explicit['model'] = values['model']
    if values.get('use_debug_image'):
        explicit['publish_debug_image'] = as_bool('use_debug_image', values['use_debug_image'])
    explicit.update(node_parameters(values, task))
    parameters = parameter_list(implied, params_file, explicit,
                                qualified(namespace, node.name))
    message = (f'edge_perception: board {profile.board} ({profile.description}), backend '
               f'{implied["backend"]}, {implied["workers"]} worker(s), model '
               f'{implied["model"]}, image {image}')
    return {'node': node_description(node.executable, node.name, namespace, parameters,
                                     remappings(image, values, task in TRACKING_TASKS)),
            'camera': camera, 'profile': profile, 'message': message}
