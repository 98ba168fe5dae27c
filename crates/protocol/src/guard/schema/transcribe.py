#!/usr/bin/env python3
"""Maintenance aid, not part of the build: transcribes request schemas from
kafka-protocol's generated decoders (src/messages/*_request.rs) into the guard's
DSL, for a crate upgrade or a newly covered API. Review the output by hand; the
guard's round-trip test against the crate is the authority.

Usage: transcribe.py <crate>/src/messages <module>_request... > out.rs"""
import re, sys

MAX = 'MAX'

def find_block(text, start):
    """text[start] == '{'; return index of matching '}'."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '{': depth += 1
        elif text[i] == '}':
            depth -= 1
            if depth == 0: return i
    raise ValueError('unbalanced')

def parse_cond(c):
    lo, hi = 0, MAX
    c = c.strip()
    for part in c.split('&&'):
        part = part.strip()
        m = re.fullmatch(r'version (>=|<=|==) (\d+)', part)
        if not m: raise ValueError('cond ' + c)
        op, n = m.group(1), int(m.group(2))
        if op == '>=': lo = max(lo, n)
        elif op == '<=': hi = n if hi == MAX else min(hi, n)
        else: lo, hi = n, n
    return lo, hi

DEC = re.compile(r'types::(\w+)(?:\(types::(\w+)(?: \{ version \})?\))?(?: \{ version \})?\s*\.decode\(buf\)')

def base(t):
    return {'CompactArray': 'Array', 'CompactString': 'String', 'CompactBytes': 'Bytes'}.get(t, t)

def structs(text):
    out = {}
    for m in re.finditer(r'pub struct (\w+) \{', text):
        end = find_block(text, m.end() - 1)
        body = text[m.end():end]
        out[m.group(1)] = dict(re.findall(r'pub (\w+): ([^\n]+),\n', body))
    return out

def ty_of(dec, rust_ty, sdefs, cname):
    outer, inner = dec.group(1), dec.group(2)
    def elem_struct():
        names = [n for n in re.findall(r'\w+', rust_ty) if n in sdefs]
        if len(names) != 1: raise ValueError('struct type ' + rust_ty)
        return cname(names[0])
    o = base(outer)
    if o == 'Array':
        i = base(inner)
        if i == 'Struct': return f'Array(&Struct({elem_struct()}))'
        if 'Option<' in rust_ty.split('Vec<', 1)[1]: raise ValueError('nullable elements ' + rust_ty)
        return f'Array(&{map_prim(i)})'
    if o == 'Struct': return f'Struct({elem_struct()})'
    if o == 'OptionStruct': raise ValueError('OptionStruct')
    return map_prim(o)

def map_prim(t):
    return {'Boolean': 'Bool', 'Int8': 'Int8', 'Int16': 'Int16', 'Int32': 'Int32', 'Int64': 'Int64',
            'UInt16': 'Uint16', 'UInt32': 'Uint32', 'Float64': 'Float64', 'Uuid': 'Uuid',
            'String': 'String', 'Bytes': 'Bytes'}[t]

def decode_body(text, sname):
    m = re.search(r'impl Decodable for ' + sname + r' \{\s*fn decode<B: ByteBuf>\(buf: &mut B, version: i16\) -> Result<Self> \{', text)
    end = find_block(text, m.end() - 1)
    body = text[m.end():end]
    vm = re.match(r'\s*if (version < (\d+) \|\| version > (\d+)|version != (\d+)) \{', body)
    vr = (int(vm.group(2)), int(vm.group(3))) if vm.group(2) else (int(vm.group(4)), int(vm.group(4)))
    body = body[find_block(body, vm.end() - 1) + 1:]
    return vr, body[:body.index('Ok(Self {')]

def fmt_range(lo, hi, fl=None):
    s = ''
    if lo != 0 and hi != MAX: s += f'.versions({lo}, {hi})'
    elif lo != 0: s += f'.since({lo})'
    elif hi != MAX: s += f'.until({hi})'
    return s

def message(text, sname, sdefs, cname, flex_out):
    vr, body = decode_body(text, sname)
    fields = sdefs[sname]
    lines, tagged_names, flex = [], {}, None
    i = 0
    while i < len(body):
        m = re.compile(r'let (mut )?(\w+) = ').search(body, i)
        t = re.compile(r'\n        if version >= (\d+) \{\n            let num_tagged').search(body, i)
        t0 = re.compile(r'\n        let num_tagged_fields = ').search(body, i)
        if t0 and (not m or t0.start() <= m.start()) and not t:
            flex = 0
            blk = body[t0.end():]
            for am in re.finditer(r'(\d+) => \{\s*(?:if ([^{]+) \{\s*)?(\w+) = (types::[^;]+);', blk):
                tag, cond, name, dec = int(am.group(1)), am.group(2), am.group(3), am.group(4)
                lo, hi = parse_cond(cond) if cond else (0, MAX)
                d = DEC.search(dec)
                ty = ty_of(d, fields[name], sdefs, cname)
                nul = '.nullable()' if fields[name].startswith('Option<') else ''
                lines.append(f'    f("{name}", {ty}){fmt_range(lo, hi)}{nul}.tag({tag}),')
            break
        if t and (not m or t.start() < m.start()):
            flex = int(t.group(1))
            blk_end = find_block(body, t.end() - len('\n            let num_tagged') - 1)
            blk = body[t.end():blk_end]
            for am in re.finditer(r'(\d+) => \{\s*(?:if ([^{]+) \{\s*)?(\w+) = (types::[^;]+);', blk):
                tag, cond, name, dec = int(am.group(1)), am.group(2), am.group(3), am.group(4)
                lo, hi = parse_cond(cond) if cond else (0, MAX)
                d = DEC.search(dec)
                ty = ty_of(d, fields[name], sdefs, cname)
                nul = '.nullable()' if fields[name].startswith('Option<') else ''
                lines.append(f'    f("{name}", {ty}){fmt_range(lo, hi)}{nul}.tag({tag}),')
            i = blk_end + 1
            continue
        if not m: break
        name = m.group(2)
        j = m.end()
        if m.group(1):  # `let mut x = default;` : a tagged field or the unknown map
            i = body.index(';', j) + 1
            continue
        rest = body[j:]
        if rest.startswith('if '):
            ob = rest.index('{')
            cond = rest[3:ob]
            te = find_block(rest, ob)
            then = rest[ob:te]
            em = re.match(r'\s*else\s*\{', rest[te + 1:])
            ee = find_block(rest, te + 1 + em.end() - 1)
            els = rest[te + 1 + em.end():ee]
            stmt_end = j + ee + 1
            if '.decode(' in els:
                lo, hi = 0, MAX
            else:
                lo, hi = parse_cond(cond)
            d = DEC.search(then)
        else:
            stmt_end = j + rest.index(';')
            lo, hi = 0, MAX
            d = DEC.search(rest[:rest.index(';')])
            if d is None:  # not on the wire in this crate version (constant default)
                i = stmt_end + 1
                continue
        ty = ty_of(d, fields[name], sdefs, cname)
        nul = '.nullable()' if fields[name].startswith('Option<') else ''
        lines.append(f'    f("{name}", {ty}){fmt_range(lo, hi)}{nul},')
        i = body.index(';', stmt_end) + 1 if body[stmt_end:].lstrip().startswith(';') else stmt_end
    flex_out[sname] = flex
    return vr, lines

def main():
    d = sys.argv[1]
    for mod in sys.argv[2:]:
        text = open(f'{d}/{mod}.rs').read()
        sdefs = structs(text)
        top = [s for s in sdefs if s.endswith('Request') and 'impl Decodable for ' + s + ' ' in text]
        prefix = mod.upper().removesuffix('_REQUEST')
        def cname(s, prefix=prefix, top=top[0]):
            rest = s[len(top):] if s.startswith(top) and s != top else s
            rest = re.sub(r'(?<!^)([A-Z])', r'_\1', rest).upper()
            # FetchTopic in fetch_request -> FETCH_TOPIC, not FETCH_FETCH_TOPIC.
            if rest.startswith(prefix + '_'):
                return rest
            return f'{prefix}_{rest}'
        flex = {}
        order = [top[0]] + [s for s in sdefs if s != top[0] and 'impl Decodable for ' + s + ' ' in text]
        out = []
        for s in order:
            vr, lines = message(text, s, sdefs, cname, flex)
            out.append((s, vr, lines))
        s, vr, lines = out[0]
        fl = flex[s]
        fls = f'Some({fl})' if fl is not None else 'None'
        print(f'/// {s}: versions {vr[0]}-{vr[1]}, flexible {"from " + str(fl) if fl is not None else "never"}.')
        print(f'pub(crate) const {prefix}: Message = Message {{ versions: ({vr[0]}, {vr[1]}), flexible_from: {fls}, fields: &[')
        print('\n'.join(lines)); print(']};')
        for s, vr, lines in out[1:]:
            assert flex[s] == fl, (s, flex[s], fl)
            print(f'const {cname(s)}: &[Field] = &[')
            print('\n'.join(lines)); print('];')
        print()

main()
