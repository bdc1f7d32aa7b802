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
Read the Python API of a CPython extension module (an aarch64 ELF ``.so``) from its tables.

Test support: the RDK fakes are held against the real ``pyeasy_dnn.so`` with it. Only the
Python standard library is used. What is read, and how:

- the ELF section headers, symbol tables and relocations (R_AARCH64_RELATIVE gives the pointer
  values of position-independent data, GLOB_DAT / JUMP_SLOT the imported symbols);
- the ``PyModuleDef`` (``m_name``, ``m_methods``), every ``PyTypeObject`` (``tp_name``,
  ``tp_methods``, ``tp_getset``), every ``PyMethodDef`` (name, C function, METH flags) and
  ``PyGetSetDef`` (name, getter, setter) table these point to;
- a small decoder of the AArch64 instructions compilers emit for argument set-up (ADRP, ADD,
  MOV, MOVZ, LDR/STR/STP with an immediate offset, B, BL, RET) follows each C function: the
  format string, keyword array and default values handed to ``PyArg_ParseTupleAndKeywords``;
  the exception type and message of every ``PyErr_SetString`` and what the function returns
  afterwards (``None`` with an exception set is what CPython turns into a SystemError); the
  CPython constructors (``PyLong_FromLong``, ``PyTuple_New``, ...) a getter calls; the names
  ``PyModule_AddObject`` gives the types in the module init function.
"""

import re
import struct

SHT_SYMTAB, SHT_DYNSYM, SHT_RELA = 2, 11, 4
R_AARCH64_GLOB_DAT, R_AARCH64_JUMP_SLOT, R_AARCH64_RELATIVE = 1025, 1026, 1027
R_AARCH64_ABS64 = 257
# CPython object layouts on a 64-bit target (stable from 3.8 on for the fields read here).
TP_NAME, TP_METHODS, TP_GETSET, TP_INIT, TP_NEW = 24, 232, 248, 296, 312
MODULEDEF_SIZE, M_NAME, M_METHODS = 104, 40, 64
METHODDEF_SIZE, GETSETDEF_SIZE = 32, 40
METH_FLAGS = {0x1: 'METH_VARARGS', 0x2: 'METH_KEYWORDS', 0x4: 'METH_NOARGS', 0x8: 'METH_O',
              0x10: 'METH_CLASS', 0x20: 'METH_STATIC', 0x80: 'METH_FASTCALL'}
XZR = 31        # register number 31: xzr/wzr as a data register, sp as a base register
SP = 'sp'


class Elf:
    """The parts of a little-endian ELF64 shared object the reader needs."""

    def __init__(self, path: str):
        with open(path, 'rb') as f:
            self.data = f.read()
        if self.data[:4] != b'\x7fELF' or self.data[4] != 2 or self.data[5] != 1:
            raise ValueError(f'{path} is not a little-endian ELF64 file')
        (self.machine,) = struct.unpack_from('<H', self.data, 18)
        shoff, = struct.unpack_from('<Q', self.data, 40)
        shentsize, shnum, shstrndx = struct.unpack_from('<HHH', self.data, 58)
        raw = [struct.unpack_from('<IIQQQQIIQQ', self.data, shoff + i * shentsize)
               for i in range(shnum)]
        names = raw[shstrndx]
        self.sections = []
        for (name, kind, _flags, addr, offset, size, link, _info, _align, entsize) in raw:
            self.sections.append({'name': self._str(names[4] + name), 'type': kind,
                                  'addr': addr, 'offset': offset, 'size': size,
                                  'link': link, 'entsize': entsize})
        self.symbols = self._symbols(SHT_SYMTAB) or self._symbols(SHT_DYNSYM)
        self.by_addr = {}
        for sym in self.symbols:
            if sym['value'] and sym['name'] and not sym['name'].startswith('$'):
                self.by_addr.setdefault(sym['value'], sym)
        self.by_name = {s['name']: s for s in self.symbols if s['name']}
        self.relative, self.imports = {}, {}
        dynsym = self._symbols(SHT_DYNSYM)
        for sec in self.sections:
            if sec['type'] != SHT_RELA:
                continue
            for i in range(sec['size'] // 24):
                where, info, addend = struct.unpack_from('<QQq', self.data,
                                                         sec['offset'] + 24 * i)
                kind, index = info & 0xffffffff, info >> 32
                if kind == R_AARCH64_RELATIVE:
                    self.relative[where] = addend
                elif kind in (R_AARCH64_GLOB_DAT, R_AARCH64_JUMP_SLOT, R_AARCH64_ABS64):
                    self.imports[where] = dynsym[index]['name'].split('@')[0]

    def _str(self, offset: int) -> str:
        end = self.data.index(b'\0', offset)
        return self.data[offset:end].decode('utf-8', 'replace')

    def _symbols(self, kind: int) -> list:
        for sec in self.sections:
            if sec['type'] == kind:
                strtab = self.sections[sec['link']]['offset']
                out = []
                for i in range(sec['size'] // 24):
                    name, _info, _other, _shndx, value, size = struct.unpack_from(
                        '<IBBHQQ', self.data, sec['offset'] + 24 * i)
                    out.append({'name': self._str(strtab + name), 'value': value,
                                'size': size})
                return out
        return []

    def offset(self, addr: int) -> int:
        """File offset of a virtual address (in a section with file contents)."""
        for sec in self.sections:
            if sec['addr'] and sec['addr'] <= addr < sec['addr'] + sec['size'] \
                    and sec['type'] != 8:       # SHT_NOBITS
                return sec['offset'] + addr - sec['addr']
        raise ValueError(f'address {addr:#x} has no file contents')

    def pointer(self, addr: int) -> int:
        """Return the value a loaded pointer at addr holds (relocation addend or stored)."""
        if addr in self.relative:
            return self.relative[addr]
        return struct.unpack_from('<Q', self.data, self.offset(addr))[0]

    def int32(self, addr: int) -> int:
        return struct.unpack_from('<i', self.data, self.offset(addr))[0]

    def cstring(self, addr: int) -> str:
        return self._str(self.offset(addr))

    def symbol_at(self, addr: int):
        sym = self.by_addr.get(addr)
        return sym['name'] if sym else None

    def code(self, name: str):
        """(address, instruction) pairs of a function symbol."""
        sym = self.by_name[name]
        start = self.offset(sym['value'])
        words = struct.unpack_from(f'<{sym["size"] // 4}I', self.data, start)
        return [(sym['value'] + 4 * i, w) for i, w in enumerate(words)]

    def plt_target(self, addr: int):
        """Name of the function a PLT stub at addr jumps to (adrp x16 + ldr x17), or None."""
        try:
            first, second = struct.unpack_from('<II', self.data, self.offset(addr))
        except (ValueError, struct.error):
            return None
        page = _adrp(first, addr)
        if page is None or (second & 0xffc00000) != 0xf9400000:
            return None
        return self.imports.get(page[1] + ((second >> 10) & 0xfff) * 8)


def _sign(value: int, bits: int) -> int:
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def _adrp(insn: int, pc: int):
    if (insn & 0x9f000000) != 0x90000000:
        return None
    imm = ((insn >> 5) & 0x7ffff) << 2 | (insn >> 29) & 3
    return insn & 31, (pc & ~0xfff) + (_sign(imm, 21) << 12)


def decode(insn: int, pc: int):
    """Decode the few AArch64 instructions the reader follows; None for any other."""
    rd, rn = insn & 31, (insn >> 5) & 31
    page = _adrp(insn, pc)
    if page is not None:
        return ('adrp', page[0], page[1])
    if (insn & 0x7f800000) == 0x11000000:                        # ADD (immediate)
        imm = ((insn >> 10) & 0xfff) << (12 if insn & (1 << 22) else 0)
        return ('add', rd, SP if rn == XZR else rn, imm)
    if (insn & 0x7fe0ffe0) == 0x2a0003e0:                        # MOV (register) = ORR
        return ('mov', rd, (insn >> 16) & 31)
    if (insn & 0x7f800000) == 0x52800000:                        # MOVZ
        return ('movz', rd, ((insn >> 5) & 0xffff) << 16 * ((insn >> 21) & 3))
    for mask, size, kind in ((0xf9400000, 8, 'ldr'), (0xb9400000, 4, 'ldr'),
                             (0xf9000000, 8, 'str'), (0xb9000000, 4, 'str')):
        if (insn & 0xffc00000) == mask:
            return (kind, rd, SP if rn == XZR else rn, ((insn >> 10) & 0xfff) * size, size)
    for mask, size in ((0xa9000000, 8), (0x29000000, 4)):       # STP, signed offset
        if (insn & 0xffc00000) == mask:
            off = _sign((insn >> 15) & 0x7f, 7) * size
            return ('stp', rd, (insn >> 10) & 31, SP if rn == XZR else rn, off, size)
    if (insn & 0xfc000000) == 0x94000000:
        return ('bl', pc + _sign(insn & 0x3ffffff, 26) * 4)
    if (insn & 0xfc000000) == 0x14000000:
        return ('b', pc + _sign(insn & 0x3ffffff, 26) * 4)
    if insn == 0xd65f03c0:
        return ('ret',)
    return None


class _Machine:
    """Symbolic register and stack-slot values along one straight path of a function."""

    def __init__(self, elf: Elf):
        self.elf, self.regs, self.stack = elf, {}, {}

    def step(self, pc: int, insn: int):
        """Apply one instruction; return it decoded (or None when it is not followed)."""
        op = decode(insn, pc)
        regs = self.regs
        if op is None:
            # Unknown instruction: forget what it may write (its Rd field, a guess that keeps
            # values honest: a wrong value is dropped rather than kept).
            regs.pop(insn & 31, None)
            return None
        kind = op[0]
        if kind == 'adrp':
            regs[op[1]] = ('addr', op[2])
        elif kind == 'add':
            base = ('sp', 0) if op[2] == SP else regs.get(op[2])
            if op[1] == XZR and op[2] != SP:
                pass
            elif base and base[0] in ('addr', 'sp'):
                regs[SP if op[1] == XZR else op[1]] = (base[0], base[1] + op[3])
            else:
                regs.pop(op[1], None)
        elif kind == 'mov':
            value = ('imm', 0) if op[2] == XZR else regs.get(op[2])
            if value is None:
                regs.pop(op[1], None)
            else:
                regs[op[1]] = value
        elif kind == 'movz':
            regs[op[1]] = ('imm', op[2])
        elif kind == 'ldr':
            base = regs.get(op[2]) if op[2] != SP else None
            value = None
            if base and base[0] == 'addr':
                target = base[1] + op[3]
                if target in self.elf.imports:     # a GOT slot: the symbol's address
                    value = ('address_of', self.elf.imports[target])
            elif base and base[0] == 'address_of' and op[3] == 0:
                value = ('value_of', base[1])       # e.g. the object PyExc_TypeError names
            elif op[2] == SP:
                value = self.stack.get(op[3])
            if value is None:
                regs.pop(op[1], None)
            else:
                regs[op[1]] = value
        elif kind in ('str', 'stp'):
            if kind == 'str':
                pairs, base, off = [(op[1], 0)], op[2], op[3]
            else:
                pairs, base, off = [(op[1], 0), (op[2], op[5])], op[3], op[4]
            if base == SP:
                for reg, extra in pairs:
                    value = ('imm', 0) if reg == XZR else regs.get(reg)
                    self.stack[off + extra] = value
        elif kind == 'bl':
            for reg in range(19):                  # x0-x18 are not preserved across calls
                regs.pop(reg, None)
        return op

    def value(self, reg: int):
        return self.regs.get(reg)


def _target_name(elf: Elf, addr: int):
    return elf.plt_target(addr) or elf.symbol_at(addr)


def calls(elf: Elf, function: str):
    """Yield (callee, machine) at every BL of a function, in address order."""
    machine = _Machine(elf)
    for pc, insn in elf.code(function):
        op = decode(insn, pc)
        if op and op[0] == 'bl':
            yield _target_name(elf, op[1]), machine, pc
        machine.step(pc, insn)


def _return_after(elf: Elf, function: str, start: int, machine: _Machine, limit: int = 200):
    """Follow a path from start to RET (unconditional branches taken); return x0 there."""
    sym = elf.by_name[function]
    end = sym['value'] + sym['size']
    pc = start
    for _ in range(limit):
        if not sym['value'] <= pc < end:
            return None
        (insn,) = struct.unpack_from('<I', elf.data, elf.offset(pc))
        op = machine.step(pc, insn)
        if op and op[0] == 'ret':
            return machine.value(0)
        pc = op[1] if op and op[0] == 'b' else pc + 4
    return None


def _string(elf: Elf, value):
    if value and value[0] == 'addr':
        try:
            return elf.cstring(value[1])
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def _method_table(elf: Elf, addr: int) -> list:
    out = []
    while addr and elf.pointer(addr):
        func = elf.pointer(addr + 8)
        out.append({'name': elf.cstring(elf.pointer(addr)), 'function': elf.symbol_at(func),
                    'flags': elf.int32(addr + 16)})
        addr += METHODDEF_SIZE
    return out


def _getset_table(elf: Elf, addr: int) -> list:
    out = []
    while addr and elf.pointer(addr):
        getter, setter = elf.pointer(addr + 8), elf.pointer(addr + 16)
        out.append({'name': elf.cstring(elf.pointer(addr)), 'getter': elf.symbol_at(getter),
                    'setter': elf.symbol_at(setter) if setter else None})
        addr += GETSETDEF_SIZE
    return out


def flag_names(flags: int) -> set:
    """METH_* names of a PyMethodDef ml_flags value."""
    return {name for bit, name in METH_FLAGS.items() if flags & bit}


def parse_format(fmt: str) -> list:
    """Return (unit, optional) per argument of a PyArg_Parse format ('O|ii')."""
    units, optional = [], False
    for char in fmt.split(':')[0].split(';')[0]:
        if char == '|':
            optional = True
        elif char == '$':
            continue
        elif char.isalpha():
            units.append((char, optional))
        else:
            units[-1] = (units[-1][0] + char, units[-1][1])     # 's#', 'O!', 'es' ...
    return units


def arguments(elf: Elf, function: str):
    """Read a function's PyArg_ParseTupleAndKeywords call: format, keywords, defaults."""
    for callee, machine, _ in calls(elf, function):
        if callee != 'PyArg_ParseTupleAndKeywords':
            continue
        fmt = _string(elf, machine.value(2))
        kwlist = machine.value(3)
        names = []
        if kwlist and kwlist[0] == 'addr':
            addr = kwlist[1]
            while elf.pointer(addr):
                names.append(elf.cstring(elf.pointer(addr)))
                addr += 8
        units = parse_format(fmt)
        args = []
        for i, (name, (unit, optional)) in enumerate(zip(names, units)):
            slot = machine.value(4 + i)
            default = machine.stack.get(slot[1]) if slot and slot[0] == 'sp' else None
            args.append({'name': name, 'unit': unit, 'optional': optional,
                         'default': default[1] if optional and default
                         and default[0] == 'imm' else None})
        return {'format': fmt, 'keywords': names, 'args': args,
                'keyword_symbol': elf.symbol_at(kwlist[1]) if kwlist else None}
    return None


def error_sites(elf: Elf, function: str) -> list:
    """Every PyErr_SetString in a function: exception, message, what the function returns."""
    out = []
    for callee, machine, pc in calls(elf, function):
        if callee != 'PyErr_SetString':
            continue
        exc, message = machine.value(0), _string(elf, machine.value(1))
        after = _Machine(elf)
        after.regs = {r: v for r, v in machine.regs.items() if not isinstance(r, int) or r > 18}
        returned = _return_after(elf, function, pc + 4, after)
        out.append({'exception': exc[1] if exc and exc[0] == 'value_of' else None,
                    'message': message, 'returns': _returned(returned)})
    return out


def _returned(value):
    if value == ('address_of', '_Py_NoneStruct'):
        return 'None'
    return 'NULL' if value == ('imm', 0) else None


def on_null_from(elf: Elf, function: str, callee: str):
    """Tell what a function returns when callee returns NULL (a CBZ x0 after the call)."""
    code = dict(elf.code(function))
    for name, machine, pc in calls(elf, function):
        if name != callee:
            continue
        branch = next((a for a in (pc + 4, pc + 8, pc + 12)
                       if (code.get(a, 0) & 0xff00001f) == 0xb4000000), None)   # CBZ x0
        if branch is None:
            continue
        target = branch + _sign((code[branch] >> 5) & 0x7ffff, 19) * 4
        after = _Machine(elf)
        after.regs = {r: v for r, v in machine.regs.items() if not isinstance(r, int) or r > 18}
        return _returned(_return_after(elf, function, target, after))
    return None


def callees(elf: Elf, function: str) -> set:
    """Names of the functions a function calls directly (tail calls by B included)."""
    out = {callee for callee, _, _ in calls(elf, function) if callee}
    sym = elf.by_name[function]
    for pc, insn in elf.code(function):
        op = decode(insn, pc)
        if op and op[0] == 'b' and not sym['value'] <= op[1] < sym['value'] + sym['size']:
            out.add(_target_name(elf, op[1]))
    return out - {None}


def module_objects(elf: Elf, init: str) -> dict:
    """{name: symbol} of the PyModule_AddObject calls in a module init function."""
    # PyInit_x may be a bare branch to a local alias: follow it.
    code = elf.code(init)
    op = decode(code[0][1], code[0][0])
    if op and op[0] == 'b':
        init = elf.symbol_at(op[1]) or init
    out = {}
    for callee, machine, _ in calls(elf, init):
        if callee == 'PyModule_AddObject':
            obj = machine.value(2)
            out[_string(elf, machine.value(1))] = elf.symbol_at(obj[1]) if obj else None
    return out


def read_api(path: str) -> dict:
    """Read the module's Python API as the ELF tables and code show it."""
    elf = Elf(path)
    if elf.machine != 183:
        raise ValueError(f'{path} is not an AArch64 ELF (e_machine {elf.machine})')
    init = [s['name'] for s in elf.symbols if re.match(r'PyInit_\w+$', s['name'])]
    module_init = next(n for n in init if elf.by_name[n]['size'])
    modules, types = [], {}
    for sym in elf.symbols:
        if not sym['name'] or sym['name'].startswith('$') or not sym['size']:
            continue
        try:
            if sym['size'] == MODULEDEF_SIZE:
                name, methods = elf.pointer(sym['value'] + M_NAME), \
                    elf.pointer(sym['value'] + M_METHODS)
                if name and methods and elf.symbol_at(methods):
                    modules.append({'symbol': sym['name'], 'name': elf.cstring(name),
                                    'methods': _method_table(elf, methods)})
            elif sym['size'] >= 400:
                tp_name = elf.pointer(sym['value'] + TP_NAME)
                if not tp_name:
                    continue
                name = elf.cstring(tp_name)
                if not re.match(r'[\w.]+$', name):
                    continue
                methods = elf.pointer(sym['value'] + TP_METHODS)
                getset = elf.pointer(sym['value'] + TP_GETSET)
                types[sym['name']] = {
                    'tp_name': name, 'methods': _method_table(elf, methods),
                    'getset': _getset_table(elf, getset),
                    'tp_init': elf.symbol_at(elf.pointer(sym['value'] + TP_INIT)),
                    'tp_new': elf.imports.get(sym['value'] + TP_NEW)
                    or elf.symbol_at(elf.pointer(sym['value'] + TP_NEW))}
        except (ValueError, UnicodeDecodeError, struct.error):
            continue
    exported = module_objects(elf, module_init)
    for attr, symbol in exported.items():
        if symbol in types:
            types[symbol]['attribute'] = attr
    return {'elf': elf, 'init': module_init, 'modules': modules,
            'types': {t['attribute']: t for t in types.values() if 'attribute' in t}}
