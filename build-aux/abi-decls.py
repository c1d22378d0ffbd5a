#!/usr/bin/env python3
"""The functions libpushcore's headers declare, one name a line: those of
the given headers outside '#ifdef PUSHCORE_INTERNAL' sections. With
--marked only those declared with PUSHCORE_API. (build-aux/abi-check.sh)"""
import re
import sys


def declarations(path, marked_only):
    text = open(path).read()
    # comments out, line breaks kept
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    names, depth, stmt, skip = [], 0, "", 0
    for line in text.split("\n"):
        s = line.strip()
        if s.startswith("#"):
            if re.match(r"#\s*ifdef\s+PUSHCORE_INTERNAL\b", s):
                skip += 1
            elif skip and re.match(r"#\s*if", s):
                skip += 1
            elif skip and re.match(r"#\s*endif", s):
                skip -= 1
            continue
        if skip:
            continue
        depth_before = depth
        depth += line.count("{") - line.count("}")
        if depth_before > 0 or depth > 0:
            stmt = ""
            continue
        if not s:
            continue
        stmt += line + "\n"
        if s.endswith(";") or s.endswith("}"):
            st, stmt = stmt, ""
            if "typedef" in st or "(" not in st or re.match(r"\s*(extern\s+)?struct\s+\w+\s*;", st):
                continue
            m = re.search(r"\b(\w+)\s*\(", st)
            if m is None or re.search(r"\(\s*\*", st[:m.start()]):
                continue
            if m.group(1) in ("__attribute__",):
                continue
            if marked_only and "PUSHCORE_API" not in st[:m.start()]:
                continue
            names.append(m.group(1))
    return names


def main():
    args = sys.argv[1:]
    marked = "--marked" in args
    for path in [a for a in args if a != "--marked"]:
        for name in declarations(path, marked):
            print(name)


main()
