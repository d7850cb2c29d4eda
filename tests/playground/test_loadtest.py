import pytest

from playground.loadtest import LoadReport, percentile_ms


@pytest.mark.parametrize(("q", "expected"), [(50, 5000.0), (95, 10000.0), (10, 1000.0), (100, 10000.0)])
def test_percentile_is_nearest_rank_in_ms(q, expected):
    assert percentile_ms([float(x) for x in range(10, 0, -1)], q) == expected


def test_percentile_of_nothing_is_zero():
    assert percentile_ms([], 95) == 0.0


def test_summary_names_every_figure():
    report = LoadReport(
        users=50, photos_per_user=3, think_s=2.0, ramp_s=10.0, expected_replies=1500, received_replies=1499,
        lost_replies=1, duplicated_replies=0, busy_replies=2, photo_p50_ms=120.4, photo_p95_ms=840.6,
        button_p50_ms=17.0, button_p95_ms=102.0, duration_s=64.3, replies_per_s=23.3, bot_peak_rss_mb=93.2,
    )
    assert report.summary().splitlines() == [
        "users 50 x 3 photo(s) + questionnaire, think time 2 s, ramp-up 10 s",
        "replies: 1499 received / 1500 expected (1 lost, 0 duplicated, 2 'busy, try again')",
        "photo -> reply latency: p50 120 ms, p95 841 ms",
        "button -> reply latency: p50 17 ms, p95 102 ms",
        "throughput: 23.3 replies/s over 64.3 s",
        "bot peak RSS: 93 MB",
    ]
