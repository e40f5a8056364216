"""Bounded-concurrency batches: background work (ingest, enrichment) over many items.

A :class:`BatchRunner` applies one function to every item of a sync or async
iterable with at most ``concurrency`` items running at a time, and reports an
:class:`Outcome` per item (its value or its exception) in input order. The input
is read lazily and only ``concurrency + window`` items are ever taken and not yet
handed out, so an endless generator runs in bounded memory. Exactly
``concurrency`` worker tasks serve a batch, however long it is (issue 4: no
unbounded task creation).

Async functions are awaited in the workers; anything else runs in a thread pool.
Cancelling the task that awaits a batch cancels the async items in flight, starts
no new item, and waits for the thread items already running: a thread cannot be
interrupted, and work that outlived its batch would still be writing when the
caller believes it has stopped.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Iterator,
)
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast, overload

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["BatchRunner", "Outcome", "run_batch"]


@dataclass(frozen=True, slots=True)
class Outcome(Generic[T, R]):
    """What became of one item: ``value`` if it succeeded, else ``error``.

    ``index`` is the item's position in the input (0-based).
    """

    index: int
    item: T
    value: R | None = None
    error: BaseException | None = None

    @property
    def ok(self) -> bool:
        """True when the item's function returned instead of raising."""
        return self.error is None

    def unwrap(self) -> R:
        """The value, or the item's exception raised again."""
        if self.error is not None:
            raise self.error
        return cast(R, self.value)


class BatchRunner:
    """Runs a function over many items, ``concurrency`` at a time.

    Parameters
    ----------
    concurrency
        How many items run at once (and how many worker tasks a batch has).
    executor
        Where sync functions run. By default each batch gets a private thread
        pool of ``concurrency`` threads, shut down when the batch ends. A shared
        executor may queue items behind other work; their timeout counts from
        submission.
    window
        How many finished outcomes may wait for an earlier, slower item before
        the input is read further (default: ``concurrency``). At most
        ``concurrency + window`` items are taken from the input and not yet
        handed out.
    """

    def __init__(
        self,
        concurrency: int,
        *,
        executor: Executor | None = None,
        window: int | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        if window is not None and window < 0:
            raise ValueError(f"window must not be negative, not {window}")
        self.concurrency = concurrency
        self.executor = executor
        self.window = concurrency if window is None else window

    @overload
    async def run(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Awaitable[R]],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, R]], object] | None = None,
    ) -> list[Outcome[T, R]]: ...

    @overload
    async def run(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], R],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, R]], object] | None = None,
    ) -> list[Outcome[T, R]]: ...

    async def run(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Any],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, Any]], object] | None = None,
    ) -> list[Outcome[T, Any]]:
        """Every item's outcome, in input order.

        A failing item never stops the others, unless ``fail_fast``: then the
        first error (in time) cancels the rest and is raised. ``timeout`` bounds
        each item (its outcome's error is then a :class:`TimeoutError`);
        ``on_done`` is called with each outcome as it completes (completion
        order), for progress reports; if it raises, the batch stops with that
        error.
        """
        outcomes: list[Outcome[T, Any]] = []
        stream = self.map(items, fn, timeout=timeout, fail_fast=fail_fast, on_done=on_done)
        try:
            async for outcome in stream:
                outcomes.append(outcome)
        finally:
            await stream.aclose()
        return outcomes

    @overload
    def map(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Awaitable[R]],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, R]], object] | None = None,
    ) -> AsyncGenerator[Outcome[T, R], None]: ...

    @overload
    def map(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], R],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, R]], object] | None = None,
    ) -> AsyncGenerator[Outcome[T, R], None]: ...

    def map(
        self,
        items: Iterable[T] | AsyncIterable[T],
        fn: Callable[[T], Any],
        *,
        timeout: float | None = None,
        fail_fast: bool = False,
        on_done: Callable[[Outcome[T, Any]], object] | None = None,
    ) -> AsyncGenerator[Outcome[T, Any], None]:
        """Outcomes in input order, each as soon as it and all before it are done.

        Nothing starts before the first outcome is asked for. Leaving the loop
        early leaves workers running until the generator is closed: wrap it in
        :func:`contextlib.aclosing` to stop them at once. If reading the input
        raises, the outcomes of the items read before are yielded, then that
        error is raised. Other arguments as in :meth:`run`.
        """
        if timeout is not None and timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        batch = _Batch(self, fn, timeout, fail_fast, on_done)
        return batch.outcomes(_source(items))


async def run_batch(
    items: Iterable[T] | AsyncIterable[T],
    fn: Callable[[T], Awaitable[R]] | Callable[[T], R],
    *,
    concurrency: int,
    executor: Executor | None = None,
    timeout: float | None = None,
    fail_fast: bool = False,
    on_done: Callable[[Outcome[T, R]], object] | None = None,
) -> list[Outcome[T, R]]:
    """``BatchRunner(concurrency, executor=executor).run(items, fn, ...)``."""
    runner = BatchRunner(concurrency, executor=executor)
    return await runner.run(
        items, cast(Callable[[T], R], fn), timeout=timeout, fail_fast=fail_fast, on_done=on_done
    )


class _Batch(Generic[T]):
    """The state one ``map`` call shares between its workers and its consumer."""

    def __init__(
        self,
        runner: BatchRunner,
        fn: Callable[[T], Any],
        timeout: float | None,
        fail_fast: bool,
        on_done: Callable[[Outcome[T, Any]], object] | None,
    ) -> None:
        self.fn = fn
        self.is_async = _is_async(fn)
        self.timeout = timeout
        self.fail_fast = fail_fast
        self.on_done = on_done
        self.concurrency = runner.concurrency
        self.limit = runner.concurrency + runner.window
        self.executor = runner.executor
        self.changed = asyncio.Condition()
        self.pulling = asyncio.Lock()  # an async iterator must not be advanced twice at once
        self.taken = 0  # items read from the input
        self.handed = 0  # outcomes yielded to the consumer
        self.finished: dict[int, Outcome[T, Any]] = {}
        self.exhausted = False
        self.input_error: BaseException | None = None
        self.fatal: BaseException | None = None
        self.workers: list[asyncio.Task[None]] = []

    async def outcomes(self, source: AsyncIterator[T]) -> AsyncGenerator[Outcome[T, Any], None]:
        own_pool = None
        if not self.is_async and self.executor is None:
            own_pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="batch")
            self.executor = own_pool
        try:
            self.workers = [
                asyncio.create_task(self._worker(source)) for _ in range(self.concurrency)
            ]
            while (outcome := await self._next()) is not None:
                yield outcome
        finally:
            for task in self.workers:
                task.cancel()
            await _settle(*self.workers)
            if own_pool is not None:
                own_pool.shutdown(wait=False)  # every thread item has ended: nothing to wait for
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()

    async def _next(self) -> Outcome[T, Any] | None:
        def ready() -> bool:
            return (
                self.fatal is not None
                or self.handed in self.finished
                or (self.exhausted and self.handed >= self.taken)
            )

        async with self.changed:
            await self.changed.wait_for(ready)
            if self.fatal is not None:
                raise self.fatal
            outcome = self.finished.pop(self.handed, None)
            if outcome is None:
                if self.input_error is not None:
                    raise self.input_error
                return None
            self.handed += 1
            self.changed.notify_all()
            return outcome

    async def _worker(self, source: AsyncIterator[T]) -> None:
        try:
            while (taken := await self._take(source)) is not None:
                await self._call(*taken)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # on_done failed, or KeyboardInterrupt and its kind
            await self._stop(exc)

    async def _take(self, source: AsyncIterator[T]) -> tuple[int, T] | None:
        async with self.pulling:
            async with self.changed:
                await self.changed.wait_for(
                    lambda: self.exhausted or self.taken - self.handed < self.limit
                )
            if self.exhausted:
                return None
            try:
                item = await anext(source)
            except StopAsyncIteration:
                failure = None
            except Exception as exc:
                failure = exc
            else:
                self.taken += 1
                return self.taken - 1, item
            async with self.changed:
                self.exhausted = True
                self.input_error = failure
                self.changed.notify_all()
            return None

    async def _call(self, index: int, item: T) -> None:
        if not self.is_async:
            await self._call_in_thread(index, item)
            return
        try:
            async with asyncio.timeout(self.timeout):
                value = await self.fn(item)
        except asyncio.CancelledError as exc:
            if _being_cancelled():
                raise
            # The item's own CancelledError (say, a future it awaited was cancelled)
            # is its failure, not a request to stop the batch.
            await self._finish(Outcome(index, item, error=exc))
        except Exception as exc:
            await self._finish(Outcome(index, item, error=exc))
        else:
            await self._finish(Outcome(index, item, value=value))

    async def _call_in_thread(self, index: int, item: T) -> None:
        assert self.executor is not None
        job = self.executor.submit(contextvars.copy_context().run, self.fn, item)
        done = asyncio.wrap_future(job)
        deadline = asyncio.timeout(self.timeout)
        try:
            async with deadline:
                # Shielded: a cancellation must not mark `done` cancelled while
                # the thread still runs, or there would be nothing left to wait on.
                value = await asyncio.shield(done)
        except asyncio.CancelledError:
            if not job.cancel():
                await _settle(done)
            raise
        except Exception as exc:
            await self._finish(Outcome(index, item, error=exc))
            if deadline.expired() and not job.cancel():
                # Reported on time, but the slot stays taken until the thread ends,
                # so no more than `concurrency` threads ever run.
                await _settle(done)
            return
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            error = TypeError(f"{self.fn!r} returned an awaitable: pass an async def function")
            await self._finish(Outcome(index, item, error=error))
            return
        await self._finish(Outcome(index, item, value=value))

    async def _finish(self, outcome: Outcome[T, Any]) -> None:
        async with self.changed:
            self.finished[outcome.index] = outcome
            self.changed.notify_all()
        if self.on_done is not None:
            self.on_done(outcome)
        if self.fail_fast and outcome.error is not None:
            await self._stop(outcome.error)

    async def _stop(self, error: BaseException) -> None:
        """End the batch with ``error``: the consumer raises it, the workers stop."""
        async with self.changed:
            if self.fatal is None:
                self.fatal = error
            self.exhausted = True
            self.changed.notify_all()
        me = asyncio.current_task()
        for task in self.workers:
            if task is not me:
                task.cancel()


async def _settle(*futures: asyncio.Future[Any]) -> None:
    """Wait until every future is done, even through cancellation (re-raised after)."""
    cancelled = False
    pending = {f for f in futures if not f.done()}
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            cancelled = True
    for future in futures:
        if not future.cancelled():
            future.exception()  # retrieved: asyncio would log it as never retrieved
    if cancelled:
        raise asyncio.CancelledError


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _is_async(fn: Callable[..., Any]) -> bool:
    # An object whose class defines `async def __call__` is async too.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _source(items: Iterable[T] | AsyncIterable[T]) -> AsyncIterator[T]:
    if isinstance(items, AsyncIterable):
        return aiter(items)
    return _from_sync(iter(items))


async def _from_sync(it: Iterator[T]) -> AsyncGenerator[T, None]:
    # Read on the event loop's thread: a sync input is expected to be cheap to
    # advance (a list, a generator over rows already fetched).
    for item in it:
        yield item
