"""Autoscaling placeholder (replaced by the operations module)."""


class Autoscaler:
    def __init__(self, worker, minimum: int, maximum: int):
        self.worker, self.minimum, self.maximum = worker, minimum, maximum

    def step(self, now) -> None:
        return None
