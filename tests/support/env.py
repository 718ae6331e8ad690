"""Tests wait by retrying, never by sleeping."""

import asyncio


async def eventually(check, timeout: float = 30.0, interval: float = 0.1):
    """Retry an async `check` until it returns a truthy value; re-raise its last AssertionError on timeout."""
    deadline = asyncio.get_running_loop().time() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as err:
            last_error = err
        if asyncio.get_running_loop().time() > deadline:
            if last_error:
                raise last_error
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
