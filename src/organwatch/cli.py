"""The ``organwatch`` command: a thin click root that loads each engine's command group lazily.

Each engine owns its commands in ``organwatch/<engine>/cli.py`` and is registered once, in the engine table
(:mod:`organwatch.engines`); :data:`COMMANDS` is derived from it. Importing an engine happens only when its
command runs, so ``organwatch --help`` stays fast. Bad input anywhere becomes one line on stderr and exit 2.
"""

from __future__ import annotations

import os
import sys

import click

from organwatch import __version__
from organwatch.engines import load_target, top_level_commands
from organwatch.errors import InputError, RecordError

# command name -> "module:attribute" of a click.Command, from the engine table
COMMANDS: dict[str, str] = top_level_commands()


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        command: click.Command = load_target(target)
        return command


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``--version``: the version and whether the screener's modules run compiled (setup.py, buildinfo)."""
    if not value or ctx.resilient_parsing:
        return
    from organwatch.buildinfo import build_note

    click.echo(f"organwatch, version {__version__} ({build_note()})")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version and the build (pure Python or compiled) and exit.")
def cli() -> None:
    """organwatch: reproducible evidence on organ transplantation from official data and literature.

    \b
    Example:
      organwatch report                  # offline HTML evidence report from embedded data
      organwatch stats --json            # forensic battery on the embedded Chinese series
      organwatch data list               # embedded datasets and their sources
    """


# numpy's OpenBLAS starts one thread per core when it loads and lets them spin: about 0.2 s of CPU per process
# that imports numpy (measured: 1.35 against 1.12 s of CPU for a whole two-worker `organwatch screen` of the
# labelled set), for matrices too small to gain from threads. organwatch runs its own worker processes instead.
BLAS_THREADS = {"OPENBLAS_NUM_THREADS": "1"}


def single_threaded_blas() -> None:
    """Give numpy one BLAS thread unless the environment already chooses (set before numpy loads: the
    workers and the servers they fork from inherit it)."""
    for name, value in BLAS_THREADS.items():
        os.environ.setdefault(name, value)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: runs the CLI and turns bad input into one line and exit status 2."""
    single_threaded_blas()
    try:
        cli.main(args=argv, prog_name="organwatch", standalone_mode=False)
    except (InputError, RecordError) as e:
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
