import pytest

from playground.loadtest import LoadReport, RssPeaks, percentile_ms


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


def test_rss_peaks_keep_the_highest_total_and_each_process_highest():
    peaks = RssPeaks()
    for sample in ({"replica-0": 100, "replica-1": 50}, {"replica-0": 80, "replica-1": 90}, {"replica-0": 0}):
        peaks.add(sample)
    assert peaks.total == 170 and peaks.by_process == {"replica-0": 100, "replica-1": 90}


def test_summary_of_a_cluster_names_nginx_postgres_and_each_process_peak():
    report = LoadReport(
        users=200, photos_per_user=1, think_s=3.0, ramp_s=10.0, expected_replies=2000, received_replies=2000,
        lost_replies=0, duplicated_replies=0, busy_replies=0, photo_p50_ms=100.0, photo_p95_ms=300.0,
        button_p50_ms=20.0, button_p95_ms=40.0, duration_s=60.0, replies_per_s=33.3, bot_peak_rss_mb=600.0,
        replicas=3, cluster=True, peak_rss_mb_by_process={"replica-0": 200.4, "replica-1": 199.6},
    )
    lines = report.summary().splitlines()
    assert lines[0].endswith("3 webhook replica(s) behind nginx on PostgreSQL")
    assert lines[-1] == "bot peak RSS: 600 MB (each process's peak: replica-0 200 MB, replica-1 200 MB)"
