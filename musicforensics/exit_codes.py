"""Exit codes of the command line (docs/exit-codes.md): one place, read by the tally and the CLI.

Failure outranks findings; runs stopped from outside use the shell's 128 + signal convention.
"""

#: Every file analysed, nothing found (or only kinds excluded by ``--fail-on``).
EXIT_CLEAN = 0
#: At least one finding of a counted kind.
EXIT_FINDINGS = 1
#: Bad options or values, an unusable result store or output file.
EXIT_USAGE = 2
#: At least one file could not be analysed (outranks findings).
EXIT_FAILURES = 3
#: Stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: The reader of standard output went away (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141
#: Stopped by SIGTERM (128 + SIGTERM).
EXIT_TERMINATED = 143
