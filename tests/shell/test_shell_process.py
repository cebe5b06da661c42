"""`conductor shell` as a person uses it: a process at the other end of a pipe, typed into
line by line, its printed replies read back."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time


class Terminal:
    def __init__(self, *args: str):
        env = {**os.environ, "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "shell", "--start", "2026-03-02 08:00", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} never appeared; the screen showed:\n" + "\n".join(self.seen[-40:]))


def test_a_person_types_a_command_presses_a_button_and_reads_the_reply():
    terminal = Terminal("--as", "@editor")
    try:
        terminal.wait_for("Type :help for help")
        terminal.type('/conductor start blog-article title="Rehearsals" writer=@ana')
        button = terminal.wait_for("] Submit")
        number = button.split("[", 1)[1].split("]", 1)[0]
        terminal.type(number)  # press it
        terminal.wait_for("Angle and key message")
        terminal.type("Rehearse before the team sees it.")
        terminal.wait_for("Search keywords")
        terminal.type("rehearsal\\nworkflows")
        terminal.wait_for("Write the brief done by @editor")
        terminal.wait_for("@ana, over to you: Draft the article")
        terminal.type(":quit")
        assert terminal.process.wait(timeout=30) == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    assert not any("Traceback" in line for line in terminal.seen), "\n".join(terminal.seen)
