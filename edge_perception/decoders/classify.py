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
Classification outputs, (1, nc) or (1, nc, 1, 1), into the top-k classes.

Vendors differ only in whether the softmax is inside the model (ultralytics export) or left to
the CPU (RKNN, RDK: logits); the layout says which. Quantised logits are dequantised whole:
a classifier has a thousand values, nothing to save there.
"""

import numpy as np

from ..layouts import Binding
from ..results import Classifications
from ..tensors import to_float


def decode_classes(outputs, binding: Binding, top_k: int, class_names) -> Classifications:
    """Return the ``top_k`` most probable classes, most probable first."""
    values = to_float(outputs[binding.global_outputs.get('dense', 0)]).reshape(-1)
    if binding.layout.scores == 'softmax':
        probs = values
    else:
        exp = np.exp(values - values.max())
        probs = exp / exp.sum()
    k = min(int(top_k), len(probs))
    top = np.argpartition(-probs, k - 1)[:k] if k < len(probs) else np.arange(len(probs))
    top = top[np.argsort(-probs[top], kind='stable')]
    return Classifications(top, probs[top], class_names)
