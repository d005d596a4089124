"""What every command shares on the command line.

`rex_command` adds the common options (-c, -0, --json, -q, -v, --version),
maps options onto configuration keys (option > environment > file > default),
and `run` turns every ending into one stderr line and a sysexits code: click's
usage errors exit 64 (not 2), a broken pipe ends quietly, a bug exits 70.
A record the reader or the writer cannot handle is named on stderr, the others are
handled, and the run's exit status says so (65 for malformed input, 1 for an output
line that cannot hold a name).
"""

import functools
import os
import sys

import click

from . import __version__, errors, log
from .records import PipeClosed

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Invocation:
    """Per-run context handed to a command: its config, record writer and flags."""

    def __init__(self, prog, config_file, null, json_lines, verbosity, options):
        self.prog = prog
        self.config_file = config_file
        self.null = null
        self.json = json_lines
        self.verbosity = verbosity
        self._options = options
        self._config = None
        self._writer = None
        self.failed = []    # exit codes of the records the reader or the writer could not handle

    def fail_record(self, problem):
        """Name a record that could not be read or written, and count it for the exit status."""
        log.error(problem.message)
        self.failed.append(problem.code)

    @property
    def config(self):
        if self._config is None:
            from .config import load

            self._config = load(self.config_file, self._options)
        return self._config

    @property
    def out(self):
        if self._writer is None:
            from .records import Writer

            self._writer = Writer(json_lines=self.json, null=self.null, on_error=self.fail_record)
        return self._writer

    def records(self, operands, require=True, on_error=None):
        """The input records; a malformed one goes to `on_error` (default: `fail_record`)."""
        from .records import read

        return read(operands, null=self.null, require=require, on_error=on_error or self.fail_record)

    def status(self, code):
        """The exit status of a command that ended with `code`, counting the failed records."""
        code = code if isinstance(code, int) else errors.OK
        return errors.worst([code, *self.failed]) if self.failed else code


def rex_command(name, config_keys=None, help_names=("-h", "--help"), **kwargs):
    """Decorate a function `f(inv, **options)` as a command with the common options.

    `config_keys` maps option parameter names to schema keys, so a given option
    overrides the configuration and `rex-config show` can say so.
    """
    config_keys = config_keys or {}

    def decorate(func):
        @functools.wraps(func)
        def callback(config, null, json_lines, quiet, verbose, **params):
            verbosity = -1 if quiet else verbose
            log.setup(name, verbosity)
            options = {}
            ctx = click.get_current_context()
            for param, key in config_keys.items():
                value = params.get(param)
                given = ctx.get_parameter_source(param) == click.core.ParameterSource.COMMANDLINE
                if given and value is not None and value != ():
                    flag = "--" + param.rstrip("_").replace("_", "-")
                    options[key] = (list(value) if isinstance(value, tuple) else value, f"option {flag}")
            return _invoke(func, Invocation(name, config, null, json_lines, verbosity, options), params)

        settings = dict(CONTEXT_SETTINGS, help_option_names=list(help_names))
        return _with_common_options(click.command(name=name, context_settings=settings, **kwargs)(callback), name)

    return decorate


def rex_group(name, **kwargs):
    """Decorate a function (its docstring the help) as a command group with the common
    options, given before the subcommand (`rex-config --json show`); its subcommands are
    made with `rex_subcommand` and run as every command does."""

    def decorate(func):
        @functools.wraps(func)
        def callback(config, null, json_lines, quiet, verbose):
            verbosity = -1 if quiet else verbose
            log.setup(name, verbosity)
            click.get_current_context().obj = Invocation(name, config, null, json_lines, verbosity, {})

        return _with_common_options(click.group(name=name, context_settings=CONTEXT_SETTINGS, **kwargs)(callback),
                                    name)

    return decorate


def rex_subcommand(group, help_names=("-h", "--help"), **kwargs):
    """Decorate a function `f(inv, **options)` as a subcommand of a `rex_group`
    (`help_names=("--help",)` frees -h for a host, as psql does)."""

    def decorate(func):
        @functools.wraps(func)
        def callback(**params):
            return _invoke(func, click.get_current_context().find_object(Invocation), params)

        settings = dict(CONTEXT_SETTINGS, help_option_names=list(help_names))
        return group.command(context_settings=settings, **kwargs)(callback)

    return decorate


def _invoke(func, inv, params):
    """Run a command's function: its exit status, counting the records that failed; a
    reader that went away is PipeClosed (never an OSError a command might take for its own)."""
    try:
        return inv.status(func(inv, **params))
    except BrokenPipeError:
        raise PipeClosed() from None


def _with_common_options(cmd, name):
    cmd.params.extend([
        click.Option(["-c", "--config"], metavar="FILE", help="Read this configuration file."),
        click.Option(["-0", "--null", "null"], is_flag=True, help="Records end with NUL, not newline."),
        click.Option(["--json", "json_lines"], is_flag=True, help="Write records as JSON Lines."),
        click.Option(["-q", "--quiet"], is_flag=True, help="Only report errors."),
        click.Option(["-v", "--verbose"], count=True, help="Say more (repeat for debug)."),
    ])
    return click.version_option(__version__, "--version", prog_name=name, message="%(prog)s (rex) %(version)s")(cmd)


def run(cmd, name, argv=None):
    """Run a click command as a Unix tool and return its exit status."""
    log.setup(name)
    args = sys.argv[1:] if argv is None else argv
    try:
        # Not cmd.main(): it turns EPIPE (from any command or group) into exit 1.
        with cmd.make_context(name, list(args)) as ctx:
            result = cmd.invoke(ctx)
        code = result if isinstance(result, int) else errors.OK
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.UsageError as exc:
        log.error(exc.format_message())
        hint = f"Try '{name} --help' for more information."
        if log.enabled(log.ERROR):
            sys.stderr.write(hint + "\n")
        code = errors.USAGE
    except click.exceptions.Abort:
        code = 130
    except KeyboardInterrupt:
        log.error("interrupted")
        code = 130
    except errors.RexError as exc:
        log.error(exc.message)
        code = exc.code
    except (BrokenPipeError, PipeClosed):
        code = _broken_pipe()
    except click.ClickException as exc:
        log.error(exc.format_message())
        code = exc.exit_code if exc.exit_code not in (1, 2) else errors.SOFTWARE
    except Exception as exc:  # the last resort: a bug
        if os.environ.get("REX_DEBUG") or log.enabled(log.DEBUG):
            import traceback

            traceback.print_exc()
        log.error(f"internal error: {type(exc).__name__}: {exc}")
        code = errors.SOFTWARE
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _broken_pipe()
    except OSError:
        pass
    return code


def _broken_pipe():
    """The reader went away: stop quietly, as `yes | head` does (128 + SIGPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass
    return 141


def main_for(module_name, name):
    """Entry point used by bin/ scripts: import the command lazily and run it."""
    import importlib

    module = importlib.import_module(f"rex.commands.{module_name}")
    sys.exit(run(module.command, name))
