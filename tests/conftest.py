from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from eda_lib import reproducible
from eda_lib.kafka_local import (
    KafkaSetupError,
    LocalCluster,
    LocalKafka,
    bootstrap_from_env,
    running_broker,
)

# The broker contract lives outside a test_ module (and is imported after this file): have pytest
# explain its failed assertions too.
pytest.register_assert_rewrite("tests.contract.broker")


@pytest.fixture
def repeatable() -> Iterator[reproducible]:
    """Seeded ids and a virtual clock for one test; the real ones come back afterwards."""
    with reproducible(seed=42) as state:
        yield state


def go_tool(name: str, purpose: str) -> str:
    """The path of Go's `name` (go, gofmt): the test skips saying `purpose` when Go is missing,
    or fails under EDA_REQUIRE_GO=1."""
    found = shutil.which(name)
    if found is None:
        reason = f"{purpose} needs Go's {name}"
        if os.environ.get("EDA_REQUIRE_GO") == "1":
            pytest.fail(f"EDA_REQUIRE_GO=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lesson 16 starts a Kafka cluster in its first cell: without Java and Maven it can only say
    why, so the notebook is skipped with that reason (failed instead with EDA_REQUIRE_KAFKA=1)."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if not missing or os.environ.get("EDA_REQUIRE_KAFKA") == "1":
        return
    reason = f"lesson 16 runs on a local Kafka cluster, which needs {' and '.join(missing)}"
    for item in items:
        if item.path.name.startswith("16_") and item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.skip(reason=reason))


def _cannot_run_kafka(reason: str) -> None:
    if os.environ.get("EDA_REQUIRE_KAFKA") == "1":
        pytest.fail(f"EDA_REQUIRE_KAFKA=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A Kafka cluster for the `kafka` tests: KAFKA_BOOTSTRAP if set, else a broker that
    `make kafka` left running, else a fresh local one for this session (stopped afterwards)."""
    existing = bootstrap_from_env()
    if existing:
        yield existing
        return
    running = running_broker()
    if running is not None:
        yield str(running["bootstrap"])
        return
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        _cannot_run_kafka(
            f"the Kafka tests need {' and '.join(missing)} to start a local broker "
            "(or KAFKA_BOOTSTRAP pointing at a cluster)"
        )
    broker = LocalKafka()
    try:
        broker.start()
    except KafkaSetupError as error:
        _cannot_run_kafka(f"the local Kafka broker did not start: {error}")
    yield broker.bootstrap
    broker.stop()


@pytest.fixture
def local_kafka() -> Iterator[LocalKafka]:
    """A broker of the test's own, for tests that kill and restart it."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        _cannot_run_kafka(f"this test needs {' and '.join(missing)} to start its own broker")
    broker = LocalKafka()
    try:
        broker.start()
    except KafkaSetupError as error:
        _cannot_run_kafka(f"the local Kafka broker did not start: {error}")
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def kafka_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local cluster of three Kafka nodes for the `cluster` tests, which kill and restart its
    nodes (each test leaves all three up); stopped after the module, so that its JVMs do not
    share the two cores with the lessons that run later. Its data directory survives a stop, so
    a test can stop the whole cluster and start it again."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        _cannot_run_kafka(f"the cluster tests need {' and '.join(missing)} to start three nodes")
    cluster = LocalCluster(nodes=3, data_dir=tmp_path_factory.mktemp("cluster"))
    try:
        cluster.start()
    except KafkaSetupError as error:
        _cannot_run_kafka(f"the local Kafka cluster did not start: {error}")
    yield cluster
    cluster.stop()
