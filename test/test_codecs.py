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
Strict decoding of a corpus of damaged JPEG and PNG files made from a real picture.

Each damage is one a camera link or a recording produces: a frame cut short (with and without
an end marker appended by a muxer), headers with no scan, flipped bits in the entropy-coded
data, a PNG cut short, a PNG with a flipped bit (CRC), and a PNG whose chunk CRCs were
recomputed over a cut zlib stream (only inflating it shows the damage). The intact files must
decode exactly as OpenCV decodes them, the damaged ones must raise, and nothing may be printed.
"""

import os
import struct
import subprocess
import sys
import zlib

import cv2
from edge_perception import codecs
from edge_perception.errors import ImageFormatError
import numpy as np
import pytest
from skimage import data as skdata

from .helpers import subprocess_env


def _picture():
    return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)


def _png_chunks(png):
    pos, chunks = 8, []
    while pos < len(png):
        length, kind = struct.unpack('>I4s', png[pos:pos + 8])
        chunks.append((kind, png[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def _png_from(chunks):
    out = bytearray(codecs.PNG_MAGIC)
    for kind, body in chunks:
        out += struct.pack('>I', len(body)) + kind + body
        out += struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff)
    return bytes(out)


def corpus():
    """(name, bytes, intact) for every file of the corpus."""
    image = _picture()
    jpeg = cv2.imencode('.jpg', image)[1].tobytes()
    grey_jpeg = cv2.imencode('.jpg', cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))[1].tobytes()
    png = cv2.imencode('.png', image[:120, :160])[1].tobytes()
    sos = jpeg.find(codecs.JPEG_SOS)
    flipped = bytearray(jpeg)
    for i in np.random.default_rng(0).integers(sos + 200, len(jpeg) - 100, 4):
        flipped[i] ^= 0x5a
    png_flip = bytearray(png)
    png_flip[len(png) // 2] ^= 0x01
    chunks = _png_chunks(png)
    cut_stream = [(k, b[:len(b) // 2] if k == b'IDAT' else b) for k, b in chunks]
    yield 'jpeg', jpeg, True
    yield 'grey jpeg', grey_jpeg, True
    yield 'png', png, True
    yield 'jpeg cut at 50% with an end marker', jpeg[:len(jpeg) // 2] + codecs.JPEG_EOI, False
    yield 'jpeg header with no scan data', jpeg[:sos] + codecs.JPEG_EOI, False
    yield 'jpeg cut at 50%', jpeg[:len(jpeg) // 2], False
    yield 'jpeg with flipped bits in the scan', bytes(flipped), False
    yield 'png cut at 50%', png[:len(png) // 2], False
    yield 'png with a flipped bit', bytes(png_flip), False
    yield 'png with valid CRCs over a cut zlib stream', _png_from(cut_stream), False
    yield 'png without IEND', _png_from(chunks[:-1]), False


CORPUS = list(corpus())


@pytest.mark.parametrize('name,data,intact', CORPUS, ids=[c[0] for c in CORPUS])
def test_corpus(name, data, intact):
    if intact:
        expected = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        out = codecs.decode_image(data, name)
        assert out.shape == expected.shape and out.dtype == np.uint8
        # libjpeg-turbo in simplejpeg and OpenCV's libjpeg may round the IDCT differently
        assert np.abs(out.astype(int) - expected.astype(int)).max() <= (0 if 'png' in name else 8)
    else:
        with pytest.raises(ImageFormatError) as info:
            codecs.decode_image(data, name)
        assert name in str(info.value)


def test_jpeg_is_decoded_strictly_here():
    # the lock installs simplejpeg: without it, cut JPEGs with an end marker would pass
    assert codecs.STRICT_JPEG, 'simplejpeg is not importable: scripts/setup_env.sh installs it'


def test_the_decoders_print_nothing_for_the_corpus():
    """Decode the whole corpus in a fresh interpreter; its stderr and stdout stay empty."""
    code = ('import sys; sys.path.insert(0, %r)\n'
            'from test.test_codecs import CORPUS\n'
            'from edge_perception import codecs\n'
            'from edge_perception.errors import ImageFormatError\n'
            'for name, data, intact in CORPUS:\n'
            '    try:\n'
            '        codecs.decode_image(data, name)\n'
            '    except ImageFormatError:\n'
            '        pass\n') % os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, '-c', code], env=subprocess_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stderr == '' and run.stdout == ''


def test_opencv_alone_answers_damaged_jpegs():
    """The reason for all this: OpenCV's libjpeg returns an image for a cut frame."""
    cut = {c[0]: c[1] for c in CORPUS}['jpeg cut at 50% with an end marker']
    image = cv2.imdecode(np.frombuffer(cut, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == _picture().shape
