"""The log says which action failed, in words the masking leaves readable."""

from __future__ import annotations

import logging
from pathlib import Path

from callqueue import logs
from callqueue.tui.desk import failure_text
from callqueue.tui.office_desk import read_failure


class QueueScreenLike:
    def load_page(self) -> str:
        return failure_text("读取队列失败", RuntimeError("天津市某某公司 13800138000"))

    def read_catalog(self) -> str:
        return read_failure("读取目录失败", KeyError("张三"))


def test_a_failure_names_its_action_and_masks_the_data(
    tmp_path: Path,
) -> None:
    log_file = tmp_path / "cq.log"
    root = logging.getLogger("callqueue")
    before = (list(root.handlers), root.level, root.propagate)
    logs.setup(log_file, console=False)
    try:
        screen = QueueScreenLike()
        assert screen.load_page().startswith("读取队列失败：RuntimeError")
        assert screen.read_catalog() == "读取目录失败：KeyError"
    finally:
        for handler in list(root.handlers):
            handler.close()
            root.removeHandler(handler)
        for handler in before[0]:
            root.addHandler(handler)
        root.setLevel(before[1])
        root.propagate = before[2]
    text = log_file.read_text(encoding="utf-8")
    assert "desk action failed in QueueScreenLike.load_page" in text
    assert "read failed in QueueScreenLike.read_catalog" in text
    assert "13800138000" not in text and "某某公司" not in text and "张三" not in text
