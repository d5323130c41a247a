"""Shared CLI plumbing: settings (file, environment, `--db`), opening the store, clean errors.

Settings come, strongest first, from the command line (`--db`), the environment
(`CHARGEBACK_DB`, `CHARGEBACK_TIMEZONE`, `CHARGEBACK_MAX_REPORT_ZONES`, ...), the TOML file
named by `--config`, and defaults.
"""

from __future__ import annotations

import functools
import sys
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, ParamSpec, TypeVar

import platformdirs
import typer
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from chargeback.errors import ChargebackError, ConfigError
from chargeback.reports import ReportError, parse_zone
from chargeback.store import DEFAULT_MAX_REPORT_ZONES, Store, open_store

APP_NAME = "kafka-chargeback"
EXIT_ERROR = 1
EXIT_USAGE = 2  # click's code for bad command-line usage: nothing was attempted
EXIT_BAD_CONFIG = EXIT_USAGE


def default_db_url() -> str:
    """The SQLite file in the user's data directory (the directory is made on first use)."""
    return f"sqlite:///{platformdirs.user_data_path(APP_NAME) / 'chargeback.db'}"


class Settings(BaseSettings):
    """Every setting of the `chargeback` command; see docs/user-guide/configuration.md."""

    model_config = SettingsConfigDict(env_prefix="CHARGEBACK_", extra="forbid")

    db: str = ""
    """SQLAlchemy URL of the store; empty means `default_db_url()`."""
    timezone: str = "UTC"
    """Default reporting time zone (IANA name) when `--tz` is not given."""
    max_report_zones: int = Field(default=DEFAULT_MAX_REPORT_ZONES, ge=1)
    """Most time zones whose rollups reports build (the `timezone` is always allowed)."""
    gateway: dict[str, Any] = {}
    """The `[gateway]` table: `chargeback gateway` options by name; checked by that command."""

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            return parse_zone(value)
        except ReportError as error:
            raise ValueError(str(error)) from None

    @property
    def db_url(self) -> str:
        """The store URL in force."""
        return self.db or default_db_url()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        del dotenv_settings, file_secret_settings  # no .env or secrets directory: one file only
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


def load_settings(config_file: Path | None, db_url: str | None) -> Settings:
    """Read settings from `config_file` (TOML, optional) and the environment; `db_url` wins.

    Raises:
        ConfigError: the file is missing or not TOML, or a setting is unknown or invalid.
    """
    if config_file is not None:
        _check_toml(config_file)

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    overrides: dict[str, Any] = {} if db_url is None else {"db": db_url}
    try:
        return _FromFile(**overrides)
    except ValidationError as error:
        raise ConfigError(_describe(error, config_file)) from None


def _check_toml(config_file: Path) -> None:
    try:
        with config_file.open("rb") as file:
            tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file {config_file} does not exist") from None
    except OSError as error:
        raise ConfigError(f"cannot read config file {config_file}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config file {config_file} is not valid TOML: {error}") from None


def _describe(error: ValidationError, config_file: Path | None) -> str:
    where = f"config file {config_file} or the environment" if config_file else "the environment"
    problems = []
    for problem in error.errors():
        name = ".".join(str(part) for part in problem["loc"])
        if problem["type"] == "extra_forbidden":
            problems.append(f"unknown setting {name!r}")
        else:
            problems.append(f"setting {name!r} (CHARGEBACK_{name.upper()}): {problem['msg']}")
    return f"bad configuration in {where}: " + "; ".join(problems)


@dataclass
class CliState:
    """What the global options decided, kept on the Typer context as `ctx.obj`."""

    settings: Settings
    store: Store | None = None


def settings_from_context(ctx: typer.Context) -> Settings:
    """The settings the global options selected."""
    state: CliState = ctx.find_root().obj
    return state.settings


def open_store_from_context(ctx: typer.Context) -> Store:
    """Open the configured store once per command; it is closed when the command ends.

    Raises:
        StoreError: the database cannot be opened or migrated.
    """
    root = ctx.find_root()
    state: CliState = root.obj
    if state.store is None:
        # open_store makes a SQLite file's folder (the user's data directory by default).
        settings = state.settings
        state.store = open_store(
            settings.db_url,
            max_report_zones=settings.max_report_zones,
            default_zone=settings.timezone,
        )
        root.call_on_close(state.store.close)
    return state.store


P = ParamSpec("P")
R = TypeVar("R")


def clean_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn every ChargebackError into a one-line message on stderr and a non-zero exit code.

    Bad configuration exits with 2, anything else with 1. No traceback: the message names
    what is wrong and where.
    """

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except ConfigError as error:
            fail(str(error), EXIT_BAD_CONFIG)
        except ChargebackError as error:
            fail(str(error), EXIT_ERROR)

    return run


def fail(message: str, exit_code: int) -> NoReturn:
    """Print `error: message` on stderr and leave with `exit_code`."""
    typer.echo(f"error: {message}", err=True)
    sys.stderr.flush()
    raise typer.Exit(exit_code)
