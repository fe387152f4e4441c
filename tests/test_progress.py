"""What a terminal running the notebook shows: each training bar's time left, echoed from the kernel."""

from __future__ import annotations

import pytest

from asgn2.submit import _echo_progress
from asgn2.training import History, TrainConfig, _time_left


@pytest.mark.parametrize(
    ("steps", "wall_s", "budget_s", "left"),
    [
        (100, 10.0, 40.0, "30 s"),  # the time budget binds: a quarter of 40 s done, 30 s left
        (500, 10.0, 400.0, "10 s"),  # the steps bind: half of 1000 steps in 10 s, 10 s left
        (100, 10.0, None, "90 s"),  # no budget: by steps
    ],
)
def test_time_left_follows_whichever_limit_binds(steps, wall_s, budget_s, left):
    history = History(step_loss=[0.0] * steps, wall_time_s=wall_s)
    assert _time_left(history, 1000, TrainConfig(time_budget_s=budget_s)) == left


def test_the_terminal_shows_the_last_redraw_of_a_progress_bar(capsys):
    _echo_progress("pixelcnn:  10%|#   | 100/1000 [left=90 s]\rpixelcnn:  20%|##  | 200/1000 [left=80 s]\r")
    assert capsys.readouterr().out.strip() == "pixelcnn:  20%|##  | 200/1000 [left=80 s]"
    _echo_progress("\n")
    assert capsys.readouterr().out == ""
