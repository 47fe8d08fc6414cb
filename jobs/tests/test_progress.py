import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jobs.progress import ImportSpeed, expected_seconds, progress_percent, remaining_seconds

SPEED = ImportSpeed(throughput=65_536.0, overhead=5.0, sample=12)

sizes = st.one_of(st.none(), st.integers(min_value=-(2**70), max_value=2**70))
elapsed_seconds = st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True))
speeds = st.one_of(
    st.none(),
    st.builds(
        ImportSpeed,
        throughput=st.floats(min_value=-1e12, max_value=1e12),
        overhead=st.floats(min_value=-1e6, max_value=1e6),
        sample=st.integers(min_value=0, max_value=10_000),
    ),
)


@settings(max_examples=300, deadline=None)
@given(file_size=sizes, elapsed=elapsed_seconds, speed=speeds)
def test_percent_is_none_or_between_1_and_99_for_any_input(file_size, elapsed, speed):
    percent = progress_percent(file_size, elapsed, speed)

    # The contract's bound (docs/rules.md), written out: a change of the code's cap does not move it.
    assert percent is None or (isinstance(percent, int) and 1 <= percent <= 99)


@settings(max_examples=200, deadline=None)
@given(
    file_size=st.integers(min_value=0, max_value=2**63 - 1),
    moments=st.lists(st.floats(min_value=-3600, max_value=1e7), min_size=2, max_size=20),
)
def test_percent_only_grows_with_elapsed_time(file_size, moments):
    percents = [progress_percent(file_size, elapsed, SPEED) for elapsed in sorted(moments)]

    assert percents == sorted(percents)


@settings(max_examples=200, deadline=None)
@given(
    file_size=st.integers(min_value=0, max_value=2**40),
    moments=st.lists(st.floats(min_value=-3600, max_value=1e7), min_size=2, max_size=20),
)
def test_remaining_seconds_never_negative_and_never_rising_within_expected_time(file_size, moments):
    expected = expected_seconds(file_size, SPEED)
    within = sorted(elapsed for elapsed in moments if elapsed < expected)
    remaining = [remaining_seconds(file_size, elapsed, SPEED) for elapsed in within]

    assert all(seconds >= 1 for seconds in remaining)
    assert remaining == sorted(remaining, reverse=True)


@pytest.mark.parametrize(
    ("elapsed", "percent", "remaining"),
    [
        (-30, 1, 21),  # clock skew: no time elapsed yet
        (0, 1, 21),
        (10.5, 50, 11),
        (16.8, 80, 5),  # the knee: straight line up to here
        (21, 89, None),  # expected time reached: slowing, no estimate of the rest
        (42, 96, None),
        (4200, 98, None),
        (math.inf, 99, None),
    ],
)
def test_a_one_mebibyte_import_over_time(elapsed, percent, remaining):
    assert (progress_percent(1_048_576, elapsed, SPEED), remaining_seconds(1_048_576, elapsed, SPEED)) == (
        percent,
        remaining,
    )


@pytest.mark.parametrize("file_size", [None, -1])
def test_no_estimate_without_a_usable_size(file_size):
    assert (progress_percent(file_size, 10, SPEED), remaining_seconds(file_size, 10, SPEED)) == (None, None)


def test_no_estimate_without_a_learned_speed():
    assert (progress_percent(1024, 10, None), remaining_seconds(1024, 10, None)) == (None, None)


def test_an_empty_file_takes_the_overhead():
    assert (progress_percent(0, 2.5, SPEED), remaining_seconds(0, 2.5, SPEED)) == (50, 3)


def test_a_huge_file_starts_above_zero():
    assert (progress_percent(2**70, 3600, SPEED), remaining_seconds(2**63 - 1, 0, SPEED)) == (1, 140737488355333)


@pytest.mark.parametrize(
    ("medians", "speed"),
    [
        # A line through (1 MiB, 21 s) and (10 MiB, 165 s): 65536 B/s plus 5 s.
        (
            {"small_size": 1_048_576, "small_seconds": 21, "large_size": 10_485_760, "large_seconds": 165},
            ImportSpeed(throughput=65_536.0, overhead=5.0, sample=10),
        ),
        # A negative intercept is no overhead.
        (
            {"small_size": 1_000, "small_seconds": 1, "large_size": 3_000, "large_seconds": 5},
            ImportSpeed(throughput=500.0, overhead=0.0, sample=10),
        ),
        # Every file the same size: duration proportional to size.
        (
            {"small_size": 4_000, "small_seconds": 8, "large_size": None, "large_seconds": None},
            ImportSpeed(throughput=500.0, overhead=0.0, sample=10),
        ),
        # Bigger files were faster: duration proportional to size.
        (
            {"small_size": 1_000, "small_seconds": 9, "large_size": 7_000, "large_seconds": 7},
            ImportSpeed(throughput=500.0, overhead=0.0, sample=10),
        ),
    ],
)
def test_speed_from_medians(medians, speed):
    assert ImportSpeed.from_medians(sample=10, size=4_000, seconds=8, **medians) == speed


def test_no_speed_from_empty_files_alone():
    medians = {"small_size": 0, "small_seconds": 3, "large_size": None, "large_seconds": None}

    assert ImportSpeed.from_medians(sample=10, size=0, seconds=3, **medians) is None
