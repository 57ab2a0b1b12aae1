"""The ``organwatch`` command: a thin click root that loads each engine's command group lazily.

Each engine owns its commands in ``organwatch/<engine>/cli.py`` (or ``organwatch/<name>_cli.py``) and is
registered in :data:`COMMANDS` below. Importing an engine happens only when its command runs, so
``organwatch --help`` stays fast. Bad input anywhere becomes one line on stderr and exit status 2.
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from organwatch import __version__
from organwatch.errors import InputError

# command name -> "module:attribute" of a click.Command
COMMANDS: dict[str, str] = {
    "report": "organwatch.report.cli:report",
    "data": "organwatch.datasets.cli:data",
    "stats": "organwatch.stats.cli:stats",
    "screen": "organwatch.screen.cli:screen",
    "evaluate": "organwatch.screen.cli:evaluate",
    "laws": "organwatch.claims.cli:laws",
    "claims": "organwatch.claims.cli:claims",
    "review": "organwatch.review.cli:review",
    "volume": "organwatch.volume.cli:volume",
    "hospitals": "organwatch.volume.cli:hospitals",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="organwatch")
def cli() -> None:
    """organwatch: reproducible evidence on organ transplantation from official data and literature.

    \b
    Example:
      organwatch report                  # offline HTML evidence report from embedded data
      organwatch stats --json            # forensic battery on the embedded Chinese series
      organwatch data list               # embedded datasets and their sources
    """


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the CLI and turns bad input into one line and exit status 2."""
    try:
        cli.main(args=argv, prog_name="organwatch", standalone_mode=False)
    except InputError as e:
        click.echo(f"organwatch: error: {e}", err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("organwatch: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:  # click's own usage errors: one line too
        ctx = getattr(e, "ctx", None)
        where = f"{ctx.command_path}: " if ctx is not None else ""
        msg = " ".join(e.format_message().split())
        click.echo(f"organwatch: error: {where}{msg} (see --help)", err=True)
        sys.exit(2)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except BrokenPipeError:  # e.g. `organwatch data show x | head`
        sys.exit(0)
    except KeyboardInterrupt:
        click.echo("organwatch: interrupted", err=True)
        sys.exit(130)
    except OSError as e:  # unreadable files, permission problems: still one line
        name = getattr(e, "filename", None)
        click.echo(f"organwatch: error: {str(name) + ': ' if name else ''}{e.strerror or e}", err=True)
        sys.exit(2)
    except Exception as e:  # a bug in organwatch, not bad input: still no traceback unless asked for
        if os.environ.get("ORGANWATCH_DEBUG"):
            raise
        msg = " ".join(f"{type(e).__name__}: {e}".split())
        click.echo(f"organwatch: internal error (please report; ORGANWATCH_DEBUG=1 shows details): {msg}", err=True)
        sys.exit(1)
    sys.exit(0)
