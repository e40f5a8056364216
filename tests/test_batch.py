"""The batch runner: order, per-item errors, bounded concurrency and input, cancellation."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import itertools
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omicsoracle.batch import BatchRunner, Outcome, run_batch

T = TypeVar("T")


def run(coro: Awaitable[T]) -> T:
    """Run ``coro`` on a fresh loop and check that it left no task behind."""

    async def main() -> T:
        try:
            return await coro
        finally:
            # Cancelled generators are closed by now; a worker left over would be here.
            others = asyncio.all_tasks() - {asyncio.current_task()}
            assert not others, others

    return asyncio.run(main())


class Gauge:
    """Counts items running at once and the most that ever did."""

    def __init__(self) -> None:
        self.now = 0
        self.peak = 0
        self.started = 0
        self.lock = threading.Lock()  # thread items update it too

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self.lock:
            self.now += 1
            self.started += 1
            self.peak = max(self.peak, self.now)
        try:
            yield
        finally:
            with self.lock:
                self.now -= 1


def values(outcomes: list[Outcome[Any, Any]]) -> list[Any]:
    return [o.value if o.ok else repr(o.error) for o in outcomes]


# -- order and errors ------------------------------------------------------------------


def test_outcomes_come_in_input_order_with_per_item_errors() -> None:
    async def square(n: int) -> int:
        # Later items finish first: order must come from the input, not from time.
        for _ in range(10 - n):
            await asyncio.sleep(0)
        if n % 3 == 0:
            raise ValueError(f"bad {n}")
        return n * n

    outcomes = run(BatchRunner(4).run(range(10), square))
    assert [o.index for o in outcomes] == list(range(10))
    assert [o.item for o in outcomes] == list(range(10))
    for o in outcomes:
        if o.item % 3 == 0:
            assert not o.ok
            assert isinstance(o.error, ValueError)
            assert str(o.error) == f"bad {o.item}"
            with pytest.raises(ValueError, match="bad"):
                o.unwrap()
        else:
            assert o.ok
            assert o.unwrap() == o.item * o.item


def test_sync_items_run_off_the_event_loop_thread_with_the_callers_context() -> None:
    request = contextvars.ContextVar("request", default="none")

    def where(n: int) -> tuple[int, str]:
        return threading.get_ident(), request.get()

    async def main() -> list[Outcome[int, tuple[int, str]]]:
        request.set("job-7")
        return await run_batch(range(20), where, concurrency=3)

    loop_thread = threading.get_ident()  # asyncio.run runs the loop on this thread
    outcomes = run(main())
    assert all(o.ok for o in outcomes)
    threads = {o.unwrap()[0] for o in outcomes}
    assert loop_thread not in threads
    assert len(threads) <= 3
    assert {o.unwrap()[1] for o in outcomes} == {"job-7"}


def test_a_sync_function_returning_a_coroutine_is_an_item_error() -> None:
    async def real(n: int) -> int:
        return n

    outcomes = run(BatchRunner(2).run([1, 2], lambda n: real(n)))
    assert all(isinstance(o.error, TypeError) for o in outcomes)


def test_async_callable_objects_and_async_iterables() -> None:
    class Double:
        async def __call__(self, n: int) -> int:
            await asyncio.sleep(0)
            return 2 * n

    async def numbers() -> AsyncIterator[int]:
        for n in range(7):
            await asyncio.sleep(0)
            yield n

    outcomes = run(BatchRunner(3).run(numbers(), Double()))
    assert values(outcomes) == [0, 2, 4, 6, 8, 10, 12]


def test_empty_input_and_bad_arguments() -> None:
    async def ident(n: int) -> int:
        return n

    assert run(BatchRunner(3).run([], ident)) == []
    with pytest.raises(ValueError, match="concurrency"):
        BatchRunner(0)
    with pytest.raises(ValueError, match="window"):
        BatchRunner(2, window=-1)
    with pytest.raises(ValueError, match="timeout"):
        BatchRunner(2).map([1], ident, timeout=0)


def test_on_done_sees_every_outcome_as_it_completes() -> None:
    seen: list[Outcome[int, int]] = []

    async def slow_first(n: int) -> int:
        for _ in range(5 - n):
            await asyncio.sleep(0)
        if n == 2:
            raise KeyError(n)
        return n

    outcomes = run(BatchRunner(5).run(range(5), slow_first, on_done=seen.append))
    assert sorted(seen, key=lambda o: o.index) == outcomes
    assert [o.index for o in seen] != [o.index for o in outcomes]  # completion order


def test_a_failing_on_done_stops_the_batch() -> None:
    def boom(outcome: Outcome[int, int]) -> None:
        raise RuntimeError("progress sink broke")

    async def ident(n: int) -> int:
        return n

    with pytest.raises(RuntimeError, match="sink broke"):
        run(BatchRunner(2).run(range(100), ident, on_done=boom))


def test_an_input_error_comes_after_the_items_read_before_it() -> None:
    def items() -> Iterator[int]:
        yield from range(5)
        raise OSError("disk gone")

    got: list[int] = []

    async def consume() -> None:
        async for outcome in BatchRunner(2).map(items(), lambda n: n + 1):
            got.append(outcome.unwrap())

    with pytest.raises(OSError, match="disk gone"):
        run(consume())
    assert got == [1, 2, 3, 4, 5]


# -- bounds ----------------------------------------------------------------------------


def test_ten_thousand_items_use_four_tasks_and_never_more_than_four_at_once() -> None:
    gauge = Gauge()
    created = 0

    async def work(n: int) -> int:
        with gauge.running():
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        return n

    async def main() -> list[Outcome[int, int]]:
        nonlocal created
        loop = asyncio.get_running_loop()

        def count(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
            nonlocal created
            created += 1
            return asyncio.Task(coro, loop=loop, **kwargs)

        loop.set_task_factory(count)
        try:
            return await BatchRunner(4).run(range(10_000), work)
        finally:
            loop.set_task_factory(None)

    outcomes = run(main())
    assert values(outcomes) == list(range(10_000))
    assert gauge.peak == 4
    assert created == 4


def test_thread_items_are_bounded_too() -> None:
    gauge = Gauge()

    def work(n: int) -> int:
        with gauge.running():
            return n

    outcomes = run(BatchRunner(3).run(range(2_000), work))
    assert values(outcomes) == list(range(2_000))
    assert 1 <= gauge.peak <= 3


def test_an_endless_input_is_read_lazily() -> None:
    pulled = 0

    def endless() -> Iterator[int]:
        nonlocal pulled
        for n in itertools.count():
            pulled += 1
            yield n

    async def ident(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def consume() -> tuple[int, int]:
        runner = BatchRunner(4, window=2)
        async with contextlib.aclosing(runner.map(endless(), ident)) as outcomes:
            async for outcome in outcomes:
                if outcome.index == 0:
                    at_first = pulled
                if outcome.index == 999:
                    break
        return at_first, pulled

    at_first, at_end = run(consume())
    # Never more than concurrency + window items taken and not yet handed out.
    assert at_first <= 1 + 4 + 2
    assert 1000 <= at_end <= 1000 + 4 + 2


def test_a_slow_consumer_holds_the_input_back() -> None:
    pulled = 0

    def items() -> Iterator[int]:
        nonlocal pulled
        for n in range(1000):
            pulled += 1
            yield n

    async def ident(n: int) -> int:
        return n

    async def consume() -> list[int]:
        seen = []
        async with contextlib.aclosing(BatchRunner(3).map(items(), ident)) as outcomes:
            async for outcome in outcomes:
                for _ in range(20):  # the workers get every chance to run ahead
                    await asyncio.sleep(0)
                seen.append(pulled - outcome.index)
        return seen

    ahead = run(consume())
    assert max(ahead) <= 1 + 3 + 3


def test_a_head_of_line_item_holds_the_window_not_the_workers() -> None:
    release = asyncio.Event()
    gauge = Gauge()

    async def work(n: int) -> int:
        with gauge.running():
            if n == 0:
                await release.wait()
        return n

    async def main() -> list[int]:
        runner = BatchRunner(2, window=5)
        task = asyncio.create_task(runner.run(range(50), work))
        for _ in range(100):
            await asyncio.sleep(0)
        started_while_blocked = gauge.started
        release.set()
        outcomes = await task
        assert values(outcomes) == list(range(50))
        return [started_while_blocked]

    # Item 0 and, in the other worker, items 1..6 (the window): then nothing more.
    assert run(main()) == [2 + 5]


# -- timeouts, fail fast, cancellation --------------------------------------------------


def test_a_slow_async_item_times_out_alone() -> None:
    async def work(n: int) -> int:
        if n == 2:
            await asyncio.Event().wait()  # never set
        return n

    outcomes = run(BatchRunner(3).run(range(6), work, timeout=0.05))
    assert [o.ok for o in outcomes] == [True, True, False, True, True, True]
    assert isinstance(outcomes[2].error, TimeoutError)


def test_a_timed_out_thread_item_is_reported_at_once_and_keeps_its_slot() -> None:
    release = threading.Event()
    gauge = Gauge()
    finished: list[int] = []

    def work(n: int) -> int:
        with gauge.running():
            if n == 0:
                release.wait(timeout=60)
            finished.append(n)
        return n

    async def main() -> None:
        outcomes = BatchRunner(1).map(range(3), work, timeout=0.05)
        async with contextlib.aclosing(outcomes):
            first = await anext(outcomes)
            assert isinstance(first.error, TimeoutError)
            # The thread still runs: with concurrency 1 no other item may start.
            for _ in range(20):
                await asyncio.sleep(0.01)
            assert gauge.started == 1
            assert finished == []
            release.set()
            rest = [o async for o in outcomes]
        assert values(rest) == [1, 2]
        assert finished == [0, 1, 2]

    run(main())


def test_a_thread_raising_timeout_error_itself_is_an_ordinary_error() -> None:
    def work(n: int) -> int:
        raise TimeoutError("upstream")

    outcomes = run(BatchRunner(1).run([1], work, timeout=30))
    assert str(outcomes[0].error) == "upstream"


def test_fail_fast_cancels_the_rest_and_raises_the_first_error() -> None:
    cancelled: list[int] = []
    gauge = Gauge()

    async def work(n: int) -> int:
        with gauge.running():
            if n == 3:
                for _ in range(5):
                    await asyncio.sleep(0)
                raise ValueError("item 3")
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(n)
                raise
        return n

    with pytest.raises(ValueError, match="item 3"):
        run(BatchRunner(4).run(range(100), work, fail_fast=True))
    assert sorted(cancelled) == [0, 1, 2]
    assert gauge.started == 4


def test_without_fail_fast_every_item_runs() -> None:
    async def work(n: int) -> int:
        if n % 2:
            raise ValueError(n)
        return n

    outcomes = run(BatchRunner(4).run(range(40), work))
    assert sum(o.ok for o in outcomes) == 20


def test_cancelling_the_caller_cancels_async_items_and_starts_no_more() -> None:
    cancelled: list[int] = []
    gauge = Gauge()
    all_started = asyncio.Event()

    async def work(n: int) -> int:
        with gauge.running():
            if gauge.started == 4:
                all_started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(n)
                raise
        return n

    async def main() -> None:
        task = asyncio.create_task(BatchRunner(4).run(range(1000), work))
        await all_started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(20):
            await asyncio.sleep(0)

    run(main())
    assert sorted(cancelled) == [0, 1, 2, 3]
    assert gauge.started == 4
    assert gauge.now == 0


def test_cancelling_the_caller_lets_running_threads_finish_and_starts_no_more() -> None:
    release = threading.Event()
    gauge = Gauge()
    finished: list[int] = []
    both_running = threading.Barrier(3)

    def work(n: int) -> int:
        with gauge.running():
            if n < 2:
                both_running.wait(timeout=60)
                release.wait(timeout=60)
            finished.append(n)
        return n

    async def main() -> None:
        task = asyncio.create_task(BatchRunner(2).run(range(100), work))
        await asyncio.to_thread(both_running.wait, 60)
        task.cancel()
        for _ in range(20):
            await asyncio.sleep(0.01)
        # Still waiting for the two threads: the cancellation does not abandon them.
        assert not task.done()
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert sorted(finished) == [0, 1]
    assert gauge.started == 2


def test_leaving_the_stream_early_stops_the_workers() -> None:
    cancelled: list[int] = []

    async def work(n: int) -> int:
        if n >= 3:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(n)
                raise
        return n

    async def main() -> list[int]:
        got = []
        async with contextlib.aclosing(BatchRunner(3).map(range(100), work)) as outcomes:
            async for outcome in outcomes:
                got.append(outcome.unwrap())
                if outcome.index == 2:
                    break
        return got

    assert run(main()) == [0, 1, 2]
    assert sorted(cancelled) == [3, 4, 5]


def test_breaking_out_without_closing_still_stops_the_workers() -> None:
    async def work(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def main() -> int:
        async for outcome in BatchRunner(3).map(range(1000), work):
            if outcome.index == 5:
                break
        # asyncio closes the dropped generator (its finaliser hook) on a task of its own.
        for _ in range(100):
            if len(asyncio.all_tasks()) == 1:
                break
            await asyncio.sleep(0)
        return len(asyncio.all_tasks())

    assert run(main()) == 1


def test_an_items_own_cancelled_error_is_its_failure() -> None:
    async def work(n: int) -> int:
        if n == 1:
            never: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            never.cancel()
            return await never
        return n

    outcomes = run(BatchRunner(2).run(range(3), work))
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, asyncio.CancelledError)


def test_a_shared_executor_is_used_and_left_open() -> None:
    with ThreadPoolExecutor(2, thread_name_prefix="shared") as pool:

        def name(n: int) -> str:
            return threading.current_thread().name

        outcomes = run(BatchRunner(2, executor=pool).run(range(10), name))
        assert all(o.unwrap().startswith("shared") for o in outcomes)
        assert pool.submit(lambda: 1).result() == 1


# -- against a sequential reference -----------------------------------------------------

plans = st.lists(st.tuples(st.integers(0, 8), st.booleans()), max_size=40)


def _reference(plan: list[tuple[int, bool]]) -> list[Any]:
    return [repr(ValueError(i)) if fail else i * 10 for i, (_, fail) in enumerate(plan)]


@settings(max_examples=60, deadline=None)
@given(plan=plans, concurrency=st.integers(1, 6), window=st.integers(0, 4))
def test_async_outcomes_equal_a_sequential_run(
    plan: list[tuple[int, bool]], concurrency: int, window: int
) -> None:
    async def work(i: int) -> int:
        steps, fail = plan[i]
        for _ in range(steps):
            await asyncio.sleep(0)
        if fail:
            raise ValueError(i)
        return i * 10

    outcomes = run(BatchRunner(concurrency, window=window).run(range(len(plan)), work))
    assert [o.index for o in outcomes] == list(range(len(plan)))
    assert values(outcomes) == _reference(plan)


@settings(max_examples=25, deadline=None)
@given(plan=plans, concurrency=st.integers(1, 4))
def test_thread_outcomes_equal_a_sequential_run(
    plan: list[tuple[int, bool]], concurrency: int
) -> None:
    def work(i: int) -> int:
        steps, fail = plan[i]
        threading.Event().wait(steps / 10_000)
        if fail:
            raise ValueError(i)
        return i * 10

    outcomes = run(BatchRunner(concurrency).run(range(len(plan)), work))
    assert values(outcomes) == _reference(plan)


def test_the_stream_is_typed_by_the_function() -> None:
    async def name(n: int) -> str:
        return str(n)

    async def main() -> list[str]:
        fn: Callable[[int], Awaitable[str]] = name
        return [o.unwrap() async for o in BatchRunner(2).map([1, 2], fn)]

    assert run(main()) == ["1", "2"]
