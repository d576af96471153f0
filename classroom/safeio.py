"""Reading and writing the instructor's files safely: bounded reads, atomic writes, safe cells.

* `read_text(path)` reads at most MAX_FILE_BYTES from a regular file (never a FIFO or a device
  that blocks or never ends), as UTF-8 (a BOM is dropped) or, failing that, Latin-1 (what
  Excel and old rosters write); errors are one line naming the file.
* `write_atomic(path, data, inputs=...)` refuses targets that are not regular files (a
  directory, a symlink, a device, ``/proc``) and the input files themselves, writes a
  temporary file beside the target, keeps the target's permissions, and renames; on any error
  or Ctrl-C the temporary file is removed and the target is untouched.
* `cell(value)` neutralises a spreadsheet formula per OWASP's "CSV injection" rule: a text
  cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
  apostrophe, so Excel, LibreOffice and Google Sheets show it as text.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from simcore.safeio import InputError, read_bytes

#: A class's answers or roster fit in a few megabytes; anything larger is a wrong file.
MAX_FILE_BYTES = 50 * 1024 * 1024
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class FileError(Exception):
    """A file that cannot be read or written; the message is one line naming it."""


def read_text(path: str | os.PathLike, what: str = "file") -> tuple[str, str]:
    """(text, encoding) of a regular file of at most MAX_FILE_BYTES.

    The bounded read is simcore's (`simcore.safeio.read_bytes`: opened non-blocking, the type
    checked on the open descriptor, so a FIFO or a device is refused and never read); what is
    the instructor's own is the decoding: UTF-8 (a BOM dropped), else Latin-1.
    """
    try:
        data = read_bytes(path, MAX_FILE_BYTES, f"class {what}")
    except InputError as e:
        raise FileError(f"{what} {e}") from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_target(path: str | os.PathLike, inputs=(), flag: str = "--out") -> Path:
    """The target as a Path, or FileError if writing there would destroy something."""
    target = Path(path)
    if str(path) == "" or target.name in ("", ".", ".."):
        raise FileError(f"{flag}: {str(path)!r} is not a file name")
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise FileError(f"{flag}: {str(target)!r}: {e.strerror}") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise FileError(f"{flag}: {str(target)!r} is a directory")
        if not stat.S_ISREG(st.st_mode):
            raise FileError(f"{flag}: {str(target)!r} is not a regular file (a symlink, a "
                            "device or a pipe); refusing to replace it")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):   # root passes access()
            raise FileError(f"{flag}: {str(target)!r} is read-only; refusing to replace it")
        for i in inputs:
            if i is not None and _same_file(target, Path(i)):
                raise FileError(f"{flag}: {str(target)!r} is the input file; write the "
                                "output somewhere else")
    directory = target.parent
    if not directory.is_dir():
        raise FileError(f"{flag}: directory {str(directory)!r} does not exist")
    if str(directory.resolve()).startswith(("/proc", "/sys", "/dev")):
        raise FileError(f"{flag}: {str(target)!r} is in a system directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise FileError(f"{flag}: directory {str(directory)!r} is not writable")
    return target


def write_atomic(path: str | os.PathLike, data: str | bytes, inputs=(),
                 flag: str = "--out") -> Path:
    """Write ``data`` to ``path`` all at once (see the module docstring)."""
    target = check_target(path, inputs, flag)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as e:
        raise FileError(f"{flag}: {str(target)!r}: cannot write ({e.strerror})") from None
    finally:                       # also on KeyboardInterrupt: no temporary file left behind
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return target


def cell(value):
    """A CSV cell that no spreadsheet will run as a formula (OWASP)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
