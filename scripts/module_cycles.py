#!/usr/bin/env python3
"""Finds import cycles among the backend's modules.

Every `crate::a::b` path in a module's source (in `use` items and inline
paths alike, tests excluded) is an edge from that module to the deepest
module the path names. Prints each strongly connected component of more
than one module and exits 1 if there is any.
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "backend", "src")


def module_of(path):
    rel = os.path.relpath(path, ROOT)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return "::".join(rel)


def source_without_tests(text):
    # Drop `#[cfg(test)] mod tests { ... }` blocks, which may import freely.
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", text):
        if m.start() < i:
            continue
        out.append(text[i:m.start()])
        depth, j = 1, m.end()
        while depth and j < len(text):
            depth += {"{": 1, "}": -1}.get(text[j], 0)
            j += 1
        i = j
    out.append(text[i:])
    return "".join(out)


def expand_use(text):
    """Yields every crate path a `use crate::...;` item names, groups expanded."""
    for m in re.finditer(r"\buse\s+crate::([^;]+);", text):
        yield from expand("", re.sub(r"\s+", "", m.group(1)))


def expand(prefix, tree):
    depth, start, parts = 0, 0, []
    # split top-level on commas
    if tree.endswith("}") and "{" in tree:
        head, _, body = tree.partition("{")
        body = body[:-1]
        for i, ch in enumerate(body + ","):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                part = body[start:i]
                start = i + 1
                if part:
                    parts.append(part)
        for part in parts:
            yield from expand(prefix + head, part)
    else:
        yield prefix + tree


def main():
    files = {}
    for dirpath, _, names in os.walk(ROOT):
        for name in names:
            if name.endswith(".rs"):
                path = os.path.join(dirpath, name)
                files[module_of(path)] = source_without_tests(open(path).read())
    modules = set(files)
    graph = {m: set() for m in modules}
    for mod, text in files.items():
        paths = list(expand_use(text))
        paths += re.findall(r"\bcrate::((?:\w+::)*\w+)", re.sub(r"\buse\s+crate::[^;]+;", "", text))
        for path in paths:
            segs = [s for s in path.split("::") if s and s != "self"]
            target = None
            for n in range(len(segs), 0, -1):
                cand = "::".join(segs[:n])
                if cand in modules:
                    target = cand
                    break
            if target and target != mod and not mod.startswith(target + "::") and target != "":
                graph[mod].add(target)
    # A module depends on its parent's items only through explicit paths, so
    # the tree itself adds no edges. Tarjan's algorithm:
    index, low, stack, on, comps = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(modules):
        if v not in index:
            visit(v)
    if "-v" in sys.argv:
        for m in sorted(graph):
            print(m or "(crate)", "->", ", ".join(sorted(graph[m])))
    for comp in comps:
        print("import cycle:", " <-> ".join(comp))
    print(f"{len(modules)} modules, {sum(len(e) for e in graph.values())} imports, {len(comps)} cycles")
    return 1 if comps else 0


if __name__ == "__main__":
    sys.exit(main())
