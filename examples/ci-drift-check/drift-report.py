#!/usr/bin/env python3
"""Markdown drift report for CI (standard library only).

    terraform show -json drift.tfplan | drift-report.py ENVIRONMENT > drift-report.md
    drift-report.py --errors ENVIRONMENT < plan.jsonl > drift-report.md   (a failed `plan -json`)

What changed outside Terraform comes from the plan's `resource_drift` (the recorded state
against what the refresh found), what the next apply would do from `resource_changes`.
Exit status: 0 nothing changed, 2 drift or changes to apply, 1 unreadable input. Drift counts
even where the configuration leaves the attribute out (a replica added to a shard by hand when
`replicas_per_node_group` is not set): `-detailed-exitcode` alone would say 0 there.

Rows are sorted by resource address, then attribute, with list indexes compared as numbers
(`[8]` before `[10]`), so that nightly reports diff cleanly.
"""
import json
import re
import sys


def natural(text):
    """Sort key that compares runs of digits as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text) if part]


def flatten(value, prefix=""):
    """Attribute paths (a.b[0].c) to leaf values."""
    if isinstance(value, dict):
        items = {}
        for key, inner in value.items():
            items.update(flatten(inner, f"{prefix}.{key}" if prefix else key))
        return items
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
        return any(path == h or path.startswith(h + ".") or path.startswith(h + "[") for h in hidden)

    rows = []
    for path in sorted(set(before) | set(after), key=natural):
        if before.get(path) != after.get(path):
            rows.append((path, shown(before.get(path), secret(path)), shown(after.get(path), secret(path))))
    return rows


def changed(entries):
    """Entries whose actions are not a no-op, by address in natural order."""
    return sorted((e for e in entries or [] if e["change"]["actions"] != ["no-op"]), key=lambda e: natural(e["address"]))


def drift_report(environment, plan):
    drift = changed(plan.get("resource_drift"))
    pending = changed(plan.get("resource_changes"))
    out = [f"## Drift check: {environment}", ""]
    if not drift and not pending:
        out.append("No drift: the infrastructure matches the configuration.")
    if drift:
        out += [f"**{len(drift)} resource(s) changed outside Terraform.**", ""]
        out += ["| Resource | Attribute | Recorded | Now |", "| --- | --- | --- | --- |"]
        for d in drift:
            if d["change"]["actions"] == ["delete"]:
                out.append(f"| `{d['address']}` | (all) | exists | deleted outside Terraform |")
                continue
            for path, before, after in changed_attributes(d["change"]):
                out.append(f"| `{d['address']}` | `{path}` | {before} | {after} |")
        out.append("")
    if pending:
        out += [f"**The next apply would change {len(pending)} resource(s):**", ""]
        for c in pending:
            out.append(f"- `{c['address']}`: {', '.join(c['change']['actions'])}")
        out.append("")
    return out, 2 if drift or pending else 0


def error_report(environment, lines):
    """The errors of a failed `terraform plan -json`, each said once with the resources it
    came from: one provider misconfiguration fails every resource's read the same way."""
    errors = {}
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue
        diagnostic = message.get("diagnostic") if message.get("type") == "diagnostic" else None
        if not diagnostic or diagnostic.get("severity") != "error":
            continue
        key = (diagnostic.get("summary", ""), diagnostic.get("detail", ""))
        where = diagnostic.get("address") or (diagnostic.get("snippet") or {}).get("context") or ""
        errors.setdefault(key, []).append(where)
    out = [f"## Drift check: {environment}", "", "**The drift check failed: `terraform plan` stopped with errors.** "
           "No drift could be read; the errors:", ""]
    for (summary, detail), places in sorted(errors.items(), key=lambda e: (-len(e[1]), e[0])):
        count = f" ({len(places)} times)" if len(places) > 1 else ""
        named = sorted({p for p in places if p}, key=natural)
        out.append(f"- **{summary}**{count}" + (f": {', '.join(f'`{p}`' for p in named)}" if named else ""))
        out += [f"  > {text}" if text else "  >" for text in detail.splitlines()] if detail else []
    if not errors:
        out.append("- terraform reported no diagnostic; see the job log.")
    return out


def main():
    args = sys.argv[1:]
    errors = args[:1] == ["--errors"]
    environment = (args[1:] if errors else args)[:1] or ["environment"]
    if errors:
        out, status = error_report(environment[0], sys.stdin), 0
    else:
        try:
            plan = json.load(sys.stdin)
        except ValueError as e:
            print(f"drift-report.py: not a plan in JSON: {e}", file=sys.stderr)
            sys.exit(1)
        out, status = drift_report(environment[0], plan)
    print("\n".join(out).rstrip() + "\n", end="")
    sys.exit(status)


if __name__ == "__main__":
    main()
