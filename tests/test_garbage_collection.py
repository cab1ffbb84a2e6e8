"""A server's long-lived objects are kept out of the garbage collector's full passes: each one
walked them all, about 80 ms in the middle of some request."""

import gc

from handover_kit.cli import frozen_after


def test_what_a_server_made_while_starting_is_frozen_out_of_full_collections() -> None:
    gc.unfreeze()  # what another test froze
    made = frozen_after(lambda: [{"route": n} for n in range(1000)])()
    frozen = gc.get_freeze_count()
    gc.collect()  # a full pass: what is frozen stays frozen
    assert gc.get_freeze_count() == frozen
    assert frozen > len(made)
    gc.unfreeze()
