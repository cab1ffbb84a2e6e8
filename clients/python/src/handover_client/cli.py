"""The `handover` command line."""

import typer

app = typer.Typer(no_args_is_help=True, help="Handover from the command line.")


def main() -> None:
    app()
