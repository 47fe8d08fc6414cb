"""The progress estimator: how far an import is, from its file size, its elapsed time and the learned import speed."""
import math
from dataclasses import dataclass

# The percent at which the straight "elapsed over expected" line hands over to the slowing tail.
KNEE = 80
# A running job never shows more: only the imports service knows when it is done.
CAP = 99
# The most a `bigint` file_size can hold; larger inputs are clamped so float arithmetic cannot overflow.
MAX_SIZE = 2**63 - 1


@dataclass(frozen=True)
class ImportSpeed:
    """How long an import takes: `overhead` seconds plus `file_size / throughput` (bytes per second)."""

    throughput: float
    overhead: float
    sample: int

    @classmethod
    def from_medians(cls, *, sample, small_size, small_seconds, large_size, large_seconds, size, seconds):
        """Fit the line through the medians of the smaller and the larger half of the imports; None if none fits."""
        if None not in (large_size, large_seconds) and large_size > small_size and large_seconds > small_seconds:
            seconds_per_byte = (large_seconds - small_seconds) / (large_size - small_size)
            return cls(
                throughput=1 / seconds_per_byte,
                overhead=max(0.0, small_seconds - seconds_per_byte * small_size),
                sample=sample,
            )
        # No spread of sizes, or bigger files were not slower: duration proportional to size.
        if size and seconds and size > 0 and seconds > 0:
            return cls(throughput=size / seconds, overhead=0.0, sample=sample)
        return None


def expected_seconds(file_size, speed):
    """Return how long an import of `file_size` bytes is expected to take; None when it cannot be estimated."""
    if speed is None or file_size is None or file_size < 0 or not speed.throughput > 0:
        return None
    expected = max(speed.overhead, 0.0) + min(file_size, MAX_SIZE) / speed.throughput
    return expected if expected > 0 and math.isfinite(expected) else None


def _elapsed(elapsed):
    # Clock skew can make a job look as if it started in the future: that is no time elapsed.
    return elapsed if elapsed is not None and elapsed > 0 else 0.0


def progress_percent(file_size, elapsed, speed):
    """Return the estimated percent (1-99) of an import `elapsed` seconds in; None when it cannot be estimated."""
    expected = expected_seconds(file_size, speed)
    if expected is None:
        return None
    share = 100 * _elapsed(elapsed) / expected
    if share > KNEE:
        # Past the knee the bar slows down hyperbolically towards CAP, joining the line smoothly (same slope).
        room = CAP - KNEE
        share = CAP - room / (1 + (share - KNEE) / room)
    return min(CAP, max(1, math.floor(share)))


def remaining_seconds(file_size, elapsed, speed):
    """Return the estimated whole seconds left (at least 1); None when unknown or the import runs past its time."""
    expected = expected_seconds(file_size, speed)
    if expected is None:
        return None
    left = expected - _elapsed(elapsed)
    return math.ceil(left) if left > 0 else None
