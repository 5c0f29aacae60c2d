"""Loading `fluxgate.yaml`: YAML with positions -> pydantic, errors as `file:line: field: reason`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from fluxgate.config.fields import LocatedError
from fluxgate.config.model import PipelineConfig
from fluxgate.errors import ConfigError
from fluxgate.yamlfile import display_path, line_of, load_mapping, to_plain

__all__ = ["DEFAULT_CONFIG", "find_config", "load_config"]

DEFAULT_CONFIG = "fluxgate.yaml"


def find_config(start: Path | None = None) -> Path:
    """`fluxgate.yaml` in the working directory or the nearest parent, like git finds `.git`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / DEFAULT_CONFIG
        if candidate.is_file():
            return candidate
    raise ConfigError(f"{DEFAULT_CONFIG}: not found in {here} or its parents; pass --config")


def _field(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_config(path: Path) -> PipelineConfig:
    """Parse and validate one config file; every problem found is reported with its line."""
    node = load_mapping(path, ConfigError)
    where = display_path(path)
    try:
        config = PipelineConfig.model_validate(to_plain(node), context={"root": path.resolve().parent})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            located = (err.get("ctx") or {}).get("error")
            loc = err["loc"]
            if isinstance(located, LocatedError):
                loc = (*loc, *located.loc) if located.relative else located.loc
            # pydantic's labels (`function-after[...]`, union tags such as `check[http]`) are no keys
            loc = tuple(p for p in loc if not (isinstance(p, str) and "[" in p))
            line = line_of(node, loc)
            message = err["msg"].removeprefix("Value error, ")
            prefix = f"{where}:{line}" if line else where
            problems.append(f"{prefix}: {_field(loc)}: {message}")
        raise ConfigError.from_problems(problems) from exc
    config._file = path.resolve()
    return config
