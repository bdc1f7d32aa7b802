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
The D-Robotics RDK toolchain's command-line tools, run as the vendor documents them.

The PyPI toolchain (``rdkx5-yolo-mapper`` 1.0.0 = hb_mapper 1.24.3, ``dgdk`` = hbdk 3.49.15,
``dg-nn-toolkit`` = horizon_nn 1.1.0; cp310 x86_64 wheels, in ``.venv-rdk`` built by
``scripts/setup_tool_env.sh rdk``) builds for the BPU marches in ``MARCHES``: ``hb_mapper
checker --march`` accepts exactly ``bernoulli2``, ``bayes`` and ``bayes-e``. The RDK S100
(``nash-e``, ``.hbm`` by ``hb_compile``) needs D-Robotics' OpenExplorer docker image.

Commands are found and run by ``edge_perception.backends.rdk_commands`` (``run``: a folder
of its own, a log file, a ModelLoadError with the tool's ERROR lines on failure), which the
runtime's ``rdk_sim`` backend uses too.
"""

import os

# the commands are found and run by the runtime side (the rdk_sim backend runs hbdk-sim too)
from ..backends.rdk_commands import (available, INSTALL_FIX, require, run,  # noqa: F401
                                     tool_path)

# target -> BPU march the PyPI toolchain builds for (hb_mapper checker --march choices)
MARCHES = {'rdk_x3': 'bernoulli2', 'rdk_x5': 'bayes-e', 'rdk_ultra': 'bayes'}
TARGET_BY_MARCH = {march: target for target, march in MARCHES.items()}
OPTIMIZE_LEVELS = ('O0', 'O1', 'O2', 'O3')
MAX_OPSET = 11                  # hb_mapper's checker refuses newer opsets


def check_model(model: str, march: str, cwd: str) -> float:
    """Run ``hb_mapper checker`` on an ONNX model for ``march``; return the seconds it took."""
    _, seconds = run('hb_mapper', ['checker', '--model-type', 'onnx', '--march', march,
                                   '--model', os.path.abspath(model)], cwd,
                     'hb_mapper_checker.log', f'hb_mapper checker --march {march}')
    return seconds


def makertbin(config: str, cwd: str) -> float:
    """Run ``hb_mapper makertbin`` with a YAML config; return the seconds it took."""
    _, seconds = run('hb_mapper', ['makertbin', '--config', os.path.abspath(config),
                                   '--model-type', 'onnx'], cwd, 'hb_mapper_makertbin.log',
                     'hb_mapper makertbin')
    return seconds


def onnx_opset(model: str) -> int:
    """Return the default-domain opset of an ONNX file (0 when it declares none)."""
    import onnx
    proto = onnx.load(model, load_external_data=False)
    return max((o.version for o in proto.opset_import if o.domain in ('', 'ai.onnx')),
               default=0)
