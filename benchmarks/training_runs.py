"""The training loop of the experiment scripts: Adam on a ptal method with periodic evaluations."""
import time
from collections.abc import Callable

import torch


def train_and_evaluate(method, train: dict, iterations: int, eval_every: int,
                       after_first_preparation: Callable[[], dict] | None = None) -> tuple[list[dict], float]:
    """Train ``method`` (a ``ptal.train.Method``) for ``iterations`` with the Adam settings of a config's
    ``train`` section, evaluating (eval mode, no gradients) every ``eval_every`` iterations.

    ``after_first_preparation``: called once after ``before_iteration(1)``; what it returns is recorded as
    iteration 0 (e.g. APN's initial pseudo-label metrics). Returns (the records, seconds).
    """
    optimizer = torch.optim.Adam(method.model.parameters(), lr=train["lr"], betas=tuple(train["betas"]),
                                 weight_decay=train["weight_decay"])
    start, history = time.time(), []
    for iteration in range(1, iterations + 1):
        method.before_iteration(iteration)
        if iteration == 1 and after_first_preparation is not None:
            history.append({"iteration": 0, **after_first_preparation()})
        loss, _ = method.training_loss(iteration)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if iteration % eval_every == 0:
            method.model.eval()
            with torch.no_grad():
                history.append({"iteration": iteration, **method.evaluate()})
            method.model.train()
    return history, time.time() - start
