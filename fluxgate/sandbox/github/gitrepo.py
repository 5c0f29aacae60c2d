"""Real git objects for the emulated GitHub: blobs, trees, commits, refs and merges in a bare repository.

Objects are written as loose objects straight from Python (one zlib write each, no process per
file), so a 1,000-file tree costs one `git ls-tree` and a few milliseconds; reads, merges and ref
updates go through the `git` binary, so what `git clone` sees is exactly what the API wrote.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Commit", "GitRepo", "MergeConflict", "Person", "TreeEntry", "blob_sha"]

ZERO = "0" * 40
_SHA = re.compile(r"^[0-9a-f]{40}$")
_TYPES: dict[tuple[str, str], str] = {}  # (repository, sha) -> object type; objects are immutable


class MergeConflict(Exception):
    """The two sides change the same lines; `files` names them."""

    def __init__(self, files: list[str]) -> None:
        super().__init__(", ".join(files) or "conflict")
        self.files = files


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    date: int  # unix seconds, UTC

    def line(self) -> str:
        return f"{self.name} <{self.email}> {self.date} +0000"


@dataclass(frozen=True)
class Commit:
    sha: str
    tree: str
    parents: tuple[str, ...]
    author: Person
    committer: Person
    message: str


@dataclass(frozen=True)
class TreeEntry:
    path: str
    mode: str
    type: str  # blob | tree | commit
    sha: str
    size: int | None = None


def blob_sha(data: bytes) -> str:
    """The id git gives `data` as a blob (what `git hash-object` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _parse_person(text: str) -> Person:
    name, _, rest = text.partition(" <")
    email, _, stamp = rest.partition("> ")
    return Person(name=name, email=email, date=int(stamp.split()[0]))


class GitRepo:
    """One bare repository; every method is safe to call from one thread at a time (the caller locks)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def init(cls, path: Path, default_branch: str) -> GitRepo:
        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "init", "--quiet", "--bare", f"--initial-branch={default_branch}", str(path)], check=True
        )
        repo = cls(path)
        repo.git("config", "http.receivepack", "true")
        repo.git("config", "uploadpack.allowAnySHA1InWant", "true")
        return repo

    # -- plumbing -------------------------------------------------------------------------------
    def git(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str:
        result = subprocess.run(
            ["git", "-C", str(self.path), *args],
            input=stdin,
            capture_output=True,
            env={**os.environ, **(env or {})},
            check=False,
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, args, result.stdout, result.stderr.decode(errors="replace")
            )
        return result.stdout.decode()

    def _write(self, kind: bytes, body: bytes) -> str:
        raw = kind + b" %d\0" % len(body) + body
        sha = hashlib.sha1(raw).hexdigest()
        target = self.path / "objects" / sha[:2] / sha[2:]
        if not target.exists():
            target.parent.mkdir(exist_ok=True)
            tmp = target.with_name(f".{sha[2:]}.{os.getpid()}.tmp")
            tmp.write_bytes(zlib.compress(raw, 1))
            os.replace(tmp, target)
        return sha

    def write_blob(self, data: bytes) -> str:
        return self._write(b"blob", data)

    def object_type(self, sha: str) -> str | None:
        known = _TYPES.get((str(self.path), sha))
        if known is not None:
            return known
        try:
            kind = self.git("cat-file", "-t", sha).strip()
        except subprocess.CalledProcessError:
            return None
        if _SHA.match(sha):  # git objects never change: remember what exists
            _TYPES[(str(self.path), sha)] = kind
        return kind

    def read_blob(self, sha: str) -> bytes:
        result = subprocess.run(
            ["git", "-C", str(self.path), "cat-file", "blob", sha], capture_output=True, check=True
        )
        return result.stdout

    # -- trees ----------------------------------------------------------------------------------
    def list_tree(self, tree: str, recursive: bool) -> list[TreeEntry]:
        args = ["ls-tree", "-z", "--long", "--full-tree"] + (["-r", "-t"] if recursive else []) + [tree]
        entries = []
        for record in self.git(*args).split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha, size = meta.split()
            entries.append(TreeEntry(path, mode, kind, sha, None if size == "-" else int(size)))
        return entries

    def files(self, tree: str) -> dict[str, tuple[str, str]]:
        """Every file under `tree`: path -> (mode, blob sha)."""
        return {e.path: (e.mode, e.sha) for e in self.list_tree(tree, True) if e.type != "tree"}

    def write_tree(self, files: dict[str, tuple[str, str]]) -> str:
        """Build nested tree objects for path -> (mode, sha); returns the root tree's sha."""
        children: dict[str, dict[str, tuple[str, str]]] = {}
        here: dict[str, tuple[str, str]] = {}
        for path, entry in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                children.setdefault(head, {})[rest] = entry
            else:
                here[head] = entry
        for name, sub in children.items():
            here[name] = ("40000", self.write_tree(sub))

        def order(name: str) -> bytes:
            return (name + "/" if here[name][0] == "40000" else name).encode()

        body = b"".join(
            here[name][0].encode() + b" " + name.encode() + b"\0" + bytes.fromhex(here[name][1])
            for name in sorted(here, key=order)
        )
        return self._write(b"tree", body)

    def empty_tree(self) -> str:
        return self._write(b"tree", b"")

    # -- commits and refs -----------------------------------------------------------------------
    def write_commit(
        self, tree: str, parents: list[str], message: str, author: Person, committer: Person
    ) -> str:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        lines += [f"author {author.line()}", f"committer {committer.line()}", "", message]
        return self._write(b"commit", "\n".join(lines).encode())

    def read_commit(self, sha: str) -> Commit:
        text = self.git("cat-file", "commit", sha)
        header, _, message = text.partition("\n\n")
        fields: dict[str, list[str]] = {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            fields.setdefault(key, []).append(value)
        return Commit(
            sha=sha,
            tree=fields["tree"][0],
            parents=tuple(fields.get("parent", [])),
            author=_parse_person(fields["author"][0]),
            committer=_parse_person(fields["committer"][0]),
            message=message,
        )

    def resolve(self, rev: str) -> str | None:
        """The commit a branch name, full ref or sha names; None when nothing matches."""
        if _SHA.match(rev) and self.object_type(rev) == "commit":
            return rev
        for candidate in (f"refs/heads/{rev}", f"refs/tags/{rev}", rev):
            try:
                return self.git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}").strip()
            except subprocess.CalledProcessError:
                continue
        return None

    def refs(self) -> dict[str, str]:
        out = self.git("for-each-ref", "--format=%(refname) %(objectname)")
        return dict(line.split(" ", 1) for line in out.splitlines())

    def ref(self, name: str) -> str | None:
        return self.refs().get(name)

    def valid_ref_name(self, name: str) -> bool:
        """Whether git accepts `name` as a ref (no `..`, spaces, trailing `/` or `.lock`, ...)."""
        try:
            self.git("check-ref-format", name)
            return True
        except subprocess.CalledProcessError:
            return False

    def set_ref(self, name: str, sha: str, expected_old: str | None) -> None:
        """Move `name` to `sha` only if it still points at `expected_old` (None: must not exist)."""
        self.git("update-ref", name, sha, expected_old or ZERO)

    def delete_ref(self, name: str) -> None:
        self.git("update-ref", "-d", name)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self.git("merge-base", "--is-ancestor", ancestor, descendant)
            return True
        except subprocess.CalledProcessError:
            return False

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self.git("merge-base", a, b).strip() or None
        except subprocess.CalledProcessError:
            return None

    def commits_between(self, base: str, head: str) -> list[str]:
        """Commits reachable from `head` but not `base`, oldest first (what a PR or compare lists)."""
        return self.git("rev-list", "--reverse", f"{base}..{head}").split()

    def merge_trees(self, ours: str, theirs: str) -> str:
        """The tree of a three-way merge of two commits; MergeConflict when it needs a human."""
        try:
            return self.git("merge-tree", "--write-tree", "--name-only", ours, theirs).split("\n", 1)[0]
        except subprocess.CalledProcessError as exc:
            if exc.returncode != 1:
                raise
            lines = (exc.stdout or b"").decode().split("\n")
            files = []
            for line in lines[1:]:
                if not line:
                    break
                files.append(line)
            raise MergeConflict(files) from None

    def rebase(self, onto: str, commits: list[str], committer: Person) -> str:
        """Replay `commits` on `onto` (a rebase merge); returns the new tip."""
        work = Path(tempfile.mkdtemp(prefix="rebase-"))
        try:
            self.git("worktree", "add", "--detach", "--quiet", str(work), onto)
            env = {
                "GIT_COMMITTER_NAME": committer.name,
                "GIT_COMMITTER_EMAIL": committer.email,
                "GIT_COMMITTER_DATE": f"{committer.date} +0000",
            }
            for sha in commits:
                try:
                    subprocess.run(
                        ["git", "-C", str(work), "cherry-pick", "--allow-empty", "--keep-redundant-commits",
                         sha],
                        capture_output=True, check=True, env={**os.environ, **env},
                    )
                except subprocess.CalledProcessError as exc:
                    conflicted = subprocess.run(
                        ["git", "-C", str(work), "diff", "--name-only", "--diff-filter=U"],
                        capture_output=True, text=True, check=False,
                    ).stdout.split()
                    raise MergeConflict(conflicted) from exc
            return subprocess.run(
                ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
            ).stdout.strip()
        finally:
            shutil.rmtree(work, ignore_errors=True)
            self.git("worktree", "prune")

    def diff_files(self, base: str, head: str) -> list[tuple[str, str, str, str]]:
        """(status letter, path, old blob, new blob) for files that differ between two commits."""
        out = self.git("diff-tree", "-r", "-z", "--no-renames", base, head)
        fields = out.split("\0")
        result = []
        for meta, path in zip(fields[0::2], fields[1::2], strict=False):
            if not meta:
                continue
            _old_mode, _new_mode, old, new, status = meta.lstrip(":").split()
            result.append((status, path, old, new))
        return result
