"""freeze_heap (shared/adapters/lifecycle.py): what a service has loaded leaves the collector's generations, and the
young generations are collected less often."""

import gc

from shared.adapters.lifecycle import freeze_heap


def test_freeze_heap_freezes_what_is_alive_and_raises_the_thresholds() -> None:
    thresholds = gc.get_threshold()
    loaded = [{"unit": str(i)} for i in range(1000)]  # reference data, as a service loads it
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= len(loaded)
        assert gc.get_threshold() == (10_000, 10, 10)
        assert loaded[999]["unit"] == "999"
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
