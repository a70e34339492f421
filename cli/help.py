"""Help that reads like a normal CLI: `[OPTIONS] QUESTION` usage lines, flags without `<bool>`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup


def _plain_metavars(params: Sequence[Any]) -> None:
    """Help in the usual CLI style: a flag takes no value, so none is shown (typer would
    print `<bool>`); other parameters show their name in capitals unless they set one."""
    for param in params:
        if param.metavar is not None:
            continue
        param.metavar = "" if getattr(param, "is_flag", False) else param.name.upper()


class _Usage:
    """Shared by commands and groups: plain metavars, and a usage line in click's style."""

    def get_help_option(self, ctx: typer.Context) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _plain_metavars([option])
        return option

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:
        # Typer writes a required argument as `{question}`; a usage line reads `QUESTION`,
        # an optional one `[NAME]`, and one that takes several values `NAME...`.
        pieces = [self.options_metavar] if self.options_metavar else []  # type: ignore[attr-defined]
        for param in self.get_params(ctx):  # type: ignore[attr-defined]
            if isinstance(param, TyperArgument):
                name = param.metavar or param.name.upper()
                pieces.append((name if param.required else f"[{name}]") + ("..." if param.nargs != 1 else ""))
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        if isinstance(self, TyperGroup):
            pieces.append(self.subcommand_metavar)
        return pieces


class _Command(_Usage, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_metavars(self.params)


class _Group(_Usage, TyperGroup):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _plain_metavars(self.params)
