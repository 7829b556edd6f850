"""The training loop of the experiment scripts: Adam on a ptal method with periodic evaluations."""
import time
from collections.abc import Callable

import torch


def train_and_evaluate(method, train, iterations: int, eval_every: int,
                       cheap_metrics: Callable[[], dict] | None = None,
                       cheap_every: int = 50) -> tuple[list[dict], float]:
    """Train ``method`` (a ``ptal.train.Method``) for ``iterations`` with the Adam settings of a config's
    ``train`` section, evaluating (eval mode, no gradients) every ``eval_every`` iterations.

    ``cheap_metrics`` (e.g. APN's pseudo-label metrics) is recorded after ``before_iteration(1)`` (as
    iteration 0) and every ``cheap_every`` iterations. Returns (the records, seconds).
    """
    optimizer = torch.optim.Adam(method.model.parameters(), lr=train.lr, betas=train.betas,
                                 weight_decay=train.weight_decay)
    start, history = time.time(), []
    for iteration in range(1, iterations + 1):
        method.before_iteration(iteration)
        if iteration == 1 and cheap_metrics is not None:
            history.append({"iteration": 0, **cheap_metrics()})
        loss, _ = method.training_loss(iteration)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        record = {"iteration": iteration}
        if cheap_metrics is not None and iteration % cheap_every == 0:
            record.update(cheap_metrics())
        if iteration % eval_every == 0:
            method.model.eval()
            with torch.no_grad():
                record.update(method.evaluate())
            method.model.train()
        if len(record) > 1:
            history.append(record)
    return history, time.time() - start
