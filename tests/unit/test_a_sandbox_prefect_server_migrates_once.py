"""A sandbox Prefect server on SQLite starts on a database migrated once per Prefect version: the first
start migrates into the cache, later ones copy it; a migration killed half-way or one that fails
leaves no partial database anywhere (the server then migrates its own, as before).

The migration command is replaced by one that writes a marker where Prefect would write its database,
so these tests exercise the caching, not Prefect's migrations (the stack and the demo run those)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxgate.sandbox import prefect_server
from fluxgate.sandbox.prefect_server import seed_database


@pytest.fixture
def migrations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts migrations; each writes `migrated` where the server's database would be."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ran: list[str] = []

    def command() -> list[str]:
        ran.append("upgrade")
        return ["sh", "-c", 'printf migrated > "${PREFECT_API_DATABASE_CONNECTION_URL#sqlite+aiosqlite:///}"']

    monkeypatch.setattr(prefect_server, "migrate_command", command)
    return ran


def test_the_first_server_migrates_and_later_ones_copy(tmp_path: Path, migrations: list[str]) -> None:
    for n in range(3):
        seed_database(tmp_path / f"home-{n}")
        assert (tmp_path / f"home-{n}" / "prefect.db").read_text() == "migrated"
    assert migrations == ["upgrade"]
    assert sorted(p.name for p in (tmp_path / "cache" / "fluxgate").iterdir() if p.is_dir()) == []


def test_an_existing_database_is_left_alone(tmp_path: Path, migrations: list[str]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "prefect.db").write_text("runs of an earlier demo")
    seed_database(home)
    assert (home / "prefect.db").read_text() == "runs of an earlier demo"
    assert migrations == []


def test_a_migration_killed_half_way_is_cleared_and_done_again(tmp_path: Path, migrations: list[str]) -> None:
    cache = tmp_path / "cache" / "fluxgate"
    left = cache / f"{prefect_server._cache().stem}.4242"  # a killed migration's scratch folder
    left.mkdir(parents=True)
    (left / "prefect.db").write_text("half")
    seed_database(tmp_path / "home")
    assert (tmp_path / "home" / "prefect.db").read_text() == "migrated"
    assert not left.exists()


def test_a_failed_migration_leaves_the_server_to_migrate_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrations: list[str]
) -> None:
    monkeypatch.setattr(prefect_server, "migrate_command", lambda: ["false"])
    seed_database(tmp_path / "home")
    assert not (tmp_path / "home" / "prefect.db").exists()
    assert not prefect_server._cache().exists()
