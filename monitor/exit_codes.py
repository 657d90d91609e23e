"""The one table of ``telmon``'s exit codes (README, "Exit codes").

``main()`` in monitor/cli/__init__.py catches every :class:`monitor.errors.TelmonError` (and argparse's
usage errors), prints its message as one line on stderr and exits with the code this table gives:
2 configuration or usage, 3 bad data or input, 4 a service telmon needs is unavailable (the
database, Asterisk's AMI), 1 anything else (an internal error). 0 is success, 130 Ctrl-C.
"""
from __future__ import annotations

# Each error class by its module path, so that main() needs not import the speech, web and live
# modules to know them. A class not listed takes its nearest listed base (LoginFailed: AmiError);
# any other TelmonError is an internal error.
EXIT_USAGE, EXIT_DATA, EXIT_UNAVAILABLE, EXIT_INTERNAL = 2, 3, 4, 1
EXIT_CODES: dict[str, int] = {
    # configuration or usage: fix the command, the configuration or the installation
    "monitor.config.ConfigError": EXIT_USAGE,
    "monitor.directory.DirectoryError": EXIT_USAGE,
    "monitor.report.period.ReportError": EXIT_USAGE,
    "monitor.web.accounts.AccountError": EXIT_USAGE,
    "monitor.speech.engine.ModelError": EXIT_USAGE,
    "argparse.ArgumentTypeError": EXIT_USAGE,
    # data or input: a file or record telmon was given cannot be used
    "monitor.speech.audio.AudioError": EXIT_DATA,
    "monitor.cel_source.CelError": EXIT_DATA,
    "monitor.live.agi_protocol.AgiError": EXIT_DATA,
    "monitor.speech.job.JobError": EXIT_DATA,
    "monitor.core.limits.Unfit": EXIT_DATA,
    # a service telmon needs is unavailable: the database, Asterisk's AMI
    "monitor.storage.store.StorageError": EXIT_UNAVAILABLE,
    "monitor.storage.failures.StorageUnavailable": EXIT_UNAVAILABLE,
    "monitor.storage.schema.HalfMigrated": EXIT_UNAVAILABLE,
    "monitor.live.ami_client.AmiError": EXIT_UNAVAILABLE,
    # internal: telmon could not do its own work (a worker process died, a web request failed)
    "monitor.speech.pool.CheckFailed": EXIT_INTERNAL,
    "monitor.web.framework.Problem": EXIT_INTERNAL,
    "monitor.errors.TelmonError": EXIT_INTERNAL,
}


def exit_code_of(exc: BaseException) -> int:
    """The exit code for an error (EXIT_CODES; its nearest listed class), 1 when none is listed."""
    for cls in type(exc).__mro__:
        code = EXIT_CODES.get(f"{cls.__module__}.{cls.__qualname__}")
        if code is not None:
            return code
    return EXIT_INTERNAL
