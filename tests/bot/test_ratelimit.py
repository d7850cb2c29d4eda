from bot.ratelimit import SlidingWindowLimiter


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_limit_per_key_within_a_sliding_window():
    clock = Clock()
    limiter = SlidingWindowLimiter(2, 60.0, clock)
    assert [limiter.allow(1) for _ in range(3)] == [True, True, False]
    assert limiter.allow(2) is True
    clock.now = 59.9
    assert limiter.allow(1) is False
    clock.now = 60.0
    assert limiter.allow(1) is True  # the first event left the window; refused ones never counted
    assert limiter.allow(1) is True
    assert limiter.allow(1) is False


def test_idle_keys_are_forgotten():
    clock = Clock()
    limiter = SlidingWindowLimiter(1, 10.0, clock)
    for key in range(100):
        limiter.allow(key)
    clock.now = 11.0
    limiter.allow(1000)
    assert limiter.active_keys == 1
