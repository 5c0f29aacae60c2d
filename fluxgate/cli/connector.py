"""`fluxgate connector`: serve the connector (Flux events and GitHub webhooks in, GitHub updates out).

Settings come from `FLUXGATE_*` environment variables (see `fluxgate.connector.settings`); secrets
are read only from there, never from options, so they stay out of shell history and `ps`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fluxgate.cli.app import app, user_errors


def _metrics_dir(data: Path) -> Path:
    """This replica's own folder for Prometheus' multi-process files, fresh at each start. Replicas may
    share `--data`: only folders of this machine's dead processes are cleared, never a live one's."""
    import os
    import shutil
    import socket

    root = data / "metrics"
    host = socket.gethostname()
    if root.is_dir():
        for old in root.glob(f"{host}-*"):
            pid = old.name.rpartition("-")[2]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
        for loose in root.glob("*.db"):  # the flat layout of earlier versions
            loose.unlink(missing_ok=True)
    mine = root / f"{host}-{os.getpid()}"
    shutil.rmtree(mine, ignore_errors=True)
    mine.mkdir(parents=True)
    return mine


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@app.command("connector")
@user_errors
def connector_command(
    config: Annotated[
        list[Path] | None,
        typer.Option("--config", "-c", help="fluxgate.yaml of an app the connector serves; repeat."),
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Data folder (SQLite store).")] = None,
    host: Annotated[str, typer.Option("--host")] = "0.0.0.0",
    port: Annotated[int, typer.Option("--port")] = 8080,
    insecure: Annotated[
        bool,
        typer.Option(
            "--insecure",
            help="Start without FLUXGATE_FLUX_HMAC_KEY / FLUXGATE_WEBHOOK_SECRET: unsigned deliveries are "
            "accepted (a warning at start, and `insecure: true` in every /readyz).",
        ),
    ] = False,
) -> None:
    """Receive Flux events and GitHub webhooks; keep GitHub statuses and Deployments in step.

    Requests are answered by this process; processing runs in a child process, so GitHub calls never
    compete with acknowledgements for the interpreter.
    """
    import os

    from pydantic import ValidationError

    from fluxgate.connector.settings import ConnectorSettings
    from fluxgate.errors import SettingsError

    overrides: dict[str, object] = {}
    if config:
        overrides["configs"] = config
    if data:
        overrides["data_dir"] = data
    if insecure:
        overrides["insecure"] = True
    try:
        settings = ConnectorSettings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise SettingsError(f"FLUXGATE_{where.upper().replace('.', '__')}: {first['msg']}") from None
    settings.check_keys()  # before anything slow starts
    from fluxgate.connector.store import check_url, sqlite_url

    check_url(settings.database_url or sqlite_url(settings.data_dir))
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir(settings.data_dir))  # before prometheus_client
    from fluxgate.connector.supervisor import prepare_processing

    prepare_processing()  # the processing side is imported in parallel with the rest of this start-up
    import uvicorn

    from fluxgate.connector.service import Connector

    connector = Connector(settings, separate_process=True)  # starts and stops with the server's lifespan
    typer.echo(f"{connector.describe()}; listening on {host}:{port}", err=True)
    uvicorn.run(connector.app, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
