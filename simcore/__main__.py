"""``python -m simcore``: see `simcore.cli`."""

import sys

# jsonschema imports the optional `rfc3987_syntax` (pulled in by Jupyter's
# jsonschema[format-nongpl]) only to check the "iri" string format, and that package compiles a
# grammar at import time: ~2.5 s of CPU on every start. The scenario schema uses no "format"
# keyword, so this process — and only this one, not a notebook importing simcore — does without
# it. Nothing changes if the package is absent or already imported.
if "rfc3987_syntax" not in sys.modules:
    sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]

from simcore.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
