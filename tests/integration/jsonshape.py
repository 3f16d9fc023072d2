"""Checks sshxctl --json output against the shapes documented in doc/json.md.

usage: jsonshape.py DOC NAME FILE
Reads the ```shape NAME block of DOC, parses FILE as one JSON document and
checks that every object has exactly the documented keys and every value
the documented type. Prints nothing and exits 0 when it does; otherwise
prints what differs and exits 1. An empty array checks nothing inside it, so
callers make sure their data has at least one element.
"""
import json
import sys

TYPES = {"string": str, "integer": int, "boolean": bool}


def shape_of(doc, name):
    lines = open(doc, encoding="utf-8").read().split("\n")
    start = "```shape " + name
    for i, line in enumerate(lines):
        if line.strip() == start:
            body = []
            for rest in lines[i + 1:]:
                if rest.strip() == "```":
                    return json.loads("\n".join(body))
                body.append(rest)
    raise SystemExit("%s: no ```shape %s block" % (doc, name))


def check(shape, value, where, errors):
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            errors.append("%s: expected an object, got %r" % (where, value))
            return
        if set(shape) != set(value):
            errors.append("%s: keys %s, documented %s" % (where, sorted(value), sorted(shape)))
        for k in shape:
            if k in value:
                check(shape[k], value[k], where + "." + k, errors)
    elif isinstance(shape, list):
        if not isinstance(value, list):
            errors.append("%s: expected an array, got %r" % (where, value))
            return
        for i, v in enumerate(value):
            check(shape[0], v, "%s[%d]" % (where, i), errors)
    else:
        names = shape.split("|")
        if value is None:
            if "null" not in names:
                errors.append("%s: null, documented %s" % (where, shape))
            return
        # A JSON true is not an integer here, though Python says bool is an int.
        if not any(type(value) is TYPES[n] for n in names if n != "null"):
            errors.append("%s: %r, documented %s" % (where, value, shape))


def main():
    doc, name, path = sys.argv[1:4]
    shape = shape_of(doc, name)
    with open(path, "rb") as f:
        raw = f.read()
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except ValueError as e:
        print("not valid JSON: %s: %r" % (e, raw[:300]))
        return 1
    errors = []
    check(shape, value, name, errors)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
