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
"""Helpers of the rdk suite: the CLI of this environment, scenes written as files."""

import os
import subprocess
import sys

import cv2

CLI = os.path.join(os.path.dirname(sys.executable), 'edge-perception')


def run_cli(*args, cwd=None):
    """Run the edge-perception CLI of this environment; return (exit status, output)."""
    proc = subprocess.run([CLI] + [str(a) for a in args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, check=False)
    return proc.returncode, proc.stdout


def write_scenes(folder, scenes) -> str:
    """Write BGR scenes as PNG files into ``folder``; return it as a string."""
    os.makedirs(folder, exist_ok=True)
    for i, scene in enumerate(scenes):
        assert cv2.imwrite(os.path.join(str(folder), f'scene_{i:02d}.png'), scene)
    return str(folder)
