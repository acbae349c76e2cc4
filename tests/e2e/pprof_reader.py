"""A minimal, independent reader of gzipped pprof profiles (profile.proto),
written from the protobuf wire format with the standard library only.  It
knows nothing of cgagent's encoder: it decodes varints and length-delimited
fields and reassembles sample types, samples, locations, functions,
mappings (id, file, build id), the default sample type and the period.
Source lines (Location.line[].line) come back in "sample_lines": per
sample, leaf first, (function name, line) pairs, line 0 when unknown."""
import gzip


def _varint(b, i):
    shift = result = 0
    while True:
        c = b[i]
        i += 1
        result |= (c & 0x7F) << shift
        if not c & 0x80:
            return result, i
        shift += 7


def fields(b):
    """Yields (field number, wire type, value) of one message."""
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        f, w = key >> 3, key & 7
        if w == 0:
            v, i = _varint(b, i)
        elif w == 2:
            n, i = _varint(b, i)
            v = b[i:i + n]
            i += n
        elif w == 1:
            v = b[i:i + 8]
            i += 8
        elif w == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError("bad wire type %d" % w)
        yield f, w, v


def packed(v, w):
    if w == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = _varint(v, i)
        out.append(x)
    return out


def read(path):
    with open(path, "rb") as f:
        data = gzip.decompress(f.read())
    strings, sample_types, samples, functions, locations = [], [], [], {}, {}
    mappings, scalars, period_type = [], {}, {}
    for f, w, v in fields(data):
        if f == 6:
            strings.append(v.decode("utf-8"))
        elif f == 1:
            sample_types.append(dict((ff, vv) for ff, _, vv in fields(v)))
        elif f == 2:
            locs, vals = [], []
            for ff, ww, vv in fields(v):
                if ff == 1:
                    locs += packed(vv, ww)
                elif ff == 2:
                    vals += packed(vv, ww)
            samples.append((locs, vals))
        elif f == 5:
            d = dict((ff, vv) for ff, _, vv in fields(v))
            functions[d[1]] = d
        elif f == 3:
            mappings.append(dict((ff, vv) for ff, _, vv in fields(v)))
        elif f == 11:
            period_type = dict((ff, vv) for ff, _, vv in fields(v))
        elif w == 0:
            scalars[f] = v
        elif f == 4:
            d = {"id": None, "functions": [], "lines": []}
            for ff, _, vv in fields(v):
                if ff == 1:
                    d["id"] = vv
                elif ff == 4:
                    line = dict((fff, vvv) for fff, _, vvv in fields(vv))
                    d["functions"].append(line.get(1, 0))
                    d["lines"].append(line.get(2, 0))
            locations[d["id"]] = d
    types = [strings[t.get(1, 0)] for t in sample_types]
    units = [strings[t.get(2, 0)] for t in sample_types]
    totals = {t: 0 for t in types}
    named, lined = [], []
    for locs, vals in samples:
        for t, v in zip(types, vals):
            totals[t] += v
        names, lines = [], []
        for lid in locs:
            loc = locations[lid]
            for fid, line in zip(loc["functions"], loc["lines"]):
                names.append(strings[functions[fid].get(2, 0)])
                lines.append((names[-1], line))
        named.append((names, vals))
        lined.append(lines)
    return {"types": types, "units": units, "totals": totals, "samples": named,
            "sample_lines": lined,
            "mappings": [(m.get(1), strings[m.get(5, 0)], strings[m.get(6, 0)])
                         for m in mappings],
            "default_type": strings[scalars.get(14, 0)],
            "period_type": (strings[period_type.get(1, 0)], strings[period_type.get(2, 0)]),
            "period": scalars.get(12, 0)}
