"""Files the commands write: replaced whole or not at all, and why not in words for staff."""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_NO_PERMISSION = "没有写入权限，或该文件正在 Excel/WPS 中打开（请关闭后重试）"
_WRITE_ERRORS = {
    errno.EACCES: _NO_PERMISSION,
    errno.EPERM: _NO_PERMISSION,
    errno.EROFS: "该位置只读",
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "磁盘空间不足",
    errno.ENOTDIR: "路径中有一部分不是文件夹",
    errno.EEXIST: "路径中有一部分不是文件夹",
    errno.EISDIR: "这是一个文件夹，请写文件名",
    errno.ENAMETOOLONG: "文件名太长",
    errno.ENOENT: "文件夹不存在",
    errno.EIO: "读写设备出错（磁盘或网络共享）",
}


def write_error(exc: OSError) -> str:
    """Why a file could not be written, in words for staff (the OS says it in English).

    On Windows a file open in Excel or WPS cannot be replaced: that is a permission error.
    An error of no known kind is named by its number rather than in the OS's English.
    """
    known = _WRITE_ERRORS.get(exc.errno) if exc.errno is not None else None
    if known:
        return known
    return f"系统错误（错误号 {exc.errno}）" if exc.errno is not None else "系统错误"


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary file beside `path` to write; it replaces `path` when the block succeeds.

    A failed write (disk full, killed process, an error in the block) never leaves half a
    file at `path`, and the temporary file is removed. Missing folders are made.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not mkstemp: its file is owner-only (0600), and files here are for colleagues too. Made
    # with 0666 the file gets the user's umask like any new file; a replaced one keeps its mode.
    tmp = path.parent / f".{path.stem}.{secrets.token_hex(6)}{path.suffix}"
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(path.stat().st_mode))
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` whole or not at all."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


def copy_new(source: Path, target: Path) -> bool:
    """Copy `source` to `target` unless `target` exists; True when copied.

    Copied whole or not at all: half a file would count as existing next time.
    """
    if target.exists():
        return False
    with replacing(target) as tmp:
        shutil.copyfile(source, tmp)
    return True
