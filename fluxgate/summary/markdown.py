"""The change summary as Markdown, the way a reviewer meets it in the manifests PR."""

from __future__ import annotations

from fluxgate.summary.compare import ChangeSummary

__all__ = ["to_markdown"]

_ICON = {"added": "➕ added", "changed": "✏️ changed", "removed": "➖ removed"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str | None) -> str:
    return f"`{_cell(text)}`" if text else "—"


def _drift_warning(summary: ChangeSummary) -> list[str]:
    """A GitHub alert naming the files changed by hand, which this PR overwrites: no reviewer misses it."""
    if not summary.drift:
        return []
    folder = summary.folder.strip("/")
    where = f"{folder}/" if folder not in ("", ".") else f"the folder of {summary.env}"
    count = len(summary.drift)
    files, were, them = ("file", "was", "it") if count == 1 else ("files", "were", "them")
    lines = [
        "> [!WARNING]",
        f"> {count} {files} in {where} {were} changed by hand since fluxgate last merged here; "
        f"this pull request replaces {them}:",
    ]
    for entry in summary.drift:
        path, _sep, how = entry.replace("\n", " ").rpartition(" (")
        lines.append(f"> - `{path}` ({how}" if path and "`" not in path else f"> - {_cell(entry)}")
    return [*lines, ""]


def to_markdown(summary: ChangeSummary) -> str:
    lines = _drift_warning(summary)
    lines += [f"### {summary.release} → {summary.env}", "", f"**{summary.headline()}**", ""]
    if summary.empty:
        lines.append("No resource changes: the environment already matches this release.")
        return "\n".join(lines) + "\n"
    lines += ["| Change | Kind | Namespace | Name | Fields |", "|---|---|---|---|---|"]
    for c in summary.changes:
        fields = ", ".join(_code(f) for f in c.fields) if c.fields else ""
        namespace = _cell(c.namespace) or "—"
        lines.append(f"| {_ICON[c.action]} | {_cell(c.kind)} | {namespace} | {_cell(c.name)} | {fields} |")
    if summary.images:
        lines += ["", "#### Images", "", "| Workload | Container | Before | After |", "|---|---|---|---|"]
        for i in summary.images:
            where = f"{i.kind} {i.namespace}/{i.name}" if i.namespace else f"{i.kind} {i.name}"
            lines.append(f"| {_cell(where)} | {_cell(i.container)} | {_code(i.old)} | {_code(i.new)} |")
    return "\n".join(lines) + "\n"
