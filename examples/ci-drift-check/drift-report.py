#!/usr/bin/env python3
"""Markdown drift report for CI (standard library only).

    terraform show -json drift.tfplan | drift-report.py ENVIRONMENT [--schema S] [--diagnostics D] > drift-report.md
    drift-report.py --errors ENVIRONMENT < plan.jsonl > drift-report.md   (a failed `plan -json`)

S is `terraform providers schema -json`; D the `terraform plan -json` log, whose warnings the
report repeats (each once, with a count). What changed outside Terraform comes from the plan's
`resource_drift` (the recorded state against what the refresh found), what the next apply would
do from `resource_changes` and `output_changes`.

Drift is a change to an argument (an attribute the configuration may set, or a block), whether
or not the configuration sets it: a replica added to every Redis shard by hand, with
`replicas_per_node_group` left unset, is drift, though `-detailed-exitcode` alone would say 0.
Computed-only attributes (a status, an endpoint) change as AWS and controllers work, so they
are listed apart and do not count; nor do the attributes named in DRIFT_IGNORE (TYPE.ATTRIBUTE,
space- or comma-separated) or the built-in ones: `scaling_node_group.desired_size`, the cluster
autoscaler's when the configuration leaves it out (when set, a change shows in the plan).
Without a schema, every changed attribute counts.
Exit status: 0 nothing changed, 2 drift or changes to apply, 1 unreadable input.

Rows are sorted by resource address, then attribute, with list indexes compared as numbers
(`[8]` before `[10]`), so that nightly reports diff cleanly.
"""
import json
import os
import re
import sys

# Arguments that a controller changes by design when the configuration leaves them out.
IGNORED = {("scaling_node_group", "desired_size")}


def natural(text):
    """Sort key that compares runs of digits as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def flatten(value, prefix=""):
    """Attribute paths (a.b[0].c) to leaf values."""
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}.{key}" if prefix else key))
        return items if items or not prefix else {prefix: {}}
    if isinstance(value, list):
        items = {}
        for index, inner in enumerate(value):
            items.update(flatten(inner, f"{prefix}[{index}]"))
        return items if items or not prefix else {prefix: []}
    return {prefix: value}


def sensitive_paths(marks):
    """The paths `before_sensitive`/`after_sensitive` mark `true`. Terraform writes `false`
    (or an empty object) for every element of a list or block that is not sensitive, so a path
    merely being present there says nothing."""
    return {path for path, mark in flatten(marks or {}).items() if mark is True}


def shown(value, sensitive):
    if sensitive:
        return "(sensitive)"
    return "`" + json.dumps(value) + "`" if value is not None else "(none)"


def changed_attributes(change):
    """(path, before, after) for each attribute whose value differs, in natural order."""
    before = flatten(change.get("before") or {})
    after = flatten(change.get("after") or {})
    hidden = sensitive_paths(change.get("before_sensitive")) | sensitive_paths(change.get("after_sensitive"))

    def secret(path):
        # "": the whole object is marked sensitive.
        return any(h == "" or path == h or path.startswith(h + ".") or path.startswith(h + "[") for h in hidden)

    rows = []
    for path in sorted(set(before) | set(after), key=natural):
        if before.get(path) != after.get(path):
            rows.append((path, shown(before.get(path), secret(path)), shown(after.get(path), secret(path))))
    return rows


def changed(entries):
    """Entries whose actions are not a no-op, by address in natural order."""
    return sorted((e for e in entries or [] if e["change"]["actions"] != ["no-op"]), key=lambda e: natural(e["address"]))


def resource_block(schema, resource_type):
    for provider in (schema or {}).get("provider_schemas", {}).values():
        found = provider.get("resource_schemas", {}).get(resource_type)
        if found:
            return found["block"]
    return None


def is_argument(block, path):
    """Whether `path` (a.b[0].c) ends in something the configuration may set, walking the
    schema through nested blocks. Unknown to the schema: counted, to be safe."""
    for part in re.findall(r"[^.\[\]]+", path):
        if part.isdigit():
            continue
        if part in block.get("attributes", {}):
            flags = block["attributes"][part]
            return bool(flags.get("optional") or flags.get("required"))
        if part in block.get("block_types", {}):
            block = block["block_types"][part]["block"]
            continue
        return True
    return True


def ignored():
    named = re.split(r"[\s,]+", os.environ.get("DRIFT_IGNORE", "").strip())
    return IGNORED | {tuple(n.split(".", 1)) for n in named if "." in n}


def top_attribute(path):
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def diagnostics(lines, severity):
    """(summary, detail) => the addresses (or snippets) each diagnostic of `severity` came from."""
    found = {}
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        diagnostic = message.get("diagnostic") if message.get("type") == "diagnostic" else None
        if not diagnostic or diagnostic.get("severity") != severity:
            continue
        key = (diagnostic.get("summary", ""), diagnostic.get("detail", ""))
        where = diagnostic.get("address") or (diagnostic.get("snippet") or {}).get("context") or ""
        found.setdefault(key, []).append(where)
    return found


def said_once(found):
    """Each diagnostic once, the most repeated first, with how often and where."""
    out = []
    for (summary, detail), places in sorted(found.items(), key=lambda e: (-len(e[1]), e[0])):
        count = f" ({len(places)} times)" if len(places) > 1 else ""
        named = sorted({p for p in places if p}, key=natural)
        out.append(f"- **{summary}**{count}" + (f": {', '.join(f'`{p}`' for p in named)}" if named else ""))
        out += [f"  > {text}" if text else "  >" for text in detail.splitlines()] if detail else []
    return out


def drift_report(environment, plan, schema=None, log=()):
    skip = ignored()
    drifted, computed = [], []
    for d in changed(plan.get("resource_drift")):
        if d["change"]["actions"] == ["delete"]:
            drifted.append([f"| `{d['address']}` | (all) | exists | deleted outside Terraform |"])
            continue
        block = resource_block(schema, d.get("type", "")) if schema else None
        rows = []
        for path, before, after in changed_attributes(d["change"]):
            row = f"| `{d['address']}` | `{path}` | {before} | {after} |"
            counts = (block is None or is_argument(block, path)) and (d.get("type"), top_attribute(path)) not in skip
            (rows if counts else computed).append(row)
        if rows:
            drifted.append(rows)
    pending = changed(plan.get("resource_changes"))
    outputs = sorted(n for n, c in (plan.get("output_changes") or {}).items() if c.get("actions") != ["no-op"])
    warnings = diagnostics(log, "warning")

    out = [f"## Drift check: {environment}", ""]
    if not drifted and not pending and not outputs:
        out.append("No drift: the infrastructure matches the configuration.")
        out.append("")
    if drifted:
        out += [f"**{len(drifted)} resource(s) changed outside Terraform.**", ""]
        out += ["| Resource | Attribute | Recorded | Now |", "| --- | --- | --- | --- |"]
        for rows in drifted:
            out += rows
        out.append("")
    if pending or outputs:
        out += [f"**The next apply would change {len(pending)} resource(s):**", ""]
        for c in pending:
            out.append(f"- `{c['address']}`: {', '.join(c['change']['actions'])}")
        if outputs:
            out.append(f"- outputs: {', '.join(f'`{o}`' for o in outputs)}")
        out.append("")
    if computed:
        out += ["Changed as AWS or a controller works, not drift (computed by the provider, or left to an autoscaler):", ""]
        out += ["| Resource | Attribute | Recorded | Now |", "| --- | --- | --- | --- |"] + computed + [""]
    if warnings:
        out += ["Terraform warned:", ""] + said_once(warnings) + [""]
    return out, 2 if drifted or pending or outputs else 0


def error_report(environment, lines):
    """The errors of a failed `terraform plan -json`, each said once with the resources it
    came from: one provider misconfiguration fails every resource's read the same way."""
    lines = list(lines)
    errors, warnings = diagnostics(lines, "error"), diagnostics(lines, "warning")
    out = [f"## Drift check: {environment}", "", "**The drift check failed: `terraform plan` stopped with errors.** "
           "No drift could be read; the errors:", ""]
    out += said_once(errors) or ["- terraform reported no diagnostic; see the job log."]
    if warnings:
        out += ["", "Terraform also warned:", ""] + said_once(warnings)
    return out


def main():
    args = sys.argv[1:]
    errors = args[:1] == ["--errors"]
    args = args[1:] if errors else args
    options = {}
    while len(args) >= 2 and args[-2] in ("--schema", "--diagnostics"):
        options[args[-2]] = args[-1]
        args = args[:-2]
    environment = args[0] if args else "environment"
    if errors:
        out, status = error_report(environment, sys.stdin), 0
    else:
        try:
            plan = json.load(sys.stdin)
            schema = json.load(open(options["--schema"])) if "--schema" in options else None
        except (ValueError, OSError) as e:
            print(f"drift-report.py: cannot read the plan or the schema: {e}", file=sys.stderr)
            sys.exit(1)
        log = open(options["--diagnostics"]).readlines() if "--diagnostics" in options else []
        out, status = drift_report(environment, plan, schema, log)
    print("\n".join(out).rstrip() + "\n", end="")
    sys.exit(status)


if __name__ == "__main__":
    main()
