"""xdist workers: toolchains travel to local workers, a worker on another host resolves its own."""

from __future__ import annotations

import pickle
import shutil

import pytest

from conformance import plugin


class WorkerConfig:
    """What plugin.toolchains_here reads of a worker's config: options, workerinput, the stash."""

    def __init__(self, workerinput: dict, toolchain: str = "gcc") -> None:
        self.workerinput = workerinput
        self.stash = pytest.Stash()
        self.options = {"toolchain": [toolchain], "cflags": "", "ldflags": ""}

    def getoption(self, name: str):
        return self.options.get(name)


def test_a_local_worker_takes_the_controllers_toolchains():
    shipped = pickle.dumps(["as validated by the controller"])
    config = WorkerConfig({plugin.WORKER_TOOLCHAINS: shipped, plugin.WORKER_HOST: plugin.host_identity()})
    assert plugin.toolchains_here(config) == ["as validated by the controller"]


@pytest.mark.skipif(not shutil.which("gcc"), reason="needs gcc")
def test_a_worker_on_another_host_resolves_on_its_own():
    shipped = pickle.dumps(["paths of the controller's host"])
    elsewhere = {plugin.WORKER_TOOLCHAINS: shipped, plugin.WORKER_HOST: "build1:0123", plugin.WORKER_LABELS: ["gcc"]}
    resolved = plugin.toolchains_here(WorkerConfig(elsewhere))
    assert [t.label for t in resolved] == ["gcc"] and resolved[0].cc.path.is_file()
    differs = {**elsewhere, plugin.WORKER_LABELS: ["gcc-14"]}
    with pytest.raises(plugin.UsageError, match="resolve to gcc here but to gcc-14 on the controller"):
        plugin.toolchains_here(WorkerConfig(differs))
