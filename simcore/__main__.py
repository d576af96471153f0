"""``python -m simcore``: see `simcore.cli`."""

import os
import sys

# jsonschema imports the optional `rfc3987_syntax` (pulled in by Jupyter's
# jsonschema[format-nongpl]) only to check the "iri" string format, and that package compiles a
# grammar at import time: ~2.5 s of CPU on every start. The scenario schema uses no "format"
# keyword, so this process — and only this one, not a notebook importing simcore — does without
# it. Nothing changes if the package is absent or already imported.
if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]


def _main() -> int:
    try:
        from simcore.cli import main
        return main()
    except KeyboardInterrupt:        # Ctrl-C while importing (main() handles its own)
        from simcore.safeio import interrupted
        return interrupted("simcore", sys.stderr)
    except BrokenPipeError:          # `python -m simcore run F | head -1`: the reader left
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(_main())
