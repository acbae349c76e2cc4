"""The profile document of SPEC section 5: validation and easy reading.

DESIGN: validate_profile() lists every way a document departs from the
contract instead of stopping at the first, so the CodeGuru emulator can
record problems and still answer 204 (tests then assert "every document
valid").  stacks() and totals() flatten a call graph for assertions such as
"the hot function has RUNNABLE samples".  Pure functions, no I/O.
"""
import json

# TIMED_WAITING: Java threads waiting with a timeout (docs/java.md), a JVM
# state the CodeGuru console shows (reference: "Selecting and coloring
# thread states").
COUNT_KEYS = ("RUNNABLE", "WAITING", "BLOCKED", "TIMED_WAITING")
TOP_KEYS = ("start", "end", "agentMetadata", "callgraph", "debugInfo")
METADATA_KEYS = ("sampleWeights", "durationInMs", "fleetInfo", "agentInfo",
                 "agentOverhead", "runtimeVersion", "cpuTimeInSeconds",
                 "metrics", "numTimesSampled")
NODE_KEYS = ("children", "counts", "file", "line")
EPOCH_MS_MIN = 946684800000          # 2000-01-01
EPOCH_MS_MAX = 4102444800000         # 2100-01-01


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _walk(callgraph):
    """Yields (path, node) depth-first; path is the tuple of frame names."""
    todo = [((), callgraph)]
    while todo:
        path, node = todo.pop()
        yield path, node
        children = node.get("children") if isinstance(node, dict) else None
        if isinstance(children, dict):
            for name in sorted(children, reverse=True):
                todo.append((path + (name,), children[name]))


def _check_keys(obj, contract, where, problems):
    for key in contract:
        if key not in obj:
            problems.append("%s%s is missing" % (where, key))
    for key in obj:
        if key not in contract:
            problems.append("%s%s is not in the contract" % (where, key))


def _check_metadata(md, problems):
    _check_keys(md, METADATA_KEYS, "agentMetadata.", problems)
    weights = md.get("sampleWeights")
    if "sampleWeights" in md:
        if not isinstance(weights, dict) or not weights:
            problems.append("agentMetadata.sampleWeights must be a non-empty object")
        else:
            for k, w in weights.items():
                if k not in COUNT_KEYS:
                    problems.append("sampleWeights key %r is not one of %s" % (k, COUNT_KEYS))
                if not _is_number(w) or w <= 0:
                    problems.append("sampleWeights[%r] must be a positive number, got %r" % (k, w))
    checks = (
        ("durationInMs", lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
        ("runtimeVersion", lambda v: isinstance(v, str) and v, "a non-empty string"),
        ("cpuTimeInSeconds", lambda v: _is_number(v) and v >= 0, "a number >= 0"),
        ("numTimesSampled", lambda v: _is_int(v) and v >= 0, "an integer >= 0"),
        ("metrics", lambda v: isinstance(v, dict) and all(
            _is_number(x) for x in v.values()), "an object of numbers"),
        ("agentInfo", lambda v: isinstance(v, dict) and isinstance(
            v.get("type"), str) and isinstance(v.get("version"), str),
         "an object with string type and version"),
        ("agentOverhead", lambda v: isinstance(v, dict) and all(
            _is_int(v.get(k, 0)) and v.get(k, 0) >= 0
            for k in ("memoryInMB", "timeInMs")) and "memoryInMB" in v,
         "an object with integer memoryInMB (and optional timeInMs) >= 0"),
        ("fleetInfo", lambda v: isinstance(v, dict) and (
            isinstance(v.get("computeType"), str) or (
                isinstance(v.get("id"), str) and isinstance(v.get("type"), str)))
         and (_is_int(v.get("vCPUs", 1)) and v.get("vCPUs", 1) > 0),
         "an object with computeType, or id and type (vCPUs a positive integer)"),
    )
    for key, ok, what in checks:
        if key in md and not ok(md[key]):
            problems.append("agentMetadata.%s must be %s, got %r" % (key, what, md[key]))
    return weights if isinstance(weights, dict) else {}


def _check_callgraph(cg, problems):
    """Returns {count key: total}."""
    totals = {}
    for path, node in _walk(cg):
        where = "callgraph" + "".join("[%r]" % p for p in path)
        if not isinstance(node, dict):
            problems.append("%s must be an object" % where)
            continue
        for key in node:
            if key not in NODE_KEYS:
                problems.append("%s has unknown key %r" % (where, key))
        if "children" in node:
            children = node["children"]
            if not isinstance(children, dict):
                problems.append("%s.children must be an object keyed by frame name"
                                % where)
            elif any(not name for name in children):
                problems.append("%s.children has an empty frame name" % where)
        if "file" in node and (not isinstance(node["file"], str) or not node["file"]):
            problems.append("%s.file must be a non-empty string" % where)
        if "line" in node:
            line = node["line"]
            if not (isinstance(line, list) and 1 <= len(line) <= 2
                    and all(_is_int(n) for n in line)):
                problems.append("%s.line must be [n] or [min, max]" % where)
        if "counts" in node:
            counts = node["counts"]
            if not path:
                problems.append("callgraph root has counts (a sample with no frames)")
            if not isinstance(counts, dict) or not counts:
                problems.append("%s.counts must be a non-empty object" % where)
                continue
            for k, n in counts.items():
                if k not in COUNT_KEYS:
                    problems.append("%s.counts key %r is not one of %s"
                                    % (where, k, COUNT_KEYS))
                if not _is_int(n) or n <= 0:
                    problems.append("%s.counts[%r] must be a positive integer, got %r"
                                    % (where, k, n))
                elif k in COUNT_KEYS:
                    totals[k] = totals.get(k, 0) + n
    return totals


def _check_debug_info(dbg, problems):
    if not isinstance(dbg, dict):
        problems.append("debugInfo must be an object")
        return
    if "processId" in dbg and not (_is_int(dbg["processId"]) and dbg["processId"] > 0):
        problems.append("debugInfo.processId must be a positive integer")
    if "droppedSamples" in dbg and not (_is_int(dbg["droppedSamples"])
                                        and dbg["droppedSamples"] >= 0):
        problems.append("debugInfo.droppedSamples must be an integer >= 0")
    if "errorsCount" in dbg and not (isinstance(dbg["errorsCount"], dict) and all(
            _is_int(v) for v in dbg["errorsCount"].values())):
        problems.append("debugInfo.errorsCount must be an object of integers")
    gm = dbg.get("genericMetrics")
    if gm is not None and not (isinstance(gm, dict) and all(
            _is_number(v) and v >= 0
            for v in gm.values())):
        problems.append("debugInfo.genericMetrics must be an object of numbers >= 0")


def parse(body):
    """bytes or str or an already-parsed object -> (document, problems)."""
    if isinstance(body, (bytes, str)):
        try:
            return json.loads(body), []
        except (ValueError, UnicodeDecodeError) as e:
            return None, ["body is not JSON: %s" % e]
    return body, []


def validate_profile(body):
    """Returns the list of problems (empty when the document is valid)."""
    doc, problems = parse(body)
    if doc is None:
        return problems
    if not isinstance(doc, dict):
        return ["the document must be a JSON object"]
    _check_keys(doc, TOP_KEYS, "", problems)
    start, end = doc.get("start"), doc.get("end")
    for name, v in (("start", start), ("end", end)):
        if name in doc and not (_is_int(v) and EPOCH_MS_MIN <= v < EPOCH_MS_MAX):
            problems.append("%s must be integer epoch milliseconds, got %r" % (name, v))
    if _is_int(start) and _is_int(end) and end < start:
        problems.append("end (%d) is before start (%d)" % (end, start))
    weights = {}
    if "agentMetadata" in doc:
        if isinstance(doc["agentMetadata"], dict):
            weights = _check_metadata(doc["agentMetadata"], problems)
        else:
            problems.append("agentMetadata must be an object")
    if "callgraph" in doc:
        totals = _check_callgraph(doc["callgraph"], problems)
        if not totals:
            problems.append("callgraph has no samples")
        for k in totals:
            if k not in weights:
                problems.append("count key %s is used but has no sampleWeights entry" % k)
        for k in weights:
            if k in COUNT_KEYS and k not in totals:
                problems.append("sampleWeights has %s but no node counts it" % k)
    if "debugInfo" in doc:
        _check_debug_info(doc["debugInfo"], problems)
    return problems


def stacks(doc):
    """[(frames root-first, {count key: n})] for every node with counts."""
    doc, _ = parse(doc)
    cg = doc.get("callgraph") if isinstance(doc, dict) else None
    if not isinstance(cg, dict):
        return []
    return [(path, dict(node["counts"])) for path, node in _walk(cg)
            if isinstance(node, dict) and isinstance(node.get("counts"), dict)]


def totals(doc):
    """{count key: total samples} over the whole call graph."""
    out = {}
    for _, counts in stacks(doc):
        for k, n in counts.items():
            out[k] = out.get(k, 0) + n
    return out
