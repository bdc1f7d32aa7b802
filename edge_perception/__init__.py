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
edge_perception: real-time YOLO perception on edge NPUs (RKNN, RDK BPU) and the CPU.

The core is ROS-free: ``load_model`` gives a callable model, ``decode`` decodes raw outputs of
any supported head layout of any task; results are ``Detections`` (detect, segment, pose),
``Classifications`` and ``SemanticMap``. ROS 2 nodes live in ``edge_perception.ros``.
"""

from .decoders import decode, DecodeOptions, Decoder, make_decoder
from .errors import (BackendUnavailableError, EdgePerceptionError, ImageFormatError,
                     LayoutError, ModelLoadError)
from .layouts import LAYOUTS, match_layout
from .model import load_model, Model, StageTimes
from .preprocess import InputSpec, Letterbox, letterbox, preprocess
from .results import Classifications, Detections, InstanceMasks, SemanticMap
from .tensors import QuantizedTensor

__version__ = '0.1.0'

__all__ = [
    'BackendUnavailableError', 'Classifications', 'DecodeOptions', 'Decoder', 'Detections',
    'EdgePerceptionError', 'ImageFormatError', 'InputSpec', 'InstanceMasks', 'LAYOUTS',
    'LayoutError', 'Letterbox', 'Model', 'ModelLoadError', 'QuantizedTensor', 'SemanticMap',
    'StageTimes', 'decode', 'letterbox', 'load_model', 'make_decoder', 'match_layout',
    'preprocess',
]
