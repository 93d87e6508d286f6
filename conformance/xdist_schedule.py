"""pytest-xdist scheduling for tests ordered longest first (``harness.schedule``).

xdist's default ``load`` scheduling starts each worker on a consecutive
chunk of the collection, which puts the first few tests, the longest ones
once they are ordered, on the same worker. This scheduler deals the first
tests round robin instead, two per worker, and then refills each worker
from the front of the queue as xdist does: each worker starts on one of
the longest tests, and the short ones fill the end of the run. Only the
``load`` mode is replaced; ``--dist loadgroup`` and the others are xdist's,
and a run with real kernel tests keeps xdist's chunks (the workers then do
not reorder either: a mode's build and boot stay neighbours).
"""

from __future__ import annotations

from itertools import cycle

from xdist.scheduler import LoadScheduling

# The real kernel tests (test_kernel.py): kernel-build and kernel-boot.
KERNEL_TESTS = "/test_kernel.py::"


class LongestFirstScheduling(LoadScheduling):
    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        collection = next(iter(self.node2collection.values()))
        if any(KERNEL_TESTS in nodeid for nodeid in collection):
            super().schedule()
            return
        self.collection = collection
        self.pending[:] = range(len(self.collection))
        if not self.collection:
            return
        if self.maxschedchunk is None:
            self.maxschedchunk = len(self.collection)
        nodes = cycle(self.nodes)
        for _ in range(min(len(self.pending), 2 * len(self.nodes))):
            self._send_tests(next(nodes), 1)
        if not self.pending:
            for node in self.nodes:
                node.shutdown()
