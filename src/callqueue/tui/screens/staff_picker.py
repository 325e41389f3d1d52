"""Who is working: choose from the active staff; the last choice at this desk is preselected."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from callqueue.queue.staff import StaffRow
from callqueue.roles import role_label
from callqueue.tui.widgets.footer import CalmFooter


class StaffPicker(Screen[StaffRow | None]):
    """选择工作人员: dismisses with the chosen staff member, or None for the catalog only."""

    BINDINGS = [
        Binding(
            "escape",
            "catalog",
            "只看目录",
            tooltip="不选择工作人员，只查看提醒目录",
            id="staff.catalog",
        ),
    ]

    HINT = ""
    REMEMBERED_HINT = "上次在本机选择的工作人员已预先选中。"

    def __init__(self, staff: list[StaffRow], remembered: str | None, note: str = "") -> None:
        super().__init__()
        self.staff = [s for s in staff if s.active]
        self.remembered = remembered
        self.note = note

    def compose(self) -> ComposeResult:
        """The list of staff, a hint, and why the picker is shown."""
        yield Header()
        with Vertical(id="staff-box"):
            yield Static(Text("请选择工作人员（↑↓ 选择，回车确定）", style="bold"))
            if self.note:
                yield Static(Text(self.note), id="staff-note")
            yield OptionList(
                *(
                    Option(
                        Text(f"{s.name}  ·  {s.section}  ·  {role_label(s.role)}"),
                        id=str(s.id),
                    )
                    for s in self.staff
                ),
                id="staff-list",
            )
            # Only when a remembered name is in the list: otherwise the first name is simply
            # where the cursor starts, and nobody chose it before.
            remembered = self.remembered in {s.name for s in self.staff}
            hint = self.HINT + (self.REMEMBERED_HINT if remembered else "")
            yield Static(Text(hint), classes="dialog-hint")
        yield CalmFooter(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Put the cursor on the remembered staff member."""
        names = [s.name for s in self.staff]
        options = self.query_one(OptionList)
        options.highlighted = names.index(self.remembered) if self.remembered in names else 0
        options.focus()

    @on(OptionList.OptionSelected, "#staff-list")
    def chosen(self, event: OptionList.OptionSelected) -> None:
        """Work as the chosen staff member."""
        self.dismiss(self.staff[event.option_index])

    def action_catalog(self) -> None:
        """Go on without a staff member: the catalog only."""
        self.dismiss(None)


class SignInPicker(StaffPicker):
    """选择工作人员, then the PIN: with sign-in nobody works, or reads, without one."""

    BINDINGS = [
        Binding("escape", "catalog", "退出", tooltip="不登录，退出程序", id="staff.quit"),
    ]
    HINT = "选择自己后输入 PIN 登录。"
