#!/usr/bin/env python3
"""Markdown drift report from `terraform show -json PLAN` on stdin (standard library only).

What changed outside Terraform comes from the plan's `resource_drift` (the recorded state
against what the refresh found); what the next apply would do comes from `resource_changes`.
Usage: terraform show -json drift.tfplan | drift-report.py ENVIRONMENT > drift-report.md
"""
import json
import sys


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


def shown(value, sensitive):
    if sensitive:
        return "(sensitive)"
    return "`" + json.dumps(value) + "`" if value is not None else "(none)"


def changed_attributes(change):
    """(path, before, after) for each attribute whose value differs."""
    before = flatten(change.get("before") or {})
    after = flatten(change.get("after") or {})
    hidden = set(flatten(change.get("before_sensitive") or {})) | set(flatten(change.get("after_sensitive") or {}))
    rows = []
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path):
            secret = any(path == h or path.startswith(h + ".") or path.startswith(h + "[") for h in hidden)
            rows.append((path, shown(before.get(path), secret), shown(after.get(path), secret)))
    return rows


def main():
    environment = sys.argv[1] if len(sys.argv) > 1 else "environment"
    plan = json.load(sys.stdin)
    drift = [d for d in plan.get("resource_drift") or [] if d["change"]["actions"] != ["no-op"]]
    pending = [c for c in plan.get("resource_changes") or [] if c["change"]["actions"] != ["no-op"]]

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
    print("\n".join(out).rstrip() + "\n", end="")


if __name__ == "__main__":
    main()
