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
Camera frames kept in their YUV encoding until pre-processing: NV12 and packed YUV 4:2:2.

``preprocess`` converts only what the model's input needs from them (see
``edge_perception.fused_preprocess``); ``to_bgr`` gives the whole frame as OpenCV converts it
(BT.601, limited range), which is the reference every faster path is held to. An NV12 frame
may instead be full range (``Nv12Frame(..., yuv_range='full')``, JPEG's BT.601): it is then
decoded with the chroma of each 2x2 block repeated (as OpenCV's NV12 conversion and the
D-Robotics toolchain's NV12ToYUV444 do) and OpenCV's full-range ``COLOR_YCrCb2BGR``.
"""

from typing import Optional

import cv2
import numpy as np


def check_nv12_size(width: int, height: int) -> None:
    """Raise ValueError unless width x height can be NV12 (positive and even: 2x2 chroma)."""
    if width <= 0 or height <= 0 or width % 2 or height % 2:
        raise ValueError(f'NV12 needs an even width and height (its U/V plane is subsampled '
                         f'2x2), got {width}x{height}')


class YuvFrame:
    """A frame still in a YUV encoding: ``data``, ``width``, ``height`` and ``to_bgr()``."""

    __slots__ = ('data', 'width', 'height')

    def to_bgr(self) -> np.ndarray:
        """Return the whole frame as a BGR image (OpenCV's BT.601 conversion)."""
        return cv2.cvtColor(self.image, self._codes()[0])

    def convert(self, rgb: bool, dst: Optional[np.ndarray] = None) -> np.ndarray:
        """Convert the whole frame to BGR (or RGB), into ``dst`` (height, width, 3) if given."""
        if dst is None:
            return cv2.cvtColor(self.image, self._codes()[rgb])
        return _into(cv2.cvtColor(self.image, self._codes()[rgb], dst=dst), dst)

    def convert_rows(self, rows: np.ndarray, rgb: bool) -> np.ndarray:
        """Return only the given rows converted: (len(rows), width, 3), each as ``to_bgr``'s."""
        raise NotImplementedError

    def convert_sampled(self, rgb: bool, dst: np.ndarray) -> None:
        """
        Write into ``dst`` (h, w, 3) the pixels a point-sampling shrink to w x h reads.

        Only for shrinks ``samples_in_pairs`` accepts (each side by an odd whole factor or not
        at all, across by 3, 7, 11, ... to an even width): INTER_NEAREST_EXACT then picks
        source pixel k * x + (k - 1) / 2, which INTER_LINEAR reads with weight 1, and the
        bytes equal resizing ``to_bgr()`` (or RGB) with INTER_LINEAR.
        """
        raise NotImplementedError

    @property
    def image(self) -> np.ndarray:
        """Return the data in the shape OpenCV's colour conversion takes."""
        raise NotImplementedError

    def _codes(self):
        """Return the cv2 conversion codes (to BGR, to RGB) of the whole frame."""
        raise NotImplementedError


def _rows(image: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Return image[rows]: a strided view (no copy) when the rows are evenly spaced."""
    step = int(rows[1] - rows[0]) if len(rows) > 1 else 1
    if step > 0 and np.array_equal(rows, rows[0] + step * np.arange(len(rows))):
        return image[rows[0]:rows[-1] + 1:step]
    return image[rows]


def _into(out: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Make sure an OpenCV result is in ``dst`` (a binding may return a copy of a view)."""
    if out is not dst:
        dst[...] = out
    return dst


class Nv12Frame(YuvFrame):
    """
    A frame that is already NV12: a Y plane (height x width) then interleaved U, V at half size.

    data: a uint8 array of width*height*3/2 bytes in any shape (flat, or (height*3/2, width) as
    OpenCV and ROS ``nv12`` Images hold it). It is kept as given (no copy). yuv_range: the
    BT.601 range of the bytes, 'video' or 'full'; None (not stated) decodes as video.
    """

    __slots__ = ('yuv_range',)

    def __init__(self, data: np.ndarray, width: int, height: int,
                 yuv_range: Optional[str] = None):
        width, height = int(width), int(height)
        check_nv12_size(width, height)
        if yuv_range not in (None, 'video', 'full'):
            raise ValueError(f"NV12 yuv_range {yuv_range!r} is not None, 'video' or 'full'")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise ValueError('NV12 data must be a uint8 numpy array')
        if data.size != width * height * 3 // 2:
            raise ValueError(f'NV12 {width}x{height} needs {width * height * 3 // 2} bytes, '
                             f'got {data.size}')
        self.data, self.width, self.height = data, width, height
        #: the BT.601 range of the bytes: 'video' (OpenCV's), 'full' (JPEG's), or None: not
        #: stated (decoded as video; ``preprocess`` takes it to be an NV12 model's own range)
        self.yuv_range = yuv_range

    def in_range(self, yuv_range: str) -> 'Nv12Frame':
        """Return this frame, or a view of its data in ``yuv_range`` if its range is unstated."""
        if self.yuv_range is not None or yuv_range == 'video':
            return self
        return Nv12Frame(self.data, self.width, self.height, yuv_range)

    def to_bgr(self) -> np.ndarray:
        """Return the whole frame as a BGR image (in the frame's range; unstated: video)."""
        return self.convert(False)

    def convert(self, rgb: bool, dst: Optional[np.ndarray] = None) -> np.ndarray:
        """Convert the whole frame to BGR (or RGB), into ``dst`` (height, width, 3) if given."""
        if self.yuv_range != 'full':
            return super().convert(rgb, dst)
        image, height, width = self.image, self.height, self.width
        chroma = image[height:].reshape(height // 2, width // 2, 2)
        return full_range_nv12_to_bgr(image[:height], chroma, (width, height), rgb, dst)

    @property
    def flat(self) -> np.ndarray:
        """Return the buffer as a flat array (a view when the data is contiguous)."""
        return self.data.reshape(-1)

    @property
    def image(self) -> np.ndarray:
        """Return the buffer as (height * 3/2, width): the Y rows, then the U/V rows."""
        return self.data.reshape(self.height * 3 // 2, self.width)

    def convert_rows(self, rows: np.ndarray, rgb: bool) -> np.ndarray:
        """
        Return only the given rows converted, each exactly as ``to_bgr`` converts it.

        Pixel row r of NV12 is Y row r with the U/V row r // 2; put side by side they are the
        bytes of YUYV (Y0 U Y1 V), which OpenCV converts with the same BT.601 formula (the
        tests hold the result to the whole-frame conversion, bit for bit).
        """
        image = self.image
        chroma = np.take(image, self.height + rows // 2, axis=0)
        if self.yuv_range == 'full':
            chroma = chroma.reshape(len(rows), self.width // 2, 2)
            return full_range_nv12_to_bgr(_rows(image, rows), chroma, (self.width, len(rows)),
                                          rgb)
        yuyv = cv2.merge([_rows(image, rows), chroma])
        return cv2.cvtColor(yuyv, cv2.COLOR_YUV2RGB_YUYV if rgb else cv2.COLOR_YUV2BGR_YUYV)

    def convert_sampled(self, rgb: bool, dst: np.ndarray) -> None:
        """
        Write the picked pixels into ``dst`` (see ``YuvFrame.convert_sampled``).

        Seen as 16-bit values, the Y plane holds pixel pairs and the U/V plane each pair's
        chroma: one INTER_NEAREST_EXACT each picks, for every output pixel, the pair of its
        source pixel and that pair's chroma (the chroma plane's half size maps to the same
        rows and pairs at odd factors); side by side they are YUYV (``_wanted_of_pairs``).
        Full range converts per pixel, so it picks the pixels themselves.
        """
        height, (new_h, new_w) = self.height, dst.shape[:2]
        image, size, exact = self.image, (new_w, new_h), cv2.INTER_NEAREST_EXACT
        y_plane, uv_plane = image[:height], image[height:]
        if self.yuv_range == 'full':
            chroma = cv2.resize(uv_plane.reshape(height // 2, self.width // 2, 2), size,
                                interpolation=exact)
            full_range_nv12_to_bgr(cv2.resize(y_plane, size, interpolation=exact), chroma,
                                   size, rgb, dst)
            return
        luma = cv2.resize(y_plane.view(np.uint16), size, interpolation=exact)
        chroma = cv2.resize(uv_plane.view(np.uint16), size, interpolation=exact)
        pairs = cv2.merge([luma.view(np.uint8), chroma.view(np.uint8)])   # (h, 2 w, 2) YUYV
        _wanted_of_pairs(pairs, (cv2.COLOR_YUV2BGR_YUYV, cv2.COLOR_YUV2RGB_YUYV)[rgb], dst)

    def _codes(self):
        return cv2.COLOR_YUV2BGR_NV12, cv2.COLOR_YUV2RGB_NV12


def full_range_nv12_to_bgr(y: np.ndarray, chroma: np.ndarray, size, rgb: bool,
                           dst: Optional[np.ndarray] = None) -> np.ndarray:
    """
    Decode full-range BT.601 Y (h, w) and U, V pairs (rows, w / 2, 2) to BGR (or RGB).

    The chroma is swapped to V, U at its own size and repeated to ``size`` (INTER_NEAREST
    doubles exactly: source pixel floor(x / 2)), so each pixel's YCrCb goes through OpenCV's
    full-range inverse (JPEG's: R = Y + 1.402 (V - 128), ...; the tests hold it to that).
    ``cv2.mixChannels`` swaps and interleaves (numpy's strided copies cost ~7x more).
    """
    swapped = np.empty(chroma.shape, np.uint8)
    cv2.mixChannels([chroma], [swapped], [0, 1, 1, 0])
    ycrcb = np.empty((size[1], size[0], 3), np.uint8)
    cv2.mixChannels([y, cv2.resize(swapped, tuple(size), interpolation=cv2.INTER_NEAREST)],
                    [ycrcb], [0, 0, 1, 1, 2, 2])
    code = cv2.COLOR_YCrCb2RGB if rgb else cv2.COLOR_YCrCb2BGR
    if dst is None:
        return cv2.cvtColor(ycrcb, code)
    return _into(cv2.cvtColor(ycrcb, code, dst=dst), dst)


class Yuv422Frame(YuvFrame):
    """
    A packed YUV 4:2:2 frame: (height, width, 2) uint8, byte order YUYV or UYVY.

    data: the message's pixels as they are (a view; rows may be padded). ``order``: ``'yuyv'``
    (Y0 U Y1 V, ROS ``yuyv``/``yuv422_yuy2``) or ``'uyvy'`` (U Y0 V Y1, ROS ``yuv422``).
    """

    __slots__ = ('order',)
    CODES = {'yuyv': (cv2.COLOR_YUV2BGR_YUYV, cv2.COLOR_YUV2RGB_YUYV),
             'uyvy': (cv2.COLOR_YUV2BGR_UYVY, cv2.COLOR_YUV2RGB_UYVY)}

    def __init__(self, data: np.ndarray, width: int, height: int, order: str = 'yuyv'):
        width, height = int(width), int(height)
        if order not in self.CODES:
            raise ValueError(f'YUV 4:2:2 order {order!r} is not one of {tuple(self.CODES)}')
        if width <= 0 or height <= 0 or width % 2:
            raise ValueError(f'YUV 4:2:2 needs a positive, even width (U/V are shared by pixel '
                             f'pairs), got {width}x{height}')
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 \
                or data.shape != (height, width, 2):
            raise ValueError(f'YUV 4:2:2 {width}x{height} data must be a uint8 array of shape '
                             f'{(height, width, 2)}, got {getattr(data, "shape", None)}')
        self.data, self.width, self.height, self.order = data, width, height, order

    @property
    def image(self) -> np.ndarray:
        """Return the (height, width, 2) pixels."""
        return self.data

    def convert_rows(self, rows: np.ndarray, rgb: bool) -> np.ndarray:
        """Return only the given rows converted (evenly spaced rows are read as a view)."""
        return cv2.cvtColor(_rows(self.data, rows), self._codes()[rgb])

    def convert_sampled(self, rgb: bool, dst: np.ndarray) -> None:
        """
        Write the picked pixels into ``dst`` (see ``YuvFrame.convert_sampled``).

        Seen as 4-byte pixel pairs, one INTER_NEAREST_EXACT picks for every output pixel the
        pair (both Y, its U and V) its source pixel is in (``_wanted_of_pairs``).
        """
        new_h, new_w = dst.shape[:2]
        pairs = cv2.resize(self.data.reshape(self.height, self.width // 2, 4), (new_w, new_h),
                           interpolation=cv2.INTER_NEAREST_EXACT)
        _wanted_of_pairs(pairs, self._codes()[rgb], dst)

    def _codes(self):
        return self.CODES[self.order]


def samples_in_pairs(src_w: int, new_w: int) -> bool:
    """
    Return whether a point-sampled shrink across from src_w to new_w suits ``convert_sampled``.

    Output pixel x reads source pixel k * x + (k - 1) / 2; for k = 3, 7, 11, ... that is the
    second pixel of its pair for even x and the first for odd x, so each two neighbouring
    outputs sit side by side in the converted pairs (``_wanted_of_pairs``). An even new_w
    keeps the outputs in twos; other factors keep the row conversion.
    """
    return new_w % 2 == 0 and src_w == new_w * (src_w // new_w) and (src_w // new_w) % 4 == 3


def _wanted_of_pairs(pairs: np.ndarray, code: int, dst: np.ndarray) -> None:
    """
    Convert (h, w, 4) YUYV/UYVY pairs and write pixel 1 of even, pixel 0 of odd pairs to dst.

    Each pair is converted whole (OpenCV converts every pixel from its own Y and the pair's U,
    V); of the 2 w pixels, the wanted ones are 4 m + 1 and 4 m + 2: one 6-byte block that
    starts one pixel in. Read from there (one spare pixel at the end), the blocks are every
    other 6-byte "pixel", the even ones, which INTER_NEAREST halving picks (floor(2 x), on
    every OpenCV; INTER_NEAREST_EXACT halving takes the odd ones on 4.14, the even on 4.5.4).
    """
    new_h, new_w = dst.shape[:2]
    buf = np.empty((new_h, 2 * new_w + 1, 3), np.uint8)
    wide = buf[:, :2 * new_w]
    _into(cv2.cvtColor(pairs.reshape(new_h, 2 * new_w, 2), code, dst=wide), wide)
    blocks = _as_blocks(buf[:, 1:])
    if dst.strides[1:] == (3, 1):
        out = _as_blocks(dst)
        _into(cv2.resize(blocks, (new_w // 2, new_h), dst=out,
                         interpolation=cv2.INTER_NEAREST), out)
    else:
        dst[...] = cv2.resize(blocks, (new_w // 2, new_h),
                              interpolation=cv2.INTER_NEAREST).reshape(dst.shape)


def _as_blocks(pixels: np.ndarray) -> np.ndarray:
    """Return a view of (h, 2 n[+ 1], 3) uint8 pixels (strided rows too) as (h, n, 6)."""
    height, width = pixels.shape[:2]
    return np.lib.stride_tricks.as_strided(pixels, (height, width // 2, 6),
                                           (pixels.strides[0], 6, 1))


def bgr_to_nv12(image: np.ndarray) -> np.ndarray:
    """
    Convert a BGR image with even sides to a flat NV12 buffer, as the D-Robotics demos do.

    OpenCV's BGR -> I420 (BT.601, limited range), then the U and V planes interleaved, U first.
    """
    height, width = image.shape[:2]
    check_nv12_size(width, height)
    nv12 = np.empty(height * width * 3 // 2, np.uint8)
    y_plane, uv_plane = nv12_planes(nv12, width, height)
    i420_into_nv12(cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420), y_plane, uv_plane)
    return nv12


def nv12_planes(nv12: np.ndarray, width: int, height: int):
    """Return views of a flat NV12 buffer: Y (height, width), U/V (height/2, width/2, 2)."""
    area = width * height
    return (nv12[:area].reshape(height, width),
            nv12[area:].reshape(height // 2, width // 2, 2))


def i420_into_nv12(i420: np.ndarray, y_plane: np.ndarray, uv_plane: np.ndarray) -> None:
    """Write OpenCV's I420 (h*3/2, w) into NV12 plane views: Y as is, then U and V paired."""
    height, width = y_plane.shape
    flat = i420.reshape(-1)
    area, quarter = height * width, height * width // 4
    y_plane[...] = flat[:area].reshape(height, width)
    u = flat[area:area + quarter].reshape(height // 2, width // 2)
    v = flat[area + quarter:].reshape(height // 2, width // 2)
    _into(cv2.merge([u, v], dst=uv_plane), uv_plane)
