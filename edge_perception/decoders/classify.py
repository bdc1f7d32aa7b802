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

A classifier's outputs are either probabilities (the model ends in a softmax: ultralytics
exports, also when converted to RKNN) or logits (the CPU applies the softmax). The shapes do
not say which, so ``ClassScores`` holds what the model says (the model card's ``scores:``, the
ONNX graph's last operator, or the layout) and checks it once, on the first frame: values that
sum to 1 within [0, 1] are probabilities, anything else logits. A disagreement is warned about
(``RuntimeWarning``) naming the fix; with nothing to go by, the first frame decides, and says so.
Quantised logits are dequantised whole: a classifier has a thousand values, nothing to save.
"""

from typing import Optional
import warnings

import numpy as np

from ..layouts import Binding
from ..results import Classifications
from ..tensors import to_float

#: How far from [0, 1] a probability may stray, and its sum from 1: int8/uint8 outputs round
#: every value to a step of ~1/255, which moves the sum of 1000 peaked probabilities by 0.05-0.1
#: (Dirichlet(0.05) over 1000 classes quantised: median 0.055, max 0.09 in 200 draws).
VALUE_TOLERANCE = 0.01
SUM_TOLERANCE = 0.25
WHAT = {'softmax': 'probabilities (softmax inside the model)',
        'logit': 'logits (softmax applied here)'}


def looks_like_probabilities(values: np.ndarray) -> bool:
    """Tell whether the values are a probability distribution (in [0, 1], sum 1)."""
    values = np.asarray(values, np.float64)
    return bool(values.min() >= -VALUE_TOLERANCE and values.max() <= 1.0 + VALUE_TOLERANCE
                and abs(values.sum() - 1.0) <= SUM_TOLERANCE)


def softmax(values: np.ndarray) -> np.ndarray:
    """Return the softmax of a 1-D array of logits (float32)."""
    exp = np.exp(values - values.max())
    return (exp / exp.sum()).astype(np.float32)


class ClassScores:
    """
    Turns one frame's raw classifier values into probabilities, checking the first frame.

    kind: 'softmax' (the values are probabilities), 'logit' (apply a softmax) or None (let the
    first frame decide). source: who said so, for the messages ('the model card', ...).
    After the first frame ``kind`` is set and ``finding`` holds the warning, if there was one;
    it goes to ``warn`` (a callable taking the text; default: a Python RuntimeWarning; the
    nodes set their logger's warning).
    """

    def __init__(self, kind: Optional[str] = None, source: str = '', warn=None):
        if kind not in (None, 'softmax', 'logit'):
            raise ValueError(f'classifier scores {kind!r}: softmax, logit or None')
        self.kind = kind
        self.source = source if kind else ''
        self.finding = ''
        self.warn = warn
        self._checked = False

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """Return the probabilities of one frame's values (1-D float array)."""
        if not self._checked:
            self._check(values)
        return values if self.kind == 'softmax' else softmax(values)

    def _check(self, values: np.ndarray):
        self._checked = True
        probabilities = looks_like_probabilities(values)
        seen = (f"the first frame's {len(values)} values sum to {float(values.sum()):.3f} "
                f'(range {float(values.min()):.3g} .. {float(values.max()):.3g})')
        if self.kind is None:
            self.kind, self.source = ('softmax' if probabilities else 'logit'), 'the first frame'
            self.finding = (f'classifier scores: nothing says whether the outputs are '
                            f'probabilities or logits; {seen}, so they are taken as '
                            f'{WHAT[self.kind]}. Set `scores: {self.kind}` in the model card '
                            'to say so.')
        elif probabilities != (self.kind == 'softmax'):
            other = 'logit' if self.kind == 'softmax' else 'softmax'
            verdict = 'look like probabilities' if probabilities else 'are no probabilities'
            self.finding = (f'classifier scores: {self.source} says the outputs are '
                            f'{WHAT[self.kind]}, but {seen} and {verdict}. Kept as '
                            f'{WHAT[self.kind]}; if that is wrong, set `scores: {other}` in '
                            'the model card.')
        if self.finding and self.warn is not None:
            self.warn(self.finding)
        elif self.finding:
            warnings.warn(self.finding, RuntimeWarning, stacklevel=4)


def decode_classes(outputs, binding: Binding, top_k: int, class_names,
                   scores: Optional[ClassScores] = None) -> Classifications:
    """
    Return the ``top_k`` most probable classes, most probable first.

    scores: how the values become probabilities (default: the layout's convention, checked).
    """
    values = to_float(outputs[binding.global_outputs.get('dense', 0)]).reshape(-1)
    if scores is None:
        scores = ClassScores(binding.layout.scores, f'the layout {binding.layout.name}')
    probs = scores(values)
    k = min(int(top_k), len(probs))
    top = np.argpartition(-probs, k - 1)[:k] if k < len(probs) else np.arange(len(probs))
    top = top[np.argsort(-probs[top], kind='stable')]
    return Classifications(top, probs[top], class_names)
