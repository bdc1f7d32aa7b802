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
Box-local instance masks: each mask stored inside its box only, memory = the boxes' area.

A dense (N, H, W) bool stack at source size costs N x H x W bytes (300 detections at 1080p:
~620 MB) although every mask is False outside its box. ``InstanceMasks`` keeps, per instance,
the top-left corner of its region and the bool array of that region; the dense stack, one
dense mask and the instance-id image are built from those on demand.
"""

from typing import Optional, Sequence

import numpy as np


class InstanceMasks:
    """
    N instance masks of an ``height`` x ``width`` image, each kept inside its region only.

    Instance i is ``crops[i]``, an (h_i, w_i) bool array whose top-left pixel is at column
    ``x0[i]``, row ``y0[i]``; every pixel outside that region is False.

    It stands in for the former (N, H, W) bool array: ``len``, ``shape``, ``dtype``,
    ``masks[i]`` (the dense (H, W) mask of instance i), ``masks[index]`` with an index array,
    a slice or a bool mask (the selected instances, as ``Detections`` indexing),
    ``np.asarray(masks)`` and ``masks.dense()`` (the dense (N, H, W) array), ``==`` / ``!=``
    (element-wise, on the dense arrays) and ``any()``. ``crop(i)``, ``regions``, ``area`` and
    ``id_image()`` work on the regions only.
    """

    __hash__ = None                     # == is element-wise, as on the array it replaces

    def __init__(self, x0: Sequence[int], y0: Sequence[int], crops: Sequence[np.ndarray],
                 height: int, width: int):
        self.x0 = np.asarray(x0, dtype=np.int64).reshape(-1)
        self.y0 = np.asarray(y0, dtype=np.int64).reshape(-1)
        self.crops = [np.ascontiguousarray(c, dtype=bool) for c in crops]
        self.height, self.width = int(height), int(width)
        n = len(self.crops)
        if len(self.x0) != n or len(self.y0) != n:
            raise ValueError(f'InstanceMasks: {n} crops but {len(self.x0)} x0 and '
                             f'{len(self.y0)} y0')
        for i, crop in enumerate(self.crops):
            x, y = int(self.x0[i]), int(self.y0[i])
            if crop.ndim != 2 or x < 0 or y < 0 or x + crop.shape[1] > self.width \
                    or y + crop.shape[0] > self.height:
                raise ValueError(f'InstanceMasks: crop {i} of shape {crop.shape} at ({x}, {y}) '
                                 f'is not a 2-D region of the {self.width}x{self.height} image')

    @classmethod
    def empty(cls, height: int, width: int) -> 'InstanceMasks':
        """No instances, in an ``height`` x ``width`` image."""
        return cls([], [], [], height, width)

    @classmethod
    def from_dense(cls, masks: np.ndarray) -> 'InstanceMasks':
        """Keep each mask of an (N, H, W) array inside the bounding box of its set pixels."""
        masks = np.asarray(masks, dtype=bool)
        if masks.ndim != 3:
            raise ValueError(f'InstanceMasks.from_dense: masks must be (N, H, W), '
                             f'got {masks.shape}')
        x0, y0, crops = [], [], []
        for mask in masks:
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            if len(rows):
                x0.append(cols[0])
                y0.append(rows[0])
                crops.append(mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy())
            else:
                x0.append(0)
                y0.append(0)
                crops.append(np.zeros((0, 0), bool))
        return cls(x0, y0, crops, masks.shape[1], masks.shape[2])

    def __len__(self) -> int:
        return len(self.crops)

    @property
    def shape(self):
        """Return (N, H, W), the shape of ``dense()``."""
        return (len(self), self.height, self.width)

    dtype = np.dtype(bool)
    ndim = 3

    @property
    def regions(self) -> np.ndarray:
        """(N, 4) int64: x0, y0, x1, y1 (exclusive) of each instance's stored region."""
        hw = np.array([c.shape for c in self.crops], np.int64).reshape(-1, 2)
        return np.stack([self.x0, self.y0, self.x0 + hw[:, 1], self.y0 + hw[:, 0]], axis=1)

    @property
    def area(self) -> np.ndarray:
        """(N,) int64: the number of pixels of each mask."""
        return np.array([np.count_nonzero(c) for c in self.crops], np.int64)

    @property
    def nbytes(self) -> int:
        """Bytes held by the masks (the regions' area plus the corners)."""
        return sum(c.nbytes for c in self.crops) + self.x0.nbytes + self.y0.nbytes

    def crop(self, i: int):
        """Return (x0, y0, (h, w) bool array) of instance ``i``: its region and where it lies."""
        return int(self.x0[i]), int(self.y0[i]), self.crops[i]

    def mask(self, i: int) -> np.ndarray:
        """Return the dense (H, W) bool mask of instance ``i``."""
        out = np.zeros((self.height, self.width), bool)
        x, y, crop = self.crop(i)
        out[y:y + crop.shape[0], x:x + crop.shape[1]] = crop
        return out

    def dense(self) -> np.ndarray:
        """Return all masks as one (N, H, W) bool array (N x H x W bytes: not for hot paths)."""
        out = np.zeros(self.shape, bool)
        for i, (x, y, crop) in enumerate(zip(self.x0, self.y0, self.crops)):
            out[i, y:y + crop.shape[0], x:x + crop.shape[1]] = crop
        return out

    def __array__(self, dtype=None, copy=None):
        """Return ``dense()`` (so ``np.asarray(masks)`` is the (N, H, W) array)."""
        out = self.dense()
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, index):
        """
        Select instances: ``masks[i]`` is a dense (H, W) mask, ``masks[idx]`` InstanceMasks.

        idx: an index array, a slice or a bool mask, as ``Detections`` indexing takes them.
        """
        if isinstance(index, tuple):
            if not index:
                return self
            first, rest = index[0], index[1:]
            picked = self[first]
            if isinstance(picked, InstanceMasks):
                return picked.dense()[(slice(None),) + rest]
            return picked[rest]
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f'instance {index} out of range for {n} masks')
            return self.mask(int(index) % n)
        picked = np.arange(len(self))[index]
        if np.ndim(picked) != 1:
            raise IndexError(f'InstanceMasks cannot be indexed with {index!r}')
        return InstanceMasks(self.x0[picked], self.y0[picked],
                             [self.crops[i] for i in picked], self.height, self.width)

    def __iter__(self):
        """Yield the dense (H, W) mask of each instance, as iterating the array did."""
        return (self.mask(i) for i in range(len(self)))

    def __eq__(self, other):
        """Compare element-wise on the dense arrays (an (N, H, W) bool array)."""
        return self.dense() == np.asarray(other)

    def __ne__(self, other):
        """Compare element-wise on the dense arrays (an (N, H, W) bool array)."""
        return self.dense() != np.asarray(other)

    def any(self, axis=None):       # noqa: A003 (ndarray's name, for users of the array)
        """Tell whether any pixel of any mask is set (with ``axis``: as ndarray.any)."""
        if axis is not None:
            return self.dense().any(axis=axis)
        return any(c.any() for c in self.crops)

    def id_image(self, dtype: Optional[type] = None) -> np.ndarray:
        """
        Return the (H, W) instance-id image: 0 background, instance index + 1 on its mask.

        Where masks overlap the lowest index wins (Detections are sorted by confidence, so
        the most confident). uint8 for up to 255 instances, else uint16 (unless ``dtype``).
        Work and memory: the regions' area plus one H x W image.
        """
        n = len(self)
        if dtype is None:
            dtype = np.uint8 if n <= 255 else np.uint16
        if n >= np.iinfo(dtype).max + 1:
            raise ValueError(f'{n} instances do not fit in {np.dtype(dtype).name}')
        ids = np.zeros((self.height, self.width), dtype)
        for i in range(n - 1, -1, -1):          # lower indices written last: they win
            x, y, crop = self.crop(i)
            if crop.size:
                ids[y:y + crop.shape[0], x:x + crop.shape[1]][crop] = i + 1
        return ids

    def __getattr__(self, name):
        """Point users of the former (N, H, W) array to ``dense()``."""
        if not name.startswith('__') and hasattr(np.ndarray, name):
            raise AttributeError(
                f'InstanceMasks has no {name!r}: masks are stored inside their boxes; use '
                f'masks.dense().{name} for the (N, H, W) array')
        raise AttributeError(name)

    def __repr__(self) -> str:
        return (f'InstanceMasks({len(self)} masks, {self.width}x{self.height}, '
                f'{self.nbytes} bytes)')
